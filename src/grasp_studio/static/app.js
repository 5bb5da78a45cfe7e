// The Studio's hash router: `#/<view>?k=v` loads `views/<view>.js` and calls its exported
// `render(root, params)`. A view may return a function, called when the view is left (to
// close its event streams).

import { currentRoute, el, href, showError } from "./dom.js";

const VIEWS = new Set(["home", "flow", "try", "run", "output", "record", "failures", "compare"]);
let leave = null;
let lastTask = "";

function updateNav(view, params) {
  if (params.task) lastTask = params.task;
  for (const link of document.querySelectorAll("#nav a")) {
    const target = link.dataset.view;
    const needsTask = link.hasAttribute("data-task");
    link.setAttribute("href", needsTask && lastTask ? href(target, { task: lastTask }) : href(target));
    if (target === view) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.getElementById("task-name").textContent = lastTask ? `Task: ${lastTask}` : "";
}

async function route() {
  const { view, params } = currentRoute();
  const root = document.getElementById("view");
  if (leave) {
    try {
      leave();
    } catch {
      // a view that fails to clean up must not block the next one
    }
    leave = null;
  }
  updateNav(view, params);
  root.replaceChildren();
  root.setAttribute("aria-busy", "true");
  document.title = `${view} · GraSP Studio`;
  if (!VIEWS.has(view)) {
    root.append(el("h1", {}, "Not found"), el("p", {}, `There is no view called “${view}”.`));
    root.removeAttribute("aria-busy");
    return;
  }
  try {
    const module = await import(`./views/${view}.js`);
    const cleanup = await module.render(root, params);
    if (typeof cleanup === "function") leave = cleanup;
  } catch (error) {
    root.append(el("h1", {}, view));
    showError(root, error);
  } finally {
    root.removeAttribute("aria-busy");
    root.dataset.view = view;
  }
}

window.addEventListener("hashchange", route);
route();
