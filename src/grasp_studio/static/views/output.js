// The output of a run as a table that stays fast at a million rows: the server pages, sorts
// and filters (the same conditions as `grasp filter`); the browser draws only the rows in
// view (a virtualised table) and fetches pages of PAGE rows as they scroll in.

import { getJSON, postJSON, withQuery } from "../api.js";
import { el, href, showError } from "../dom.js";
import { pickRun, reviewBadge, runSelect, short, useStyle } from "./run_picker.js";

const PAGE = 100;
const OVERSCAN = 10;
const MAX_COLUMNS = 10;

export async function render(root, params) {
  useStyle("output");
  root.append(el("h1", {}, "Output"));
  const { runs, output } = await pickRun(params);
  if (!output) {
    root.append(el("p", {}, "No run yet: start one from the Run view, or `grasp run` in the workspace."));
    return;
  }
  const go = (changes) => {
    location.hash = href("output", { ...params, ...changes });
  };
  const where = params.where || "";
  const conditions = where.split("\n").map((line) => line.trim()).filter(Boolean);
  const filter = el("textarea", { id: "where", rows: 2, cols: 60, spellcheck: "false" }, where);
  root.append(
    el(
      "div",
      { class: "row controls" },
      runSelect(runs, output, (value) => go({ output: value, where: "", sort: "", desc: "" })),
      el(
        "form",
        {
          class: "row",
          onsubmit: (event) => {
            event.preventDefault();
            go({ output, where: filter.value.trim() });
          },
        },
        el(
          "span",
          { class: "field" },
          el("label", { for: "where" }, "Filter"),
          filter,
          el("span", { class: "hint" }, 'One grasp filter condition a line: quality.overall >= 4, annotation.verdict == "accept"'),
        ),
        el("button", { type: "submit" }, "Apply"),
      ),
    ),
  );
  const status = el("p", { class: "hint", id: "output-status", "aria-live": "polite" }, "Loading…");
  root.append(status);
  const table = new VirtualTable({ output, task: params.task, sort: params.sort, desc: params.desc === "1", conditions, go, status });
  try {
    await table.start(root);
  } catch (error) {
    status.textContent = "";
    showError(root, error);
  }
  return () => table.stop();
}

class VirtualTable {
  constructor(options) {
    Object.assign(this, options);
    this.pages = new Map();
    this.pending = new Map();
    this.total = null;
    this.rowHeight = 34;
    this.columns = [];
    this.stopped = false;
  }

  query(offset, limit) {
    return withQuery("/api/output/page", {
      output: this.output,
      offset,
      limit,
      sort: this.sort,
      desc: this.desc ? "1" : "",
    }) + this.conditions.map((c) => `&where=${encodeURIComponent(c)}`).join("");
  }

  async start(root) {
    const first = await getJSON(this.query(0, PAGE));
    this.pages.set(0, first.rows);
    this.total = first.total;
    this.columns = first.columns.filter((c) => c !== "id").slice(0, MAX_COLUMNS);
    this.head = el("thead", {}, this.headerRow());
    this.body = el("tbody");
    this.scroller = el(
      "div",
      { class: "vtable", tabindex: "0", role: "region", "aria-label": "Output rows (scroll to load more)" },
      el("table", { id: "output-table", "aria-label": `Rows of ${this.output}` }, this.head, this.body),
    );
    root.append(this.scroller);
    this.scroller.addEventListener("scroll", () => this.draw());
    this.updateStatus();
    this.draw();
    const row = this.body.querySelector("tr.vrow");
    if (row) this.rowHeight = row.getBoundingClientRect().height || this.rowHeight;
    this.draw();
    if (this.total === null) {
      const counted = await getJSON(
        withQuery("/api/output/count", { output: this.output }) +
          this.conditions.map((c) => `&where=${encodeURIComponent(c)}`).join(""),
      );
      if (this.stopped) return;
      this.total = counted.total;
      this.updateStatus();
      this.draw();
    }
  }

  stop() {
    this.stopped = true;
  }

  known() {
    if (this.total !== null) return this.total;
    let count = 0;
    for (const rows of this.pages.values()) count += rows.length;
    return count;
  }

