// A run's failures grouped by node and reason, each with the records that failed so and
// their inputs; and a button that starts a run of only the failed records (a retry, watched
// in the run view).

import { getJSON, postJSON, withQuery } from "../api.js";
import { el, href } from "../dom.js";
import { jsonBlock, pickRun, runSelect, useStyle } from "./run_picker.js";

export async function render(root, params) {
  useStyle("output");
  useStyle("record");
  root.append(el("h1", {}, "Failures"));
  const { runs, output } = await pickRun(params);
  if (!output) {
    root.append(el("p", {}, "No run yet: nothing has failed."));
    return;
  }
  root.append(
    el(
      "div",
      { class: "row controls" },
      runSelect(runs, output, (value) => {
        location.hash = href("failures", { task: params.task || "", output: value });
      }),
    ),
  );
  const { total, groups } = await getJSON(withQuery("/api/failures", { output }));
  if (!total) {
    root.append(el("p", { class: "ok" }, "No record failed in this run."));
    return;
  }
  root.append(
    el("p", {}, `${total} failed record${total === 1 ? "" : "s"} in ${groups.length} group${groups.length === 1 ? "" : "s"}.`),
    retryPanel(params.task, total),
  );
  groups.forEach((group, index) => root.append(groupSection(group, index, output, params.task)));
}

function retryPanel(task, total) {
  const status = el("p", { role: "status", id: "retry-status", class: "hint" }, "");
  const button = el("button", { type: "button", id: "retry", disabled: !task }, `Re-run the ${total} failed records`);
  button.addEventListener("click", async () => {
    button.disabled = true;
    status.className = "hint";
    status.textContent = "Starting the retry…";
    try {
      // a run of its own (grasp run --retry-failures), watched and stopped in the run view
      await postJSON("/api/runs/start", { path: task, retry_failures: true });
      location.hash = href("run", { task, retry: "true" });
    } catch (error) {
      status.className = "error";
      status.textContent = error.message;
      button.disabled = false;
    }
  });
  return el(
    "div",
    { class: "panel" },
    button,
    el(
      "p",
      { class: "hint" },
      task
        ? ["The retry is a run of its own (", el("code", {}, "grasp run --retry-failures"), "), written beside this run's output (NAME.retry/) and watched like any run; this run's files are not changed. ", el("a", { href: href("run", { task, retry: "true" }) }, "Watch the last retry")]
        : "Open this view from a task to re-run its failures.",
    ),
    status,
  );
}

function groupSection(group, index, output, task) {
  const id = `group-${index}`;
  const rows = group.records.map((record) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: href("record", { task: task || "", output, id: record.id }) }, record.id)),
      el("td", {}, record.reason || record.error || ""),
      el("td", {}, el("details", {}, el("summary", {}, "Input"), jsonBlock(record.input))),
    ),
  );
  const more = group.count > group.records.length ? el("p", { class: "hint" }, `Showing the first ${group.records.length} of ${group.count}.`) : "";
  return el(
    "section",
    { class: "group", "aria-labelledby": id },
    el("h2", { id }, `${group.node || "outside any node"}: ${group.count} × `, el("code", {}, group.reason)),
    el(
      "table",
      { "aria-labelledby": id },
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Record"), el("th", { scope: "col" }, "Reason"), el("th", { scope: "col" }, "Input"))),
      el("tbody", {}, ...rows),
    ),
    more,
  );
}
