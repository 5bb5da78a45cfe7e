// One record: its media shown and played, conversations drawn as what they are (an SFT chat,
// DPO chosen and rejected side by side, an OASST tree), the review form, and the run's
// node-by-node trace of it from the journal.

import { getJSON, postJSON, withQuery } from "../api.js";
import { el, href } from "../dom.js";
import { jsonBlock, reviewBadge, useStyle } from "./run_picker.js";

export async function render(root, params) {
  useStyle("output");
  useStyle("record");
  const query = { output: params.output, row: params.row, id: params.row === undefined ? params.id : undefined };
  const data = await getJSON(withQuery("/api/record", query));
  const record = data.record;
  const back = href("output", { task: params.task || "", output: params.output });
  const nav = el("p", { class: "row" }, el("a", { href: back }, "← Output"));
  if (data.row !== null && data.row !== undefined) {
    const to = (row) => href("record", { task: params.task || "", output: params.output, row });
    if (data.row > 0) nav.append(el("a", { href: to(data.row - 1) }, "Previous record"));
    nav.append(el("a", { href: to(data.row + 1) }, "Next record"));
  }
  root.append(
    nav,
    el("h1", {}, `Record ${data.id}`, " ", el("span", { class: `badge ${statusClass(data.trace.status)}` }, data.trace.status)),
  );
  if (data.trace.failure) root.append(failurePanel(data.trace.failure));
  const shown = record || (data.trace.failure && data.trace.failure.input) || {};
  if (data.media.length) root.append(mediaSection(data.media, params.output));
  const conversations = conversationViews(shown);
  if (conversations.length) root.append(el("section", { "aria-labelledby": "conv-h" }, el("h2", { id: "conv-h" }, "Conversation"), ...conversations));
  if (record) root.append(reviewForm(data, params.output));
  root.append(traceSection(data.trace));
  root.append(
    el(
      "section",
      { "aria-labelledby": "fields-h" },
      el("h2", { id: "fields-h" }, record ? "Record" : "Input"),
      jsonBlock(shown, { class: "record-json", tabindex: "0", "aria-label": "The record as JSON" }),
    ),
  );
}

function statusClass(status) {
  return status === "done" ? "good" : status === "failed" ? "bad" : "";
}

function failurePanel(failure) {
  return el(
    "section",
    { class: "panel failure", "aria-labelledby": "failure-h" },
    el("h2", { id: "failure-h" }, `Failed at ${failure.node || "no node"}`),
    el("p", {}, failure.reason || failure.error || ""),
  );
}

function mediaSection(media, output) {
  const items = media.map((item) => {
    const src = item.src || withQuery("/api/output/media", { output, path: item.path });
    let player;
    if (item.kind === "image") player = el("img", { src, alt: `${item.field} (image from the record)`, loading: "lazy" });
    else if (item.kind === "audio") player = el("audio", { src, controls: true, preload: "metadata", "aria-label": item.field });
    else player = el("video", { src, controls: true, preload: "metadata", "aria-label": item.field });
    return el("figure", {}, player, el("figcaption", {}, item.field));
  });
  return el("section", { "aria-labelledby": "media-h" }, el("h2", { id: "media-h" }, "Media"), el("div", { class: "media" }, ...items));
}

/** Text of a message's content: a string, or the text parts of a multimodal list. */
function contentText(content) {
  if (typeof content === "string") return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && part.type === "text" ? part.text : part && part.type ? `[${part.type}]` : JSON.stringify(part)))
      .join("\n");
  }
  return JSON.stringify(content);
}

function isChat(value) {
  return Array.isArray(value) && value.length > 0 && value.every((m) => m && typeof m === "object" && "role" in m && "content" in m);
}

function chat(messages, label) {
  return el(
    "ol",
    { class: "chat", "aria-label": label },
    ...messages.map((m) => el("li", { class: `msg ${m.role}` }, el("span", { class: "role" }, m.role), el("div", { class: "text" }, contentText(m.content)))),
  );
}

function side(value, label) {
  return isChat(value) ? chat(value, label) : el("div", { class: "text" }, contentText(value));
}

