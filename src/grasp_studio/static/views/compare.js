// Two runs of a task on the same inputs: their metrics side by side, then a per-record diff
// of their outputs (matched by record id), changed words marked.

import { getJSON, withQuery } from "../api.js";
import { el, href } from "../dom.js";
import { pickRun, runSelect, short, useStyle } from "./run_picker.js";

const PAGE = 25;
const STATUSES = [
  ["", "All differences"],
  ["changed", "Changed"],
  ["only_left", "Only in the left run"],
  ["only_right", "Only in the right run"],
  ["same", "Identical"],
];

export async function render(root, params) {
  useStyle("output");
  useStyle("compare");
  root.append(el("h1", {}, "Compare runs"));
  const { runs, output } = await pickRun(params);
  if (runs.length < 2 && !(params.left && params.right)) {
    root.append(el("p", {}, "Comparing needs two runs of the task: run it again (for example with another model or prompt) into another output folder."));
    return;
  }
  const left = params.left || output;
  const right = params.right || (runs.find((run) => run.output !== left) || {}).output;
  const go = (changes) => {
    location.hash = href("compare", { task: params.task || "", left, right, status: params.status || "", ...changes });
  };
  const status = el(
    "select",
    { id: "status", onchange: (event) => go({ status: event.target.value }) },
    ...STATUSES.map(([value, label]) => el("option", { value, selected: (params.status || "") === value }, label)),
  );
  root.append(
    el(
      "div",
      { class: "row controls" },
      runSelect(runs, left, (value) => go({ left: value }), { id: "left", label: "Left run" }),
      runSelect(runs, right, (value) => go({ right: value }), { id: "right", label: "Right run" }),
      el("span", { class: "field" }, el("label", { for: "status" }, "Show"), status),
    ),
  );
  const query = (offset) => withQuery("/api/compare", { left, right, status: params.status, offset, limit: PAGE });
  const first = await getJSON(query(0));
  root.append(metricsTable(first.metrics), countsLine(first.counts));
  const list = el("div", { class: "diffs", id: "diffs" });
  root.append(el("h2", { id: "diffs-h" }, `Records (${first.total})`), list);
  let shown = 0;
  const more = el("button", { type: "button", class: "secondary" }, "Show more records");
  const add = (page) => {
    for (const diff of page.diffs) list.append(diffCard(diff, left, right, params.task));
    shown += page.diffs.length;
    more.hidden = shown >= page.total;
  };
  more.addEventListener("click", async () => add(await getJSON(query(shown))));
  add(first);
  if (!first.total) list.append(el("p", {}, "No record to show: the two outputs agree."));
  root.append(more);
}

function metricsTable(metrics) {
  const names = Object.keys(metrics.left);
  const cell = (value) => el("td", { class: "num" }, value === null || value === undefined ? "–" : typeof value === "number" ? formatNumber(value) : String(value));
  const delta = (a, b) => (typeof a === "number" && typeof b === "number" ? formatNumber(b - a, true) : "–");
  return el(
    "table",
    { class: "metrics", "aria-label": "Metrics of the two runs" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Metric"), el("th", { scope: "col", class: "num" }, "Left"), el("th", { scope: "col", class: "num" }, "Right"), el("th", { scope: "col", class: "num" }, "Right − left"))),
    el(
      "tbody",
      {},
      ...names.map((name) =>
        el("tr", {}, el("th", { scope: "row" }, name), cell(metrics.left[name]), cell(metrics.right[name]), el("td", { class: "num" }, delta(metrics.left[name], metrics.right[name]))),
      ),
    ),
  );
}

function formatNumber(value, signed = false) {
  const text = Number.isInteger(value) ? value.toLocaleString("en") : value.toFixed(4);
  return signed && value > 0 ? `+${text}` : text;
}

function countsLine(counts) {
  return el("p", { id: "compare-counts" }, `${counts.changed} changed, ${counts.same} identical, ${counts.only_left} only in the left run, ${counts.only_right} only in the right run.`);
}

function diffCard(diff, left, right, task) {
  const open = (output) => href("record", { task: task || "", output, id: diff.id });
  const label = { changed: "changed", same: "identical", only_left: "only left", only_right: "only right" }[diff.status];
  const rows = Object.entries(diff.fields).map(([field, pair]) => {
    const [a, b] = wordDiff(pair.left, pair.right);
    return el("tr", {}, el("th", { scope: "row" }, field), el("td", {}, a), el("td", {}, b));
  });
  return el(
    "article",
    { class: "diff", "aria-label": `Record ${diff.id}` },
    el(
      "h3",
      {},
      `${diff.id} `,
      el("span", { class: `badge ${diff.status === "changed" ? "" : "bad"}` }, label),
      " ",
      diff.status !== "only_right" ? el("a", { href: open(left), "aria-label": `Open ${diff.id} in the left run` }, "left") : "",
      " ",
      diff.status !== "only_left" ? el("a", { href: open(right), "aria-label": `Open ${diff.id} in the right run` }, "right") : "",
    ),
    rows.length
      ? el("table", { class: "fields" }, el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Field"), el("th", { scope: "col" }, "Left"), el("th", { scope: "col" }, "Right"))), el("tbody", {}, ...rows))
      : "",
  );
}

/** Both values with the words the other lacks marked (<del> on the left, <ins> on the right);
 * long texts are compared whole. */
function wordDiff(left, right) {
  const a = text(left);
  const b = text(right);
  const wa = a.split(/(\s+)/);
  const wb = b.split(/(\s+)/);
  if (left === null || right === null || wa.length * wb.length > 250000) {
    return [el("div", { class: "value" }, left === null ? el("em", {}, "absent") : short(a, 2000)), el("div", { class: "value" }, right === null ? el("em", {}, "absent") : short(b, 2000))];
  }
  const table = Array.from({ length: wa.length + 1 }, () => new Uint32Array(wb.length + 1));
  for (let i = wa.length - 1; i >= 0; i -= 1) {
    for (let j = wb.length - 1; j >= 0; j -= 1) {
      table[i][j] = wa[i] === wb[j] ? table[i + 1][j + 1] + 1 : Math.max(table[i + 1][j], table[i][j + 1]);
    }
  }
  const outA = el("div", { class: "value" });
  const outB = el("div", { class: "value" });
  let i = 0;
  let j = 0;
  while (i < wa.length || j < wb.length) {
    if (i < wa.length && j < wb.length && wa[i] === wb[j]) {
      outA.append(wa[i]);
      outB.append(wb[j]);
      i += 1;
      j += 1;
    } else if (j < wb.length && (i >= wa.length || table[i][j + 1] >= table[i + 1][j])) {
      outB.append(el("ins", {}, wb[j]));
      j += 1;
    } else {
      outA.append(el("del", {}, wa[i]));
      i += 1;
    }
  }
  return [outA, outB];
}

function text(value) {
  if (value === null || value === undefined) return "";
  return typeof value === "string" ? value : JSON.stringify(value, null, 1);
}
