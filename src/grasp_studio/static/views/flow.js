// The flow view: the task's graph drawn (nodes shaped by type, conditional edges labelled,
// loops dashed, subgraphs as groups), a form per node built from its type's JSON schema, and
// the YAML beside it. Every edit goes to the server, which rewrites the file keeping its
// comments; `grasp validate` problems are marked on the node and on the YAML line.

import { getJSON, postJSON, withQuery } from "../api.js";
import { el, showError } from "../dom.js";
import { drawGraph } from "./flow_canvas.js";
import { nodeForm } from "./flow_form.js";

export async function render(root, params) {
  const path = params.task;
  root.append(el("h1", {}, "Flow"));
  if (!path) {
    root.append(el("p", {}, "Pick a task on the ", el("a", { href: "#/home" }, "workspace"), " page."));
    return;
  }
  const state = { path, task: null, problems: [], selected: params.node || null, connectFrom: null };
  const status = el("p", { id: "flow-status", role: "status", "aria-live": "polite" });
  const canvas = el("div", { class: "canvas", id: "canvas" });
  const side = el("div", { class: "side" });
  const problems = el("ul", { class: "problems", id: "problems", "aria-label": "Problems" });
  const gutter = el("div", { class: "gutter", "aria-hidden": "true" });
  const yaml = el("textarea", {
    class: "code",
    id: "yaml",
    spellcheck: "false",
    "aria-label": `YAML of ${path}`,
    wrap: "off",
  });
  const form = el("div", { class: "nodeform", id: "nodeform" });
  const types = (await getJSON("/api/node-types")).types;

  const nameInput = el("input", { id: "new-name", name: "new-name", size: 12, autocomplete: "off" });
  const typeSelect = el("select", { id: "new-type", name: "new-type" }, ...types.map((t) => el("option", { value: t }, t)));
  typeSelect.value = types.includes("lambda") ? "lambda" : types[0];
  const fromSelect = el("select", { id: "edge-from", name: "edge-from" });
  const toSelect = el("select", { id: "edge-to", name: "edge-to" });

  async function edit(body) {
    if (yaml.value !== state.task.yaml) {
      // the canvas and the form edit the file: unsaved text would be lost
      status.replaceChildren(
        el("span", { class: "error", role: "alert" }, "The YAML has unsaved changes: save them or discard them first."),
      );
      return false;
    }
    try {
      const task = await postJSON("/api/task/edit", { path, ...body });
      await show(task);
      return true;
    } catch (error) {
      status.replaceChildren(el("span", { class: "error", role: "alert" }, error.message));
      return false;
    }
  }

  function lineNumbers() {
    const count = yaml.value.split("\n").length;
    const bad = new Set(state.problems.filter((p) => p.line && p.file === path).map((p) => p.line));
    gutter.replaceChildren(
      ...Array.from({ length: count }, (_, i) =>
        el("span", { class: bad.has(i + 1) ? "bad" : "", "data-line": i + 1 }, `${i + 1}\n`),
      ),
    );
    gutter.scrollTop = yaml.scrollTop;
  }
  function goToLine(line) {
    const lines = yaml.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0);
    yaml.focus();
    yaml.setSelectionRange(start, start + (lines[line - 1] || "").length);
    yaml.scrollTop = Math.max(0, (line - 3) * 19.6);
  }

  function drawProblems() {
    problems.replaceChildren(
      ...state.problems.map((problem) => {
        const where = [problem.line ? `line ${problem.line}` : null, problem.path].filter(Boolean).join(", ");
        const item = el("li", {}, where ? `${where}: ${problem.message}` : problem.message);
        if (problem.line && problem.file === path) {
          item.append(" ", el("button", { class: "secondary", type: "button", onclick: () => goToLine(problem.line) }, "Show line"));
        }
        return item;
      }),
    );
    status.replaceChildren(
      state.problems.length
        ? el("span", { class: "error" }, `${state.problems.length} problem(s) found by grasp validate`)
        : el("span", { class: "ok" }, "Valid: grasp validate finds no problem"),
    );
  }

  function select(name) {
    state.selected = name;
    if (state.connectFrom && name && state.connectFrom !== name) {
      const source = state.connectFrom;
      state.connectFrom = null;
      edit({ op: "add_edge", from: source, to: name });
      return;
    }
    redraw();
  }

  function redraw() {
    const task = state.task;
    const marked = new Set(state.problems.map((p) => p.node).filter(Boolean));
    canvas.replaceChildren();
    if (task.graph) {
      canvas.append(drawGraph(task.graph, { selected: state.selected, problems: marked, onSelect: select, connecting: state.connectFrom }));
    } else {
      canvas.append(el("p", { class: "error" }, task.yaml_error));
    }
    const names = Object.keys(task.nodes);
    const ends = (extra) => [...extra, ...names].map((n) => el("option", { value: n }, n));
    const keepFrom = fromSelect.value;
    const keepTo = toSelect.value;
    fromSelect.replaceChildren(...ends(["START"]));
    toSelect.replaceChildren(...ends(["END"]));
    if (keepFrom) fromSelect.value = keepFrom;
    if (keepTo) toSelect.value = keepTo;
    form.replaceChildren();
    if (state.selected && task.nodes[state.selected]) {
      const nodeProblems = state.problems.filter((p) => p.node === state.selected);
      nodeForm(form, {
        name: state.selected,
        config: task.nodes[state.selected],
        line: task.lines[state.selected],
        problems: nodeProblems,
        onApply: (values) => edit({ op: "set_node", name: state.selected, values }),
        onRemove: () => {
          const name = state.selected;
          state.selected = null;
          edit({ op: "remove_node", name });
        },
        onConnect: () => {
          state.connectFrom = state.selected;
          status.replaceChildren(`Connecting from ${state.selected}: click the node it leads to.`);
          redraw();
        },
        onGoToLine: goToLine,
      });
    } else {
      form.append(el("p", { class: "hint" }, "Select a node on the canvas to edit it."));
    }
  }

  async function validate() {
    try {
      const answer = await getJSON(withQuery("/api/validate", { path }));
      state.problems = answer.problems;
    } catch (error) {
      state.problems = [{ message: error.message }];
    }
    drawProblems();
    lineNumbers();
    redraw();
  }

  async function show(task) {
    state.task = task;
    yaml.value = task.yaml;
    lineNumbers();
    redraw();
    await validate();
  }

  yaml.addEventListener("input", lineNumbers);
  yaml.addEventListener("scroll", () => {
    gutter.scrollTop = yaml.scrollTop;
  });

  const addForm = el(
    "form",
    {
      class: "row",
      "aria-label": "Add a node",
      onsubmit: async (event) => {
        event.preventDefault();
        const name = nameInput.value.trim();
        if (!name) return;
        const defaults = typeSelect.value === "lambda" ? { lambda: "steps.todo", output_keys: name } : {};
        if (await edit({ op: "add_node", name, node_type: typeSelect.value, config: defaults })) {
          nameInput.value = "";
          select(name);
        }
      },
    },
    el("label", { for: "new-name" }, "New node"),
    nameInput,
    el("label", { for: "new-type" }, "of type"),
    typeSelect,
    el("button", { type: "submit" }, "Add node"),
  );
  const connectForm = el(
    "form",
    {
      class: "row",
      "aria-label": "Connect two nodes",
      onsubmit: (event) => {
        event.preventDefault();
        edit({ op: "add_edge", from: fromSelect.value, to: toSelect.value });
      },
    },
    el("label", { for: "edge-from" }, "Edge from"),
    fromSelect,
    el("label", { for: "edge-to" }, "to"),
    toSelect,
    el("button", { type: "submit" }, "Connect"),
    el(
      "button",
      {
        type: "button",
        class: "secondary",
        onclick: () => edit({ op: "remove_edge", from: fromSelect.value, to: toSelect.value }),
      },
      "Remove edge",
    ),
  );
  const saveButton = el(
    "button",
    {
      type: "button",
      id: "save-yaml",
      onclick: async () => {
        try {
          await show(await postJSON("/api/task/yaml", { path, yaml: yaml.value }));
          status.prepend(el("span", {}, "Saved. "));
        } catch (error) {
          status.replaceChildren(el("span", { class: "error", role: "alert" }, error.message));
        }
      },
    },
    "Save YAML",
  );
  const discardButton = el(
    "button",
    {
      type: "button",
      class: "secondary",
      id: "discard-yaml",
      onclick: () => {
        yaml.value = state.task.yaml;
        lineNumbers();
      },
    },
    "Discard changes",
  );

  side.append(
    el("h2", {}, "Node"),
    form,
    el("h2", {}, "YAML"),
    el("div", { class: "editor" }, gutter, yaml),
    el("div", { class: "row" }, saveButton, discardButton, el("span", { class: "hint" }, "Comments and key order are kept.")),
  );
  root.append(
    el("p", { class: "hint" }, path),
    el("div", { class: "panel" }, addForm, connectForm),
    status,
    problems,
    el("div", { class: "flow" }, el("section", { "aria-label": "Graph" }, canvas), side),
  );
  try {
    await show(await getJSON(withQuery("/api/task", { path })));
  } catch (error) {
    showError(root, error);
  }
}
