// The workspace: its tasks, each with its latest run, and the way into every view.

import { getJSON } from "../api.js";
import { el, href } from "../dom.js";

function runCell(task) {
  const run = task.run;
  if (!run || run.state === "none") return el("span", { class: "hint" }, "never run");
  const parts = [`${run.done} done`];
  if (run.failed) parts.push(`${run.failed} failed`);
  return el("a", { href: href("run", { task: task.path }) }, `${run.state}: ${parts.join(", ")}`);
}

export async function render(root) {
  root.append(el("h1", {}, "Workspace"));
  const { workspace, tasks, mock } = await getJSON("/api/tasks");
  root.append(
    el("p", { class: "hint" }, `Folder: ${workspace}`, mock ? " · tries and runs use the mock server" : ""),
  );
  if (!tasks.length) {
    root.append(el("p", {}, "No task here yet: put a folder with a task.yaml in the workspace."));
    return;
  }
  const rows = tasks.map((task) =>
    el(
      "tr",
      {},
      el("th", { scope: "row" }, task.name),
      el("td", {}, el("code", {}, task.path)),
      el("td", { class: "num" }, task.nodes ?? "–"),
      el("td", {}, runCell(task)),
      el(
        "td",
        {},
        el(
          "span",
          { class: "row" },
          ...["flow", "try", "run", "output"].map((view) =>
            el("a", { href: href(view, { task: task.path }), "aria-label": `${view} ${task.path}` }, view),
          ),
        ),
      ),
    ),
  );
  root.append(
    el(
      "table",
      { "aria-label": "Tasks" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, "Task"),
          el("th", { scope: "col" }, "File"),
          el("th", { scope: "col", class: "num" }, "Nodes"),
          el("th", { scope: "col" }, "Latest run"),
          el("th", { scope: "col" }, "Open"),
        ),
      ),
      el("tbody", {}, ...rows),
    ),
  );
}
