// The graph as SVG, from the layout the server computed (`grasp_studio.flow`): each node a
// focusable shape (click or Enter selects it), edges with arrows, labels on conditional
// edges, loops dashed, subgraphs as dashed groups.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value !== undefined && value !== null) node.setAttribute(key, String(value));
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function shape(box) {
  const { x, y, w, h } = box;
  switch (box.kind) {
    case "terminal":
      return svg("ellipse", { cx: x + w / 2, cy: y + h / 2, rx: w / 2, ry: h / 2 });
    case "llm":
      return svg("rect", { x, y, width: w, height: h, rx: 14 });
    case "multi_llm":
      return svg("g", {}, svg("rect", { x: x + 4, y: y - 4, width: w, height: h, rx: 10 }), svg("rect", { x, y, width: w, height: h, rx: 10 }));
    case "agent":
      return svg("polygon", { points: `${x + 14},${y} ${x + w},${y} ${x + w - 14},${y + h} ${x},${y + h}` });
    case "weighted_sampler":
      return svg("polygon", {
        points: `${x + 14},${y} ${x + w - 14},${y} ${x + w},${y + h / 2} ${x + w - 14},${y + h} ${x + 14},${y + h} ${x},${y + h / 2}`,
      });
    default:
      return svg("rect", { x, y, width: w, height: h, rx: 3, "stroke-dasharray": box.kind === "subgraph" ? "5 3" : null });
  }
}

function edgePath(edge) {
  const [[x1, y1], [x2, y2]] = edge.points;
  if (edge.loop) {
    const bulge = 46 + Math.abs(y1 - y2) * 0.15;
    return `M ${x1} ${y1} C ${x1 + bulge} ${y1}, ${x2 + bulge} ${y2}, ${x2 + 2} ${y2}`;
  }
  const dy = Math.max(20, (y2 - y1) / 2);
  return `M ${x1} ${y1} C ${x1} ${y1 + dy}, ${x2} ${y2 - dy}, ${x2} ${y2 - 2}`;
}

/** The graph's SVG; `onSelect(name)` is called with a node's name when it is chosen. */
export function drawGraph(graph, { selected, problems, onSelect, connecting }) {
  const root = svg("svg", {
    width: graph.width + 60,
    height: graph.height,
    viewBox: `0 0 ${graph.width + 60} ${graph.height}`,
    role: "group",
    "aria-label": "Graph of the task: nodes and edges",
  });
  root.append(
    svg(
      "defs",
      {},
      svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" }, svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#5f6b7a" })),
    ),
  );
  for (const group of graph.groups) {
    root.append(
      svg(
        "g",
        { class: "group", "data-group": group.id },
        svg("rect", { x: group.x, y: group.y, width: group.w, height: group.h, rx: 8 }),
        svg("text", { x: group.x + 8, y: group.y + 15 }, `${group.label} · subgraph`),
      ),
    );
  }
  for (const edge of graph.edges) {
    const group = svg("g", { class: edge.loop ? "edge loop" : "edge", "data-from": edge.from, "data-to": edge.to });
    group.append(svg("path", { d: edgePath(edge), "marker-end": "url(#arrow)" }));
    if (edge.label) {
      const [[x1, y1], [x2, y2]] = edge.points;
      const lx = edge.loop ? Math.max(x1, x2) + 40 : (x1 + x2) / 2 + 4;
      group.append(svg("text", { x: lx, y: (y1 + y2) / 2 }, edge.label));
    }
    root.append(group);
  }
  for (const box of graph.nodes) {
    const terminal = box.kind === "terminal";
    const name = box.id;
    const classes = ["node", box.kind];
    if (terminal) classes.push("terminal");
    if (name === selected) classes.push("selected");
    if (problems.has(name)) classes.push("problem");
    if (connecting && name === connecting) classes.push("selected");
    const label = terminal
      ? `${box.label}`
      : `node ${name}, ${box.kind}${problems.has(name) ? ", has a problem" : ""}${name === selected ? ", selected" : ""}`;
    const group = svg("g", {
      class: classes.join(" "),
      "data-node": name,
      tabindex: terminal && !connecting ? null : 0,
      role: terminal && !connecting ? "img" : "button",
      "aria-label": label,
    });
    group.append(svg("title", {}, problems.has(name) ? `${name}: see the problems above` : label));
    group.append(shape(box));
    const cx = box.x + box.w / 2;
    if (terminal) {
      group.append(svg("text", { x: cx, y: box.y + box.h / 2 + 4, "text-anchor": "middle" }, box.label));
    } else {
      group.append(svg("text", { x: cx, y: box.y + 19, "text-anchor": "middle" }, box.label));
      group.append(svg("text", { class: "type", x: cx, y: box.y + 35, "text-anchor": "middle" }, box.note ? `${box.kind}: ${box.note}` : box.kind));
    }
    const choose = () => {
      if (!terminal || connecting) onSelect(name);
    };
    group.addEventListener("click", choose);
    group.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        choose();
      }
    });
    root.append(group);
  }
  return root;
}