  updateStatus() {
    const total = this.total === null ? `${this.known()}+ (counting…)` : this.total.toLocaleString("en");
    const filtered = this.conditions.length ? " matching the filter" : "";
    const sorted = this.sort ? `, sorted by ${this.sort}${this.desc ? " (descending)" : ""}` : "";
    this.status.textContent = `${total} rows${filtered}${sorted}`;
  }

  headerRow() {
    const sortButton = (column) => {
      const active = this.sort === column;
      const next = active && !this.desc ? "1" : "";
      return el(
        "th",
        { scope: "col", "aria-sort": active ? (this.desc ? "descending" : "ascending") : "none" },
        el(
          "button",
          {
            type: "button",
            class: "link",
            title: `Sort by ${column}`,
            onclick: () => this.go({ output: this.output, sort: column, desc: active ? next : "" }),
          },
          column,
          active ? (this.desc ? " ▼" : " ▲") : "",
        ),
      );
    };
    return el(
      "tr",
      {},
      el("th", { scope: "col", class: "num" }, "Row"),
      sortButton("id"),
      el("th", { scope: "col" }, "Review"),
      ...this.columns.map(sortButton),
    );
  }

  fetchPage(index) {
    if (this.pages.has(index) || this.pending.has(index)) return;
    const request = getJSON(this.query(index * PAGE, PAGE))
      .then((page) => {
        if (this.stopped) return;
        this.pages.set(index, page.rows);
        if (page.total !== null && page.total !== undefined) this.total = page.total;
        this.updateStatus();
        this.draw();
      })
      .catch((error) => {
        this.status.textContent = error.message;
      })
      .finally(() => this.pending.delete(index));
    this.pending.set(index, request);
  }

  rowAt(index) {
    const rows = this.pages.get(Math.floor(index / PAGE));
    return rows ? rows[index % PAGE] : undefined;
  }

  draw() {
    const count = this.known();
    const view = this.scroller.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.scroller.scrollTop / this.rowHeight) - OVERSCAN);
    const last = Math.min(count + (this.total === null ? PAGE : 0), first + Math.ceil(view / this.rowHeight) + 2 * OVERSCAN);
    const width = this.columns.length + 3;
    const spacer = (height) => el("tr", { class: "spacer", "aria-hidden": "true" }, el("td", { colspan: width, style: `height:${height}px` }));
    const rows = [spacer(first * this.rowHeight)];
    for (let index = first; index < last; index += 1) {
      const row = this.rowAt(index);
      if (row === undefined) {
        if (this.total === null || index < this.total) this.fetchPage(Math.floor(index / PAGE));
        if (index < count) rows.push(el("tr", { class: "vrow loading" }, el("td", { colspan: width }, "…")));
        continue;
      }
      rows.push(this.rowElement(row, index));
    }
    rows.push(spacer(Math.max(0, (count - last) * this.rowHeight)));
    this.body.replaceChildren(...rows);
  }

  /** Accept and reject buttons: a review in one click (the record view has the rest). */
  quickReview(row) {
    const id = row.record && row.record.id;
    if (id === undefined || id === null) return "";
    const current = (row.annotation && row.annotation.verdict) || "";
    const button = (verdict, symbol, label) =>
      el(
        "button",
        {
          type: "button",
          class: `quick ${verdict}`,
          "aria-label": `${label} ${id}`,
          "aria-pressed": current === verdict ? "true" : "false",
          onclick: async () => {
            try {
              row.annotation = await postJSON("/api/annotations", {
                output: this.output,
                id: String(id),
                verdict: current === verdict ? null : verdict,
              });
              this.draw();
            } catch (error) {
              this.status.textContent = error.message;
            }
          },
        },
        symbol,
      );
    return el("span", { class: "quick-review" }, button("accept", "✓", "Accept"), button("reject", "✗", "Reject"));
  }

  rowElement(row, index) {
    const record = row.record || {};
    const link = href("record", { output: this.output, row: row.row, task: this.task || "" });
    return el(
      "tr",
      { class: "vrow", "aria-rowindex": index + 2 },
      el("td", { class: "num" }, el("a", { href: link, "aria-label": `Open row ${row.row}` }, row.row)),
      el("td", {}, short(record.id, 40)),
      el("td", { class: "review-cell" }, this.quickReview(row), reviewBadge(row.annotation)),
      ...this.columns.map((column) => el("td", { title: short(record[column], 400) }, short(record[column]))),
    );
  }
}
