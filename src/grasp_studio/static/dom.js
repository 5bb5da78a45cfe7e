// Small helpers every view uses: routes, elements built without parsing HTML, problems.

/** The current hash as `{view, params}`. */
export function currentRoute() {
  const hash = location.hash.replace(/^#\/?/, "");
  const [view, query] = hash.split("?", 2);
  return { view: view || "home", params: Object.fromEntries(new URLSearchParams(query || "")) };
}

/** The hash for `view` with `params`. */
export function href(view, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/${view}${query ? `?${query}` : ""}`;
}

/** An element: `el("a", {href: "#"}, "text", child)`. Attribute values are set as text,
 * never parsed as HTML; `on*` keys add listeners. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Show a one-line problem in `root` (an alert that screen readers announce). */
export function showError(root, error) {
  root.append(el("p", { class: "error", role: "alert" }, error.message || String(error)));
}