function conversationViews(record) {
  const views = [];
  if ("chosen" in record && "rejected" in record) {
    if (record.prompt !== undefined) views.push(el("h3", {}, "Prompt"), side(record.prompt, "Prompt"));
    views.push(
      el(
        "div",
        { class: "dpo" },
        el("section", { class: "chosen", "aria-label": "Chosen" }, el("h3", {}, "Chosen"), side(record.chosen, "Chosen reply")),
        el("section", { class: "rejected", "aria-label": "Rejected" }, el("h3", {}, "Rejected"), side(record.rejected, "Rejected reply")),
      ),
    );
  }
  for (const [key, value] of Object.entries(record)) {
    if (["chosen", "rejected", "prompt"].includes(key) && views.length) continue;
    if (isChat(value)) views.push(el("h3", {}, key), chat(value, `Conversation in ${key}`));
  }
  const tree = record.prompt && typeof record.prompt === "object" && Array.isArray(record.prompt.replies) ? record.prompt : null;
  if (tree) views.push(el("h3", {}, "Message tree"), el("ul", { class: "tree", "aria-label": "Message tree" }, treeNode(tree)));
  return views;
}

function treeNode(message) {
  const replies = Array.isArray(message.replies) ? message.replies : [];
  const item = el("li", { class: `msg ${message.role || ""}` }, el("span", { class: "role" }, message.role || "message"), el("div", { class: "text" }, contentText(message.text ?? message.content ?? "")));
  if (replies.length) item.append(el("ul", {}, ...replies.map(treeNode)));
  return item;
}

function traceSection(trace) {
  const steps = trace.steps.map((step) =>
    el(
      "li",
      {},
      el("h3", {}, step.node, step.iteration ? ` (iteration ${step.iteration})` : "", step.attempt ? ` · resumed run ${step.attempt}` : ""),
      Object.keys(step.routes).length ? el("p", { class: "hint" }, "Routes: ", Object.entries(step.routes).map(([edge, to]) => `${edge} → ${to}`).join(", ")) : "",
      el(
        "dl",
        { class: "delta" },
        ...Object.entries(step.delta).flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, jsonBlock(value))]),
      ),
    ),
  );
  return el(
    "section",
    { "aria-labelledby": "trace-h" },
    el("h2", { id: "trace-h" }, "Trace"),
    el("p", { class: "hint" }, "Each node's state change, as the run's journal holds it (it keeps no timing, tokens or cost: the Try view shows those)."),
    steps.length ? el("ol", { class: "trace" }, ...steps) : el("p", {}, "No node finished for this record."),
  );
}

function reviewForm(data, output) {
  const current = data.annotation || {};
  const message = el("p", { class: "hint", role: "status", id: "review-status" }, "");
  const badge = el("span", { id: "review-badge" }, reviewBadge(data.annotation));
  const verdicts = ["accept", "reject", ""].map((value) =>
    el(
      "label",
      { class: "inline" },
      el("input", { type: "radio", name: "verdict", value, checked: (current.verdict || "") === value }),
      value ? `${value[0].toUpperCase()}${value.slice(1)}` : "No verdict",
    ),
  );
  const rating = el("select", { id: "rating" }, el("option", { value: "" }, "–"), ...[1, 2, 3, 4, 5].map((n) => el("option", { value: n, selected: current.rating === n }, `${n}`)));
  const note = el("textarea", { id: "note", rows: 2, cols: 50 }, current.note || "");
  const edit = el("textarea", { id: "edit", rows: 4, cols: 50, spellcheck: "false", class: "code" }, current.edit ? JSON.stringify(current.edit, null, 2) : "");
  const form = el(
    "form",
    { class: "panel review", "aria-labelledby": "review-h" },
    el("h2", { id: "review-h" }, "Review ", badge),
    el("fieldset", {}, el("legend", {}, "Verdict"), ...verdicts),
    el("label", { for: "rating" }, "Rating"),
    rating,
    el("label", { for: "note" }, "Note"),
    note,
    el("label", { for: "edit" }, "Edit: fields to replace, as JSON"),
    edit,
    el("p", { class: "hint" }, 'For example {"answer": "a better answer"}. The output is never changed; grasp filter applies edits when it writes.'),
    el("button", { type: "submit" }, "Save review"),
    message,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let edited = null;
    try {
      edited = edit.value.trim() ? JSON.parse(edit.value) : null;
    } catch (error) {
      message.textContent = `The edit is not JSON: ${error.message}`;
      message.className = "error";
      return;
    }
    const verdict = form.querySelector('input[name="verdict"]:checked');
    try {
      const saved = await postJSON("/api/annotations", {
        output,
        id: data.id,
        verdict: verdict && verdict.value ? verdict.value : null,
        rating: rating.value ? Number(rating.value) : null,
        note: note.value.trim() || null,
        edit: edited,
      });
      badge.replaceChildren(reviewBadge(saved));
      message.textContent = `Saved at ${saved.at}`;
      message.className = "ok";
    } catch (error) {
      message.textContent = error.message;
      message.className = "error";
    }
  });
  return form;
}
