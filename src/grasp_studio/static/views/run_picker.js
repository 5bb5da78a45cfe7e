// What the reading views (output, record, failures, compare) share: choosing a run of the
// task, their style sheets, and showing values compactly. Not a view itself.

import { getJSON, withQuery } from "../api.js";
import { el } from "../dom.js";

/** Load `views/<name>.css` once. */
export function useStyle(name) {
  const href = new URL(`${name}.css`, import.meta.url).pathname;
  if (!document.querySelector(`link[href="${href}"]`)) {
    document.head.append(el("link", { rel: "stylesheet", href }));
  }
}

/** The runs of `params.task` (or of the whole workspace) and the one to show: `params.output`,
 * else the task's own output, else the first. */
export async function pickRun(params) {
  const { runs } = await getJSON(withQuery("/api/outputs", { task: params.task }));
  const chosen = params.output || (runs.find((run) => run.main) || runs[0] || {}).output || "";
  return { runs, output: chosen };
}

/** A labelled select of `runs`; `onChange(output)` when another is picked. */
export function runSelect(runs, current, onChange, { id = "run", label = "Run" } = {}) {
  const select = el(
    "select",
    { id, onchange: (event) => onChange(event.target.value) },
    ...runs.map((run) =>
      el("option", { value: run.output, selected: run.output === current }, runLabel(run)),
    ),
  );
  if (!runs.some((run) => run.output === current) && current) {
    select.append(el("option", { value: current, selected: true }, current));
  }
  return el("span", { class: "field" }, el("label", { for: id }, label), select);
}

function runLabel(run) {
  const counts = run.finished ? ` (${run.done ?? 0} done, ${run.failed ?? 0} failed)` : " (unfinished)";
  return `${run.output}${counts}`;
}

/** A value as one short line for a table cell. */
export function short(value, max = 120) {
  let text;
  if (value === undefined) text = "";
  else if (typeof value === "string") text = value;
  else text = JSON.stringify(value);
  text = text.replace(/\s+/g, " ");
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as indented JSON (text as it is). */
export function jsonBlock(value, attrs = {}) {
  const text = typeof value === "string" ? value : JSON.stringify(value, null, 2);
  return el("pre", attrs, text ?? "null");
}

/** The review state of a record: "accepted · 4/5 · edited". */
export function reviewText(annotation) {
  if (!annotation) return "";
  const parts = [];
  if (annotation.verdict) parts.push(annotation.verdict === "accept" ? "accepted" : "rejected");
  if (annotation.rating) parts.push(`${annotation.rating}/5`);
  if (annotation.edit) parts.push("edited");
  if (annotation.note) parts.push("note");
  return parts.join(" · ");
}

/** A badge for the review state (nothing when unreviewed). */
export function reviewBadge(annotation) {
  const text = reviewText(annotation);
  if (!text) return "";
  const kind = annotation.verdict === "reject" ? "bad" : annotation.verdict === "accept" ? "good" : "";
  return el("span", { class: `badge ${kind}` }, text);
}
