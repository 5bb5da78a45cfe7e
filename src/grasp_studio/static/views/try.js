// The try view: pick a few records of the task's source (or a count, for a data-less task),
// run the graph on them (`grasp_core.preview`: nothing is written where the run writes) and
// see per node the prompt as sent, the raw reply, the state change, tokens, latency and cost,
// with the estimate of the whole run.

import { getJSON, postJSON, withQuery } from "../api.js";
import { el, showError } from "../dom.js";

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

function money(value) {
  if (value === null || value === undefined) return "unpriced";
  return `$${value < 0.01 ? value.toPrecision(2) : value.toFixed(2)}`;
}

function range(r, format = (v) => number.format(v)) {
  if (!r) return "–";
  return r.low === r.high ? format(r.value) : `${format(r.value)} (${format(r.low)}–${format(r.high)})`;
}

function preview(data, limit = 120) {
  const text = JSON.stringify(data);
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

function estimateTable(estimate) {
  const total = estimate.total || {};
  const per = estimate.per_record || {};
  const rows = [
    ["Model calls", per.calls, total.calls],
    ["Prompt tokens", per.prompt_tokens, total.prompt_tokens],
    ["Completion tokens", per.completion_tokens, total.completion_tokens],
    ["Cost", per.cost_usd, total.cost_usd, money],
  ];
  const table = el(
    "table",
    { id: "estimate", "aria-label": "Estimate of the whole run" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Figure"), el("th", { scope: "col", class: "num" }, "Per record"), el("th", { scope: "col", class: "num" }, `Whole run (${estimate.records ?? "?"} records)`))),
    el(
      "tbody",
      {},
      ...rows.map(([name, one, all, format]) =>
        el("tr", { "data-figure": name }, el("th", { scope: "row" }, name), el("td", { class: "num" }, range(one, format)), el("td", { class: "num" }, range(all, format))),
      ),
      el("tr", { "data-figure": "Time" }, el("th", { scope: "row" }, "Time"), el("td", { class: "num" }, range(per.seconds, (v) => `${number.format(v)} s`)), el("td", { class: "num" }, estimate.wall_seconds ? `${range(estimate.wall_seconds, (v) => `${number.format(v)} s`)}${estimate.bound_by ? `, bound by ${estimate.bound_by}` : ""}` : "–")),
    ),
  );
  const notes = [];
  if (estimate.mock) notes.push("The calls went to the mock server: costs are at the named models' prices, nothing was billed.");
  if (estimate.unpriced_models?.length) notes.push(`Unpriced: ${estimate.unpriced_models.join(", ")}.`);
  return [table, ...notes.map((n) => el("p", { class: "hint" }, n))];
}

function callView(call, index) {
  const messages = call.messages.map((m) =>
    el("div", {}, el("strong", {}, `${m.role}: `), typeof m.content === "string" ? m.content : JSON.stringify(m.content)),
  );
  return el(
    "div",
    { class: "panel call" },
    el(
      "p",
      {},
      el("strong", {}, `Call ${index + 1}: ${call.model}`),
      ` · ${call.prompt_tokens} + ${call.completion_tokens} tokens · ${number.format(call.seconds)} s · ${money(call.cost_usd)}`,
      call.cached ? " · from the cache" : "",
      call.finish_reason ? ` · finish: ${call.finish_reason}` : "",
    ),
    el("p", { class: "hint" }, "Prompt as sent"),
    el("pre", { class: "prompt" }, ...messages),
    el("p", { class: "hint" }, "Raw response"),
    el("pre", { class: "response" }, call.response || (call.tool_calls.length ? JSON.stringify(call.tool_calls) : "(empty)")),
  );
}

function recordView(record) {
  const section = el("section", { class: "record", "data-record": record.record_id, "aria-label": `Record ${record.record_id}` });
  section.append(el("h2", {}, `Record ${record.record_id}`));
  if (record.failure) section.append(el("p", { class: "error" }, `Failed at ${record.failure.node}: ${record.failure.reason || record.failure.error}`));
  for (const run of record.nodes) {
    const cost = run.calls.length ? ` · ${run.prompt_tokens} + ${run.completion_tokens} tokens · ${number.format(run.seconds)} s · ${money(run.cost_usd)}` : "";
    section.append(
      el(
        "details",
        { class: "node-run", "data-node": run.node, open: true },
        el("summary", {}, el("strong", {}, run.node), run.iteration ? ` (pass ${run.iteration + 1})` : "", cost),
        el("p", { class: "hint" }, "State change"),
        el("pre", { class: "update" }, JSON.stringify(run.update, null, 2)),
        ...run.calls.map(callView),
      ),
    );
  }
  if (record.output) section.append(el("p", { class: "hint" }, "Output record"), el("pre", { class: "output" }, JSON.stringify(record.output, null, 2)));
  return section;
}

export async function render(root, params) {
  const path = params.task;
  root.append(el("h1", {}, "Try"));
  if (!path) {
    root.append(el("p", {}, "Pick a task on the ", el("a", { href: "#/home" }, "workspace"), " page."));
    return;
  }
  root.append(el("p", { class: "hint" }, `${path}: run the graph on a few records; nothing is written where the run writes.`));
  const results = el("div", { id: "try-results", "aria-live": "polite" });
  const status = el("p", { role: "status" });
  let listed;
  try {
    listed = await getJSON(withQuery("/api/try/records", { path, limit: 20 }));
  } catch (error) {
    listed = null;
    root.append(el("p", { class: "hint" }, `No records to pick from: ${error.message}`));
  }
  const checks = [];
  const count = el("input", { id: "sample", name: "sample", type: "number", min: 1, max: 20, value: 2 });
  const picker = el("fieldset", {}, el("legend", {}, listed && !listed.data_less ? "Records to try" : "How many records"));
  if (listed && !listed.data_less) {
    for (const record of listed.records) {
      const id = `pick-${record.id}`;
      const box = el("input", { type: "checkbox", id, value: record.id, name: "records" });
      checks.push(box);
      picker.append(el("div", { class: "row" }, box, el("label", { for: id }, record.id), el("code", { class: "hint" }, preview(record.data))));
    }
  } else {
    picker.append(el("label", { for: "sample" }, "Records"), count);
  }
  const button = el("button", { type: "submit", id: "try-button" }, "Try");
  const form = el(
    "form",
    {
      "aria-label": "Try records",
      onsubmit: async (event) => {
        event.preventDefault();
        const picked = checks.filter((c) => c.checked).map((c) => c.value);
        const body = picked.length ? { path, records: picked } : { path, sample: Number(count.value) || 2 };
        button.disabled = true;
        status.textContent = "Running…";
        results.replaceChildren();
        try {
          const shown = await postJSON("/api/try", body);
          status.textContent = `Tried ${shown.records.length} record(s).`;
          results.append(el("h2", {}, "Estimate of the whole run"), ...estimateTable(shown.estimate), ...shown.records.map(recordView));
        } catch (error) {
          status.textContent = "";
          showError(results, error);
        } finally {
          button.disabled = false;
        }
      },
    },
    picker,
    button,
  );
  root.append(form, status, results);
}
