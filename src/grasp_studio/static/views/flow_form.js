// A node's form, generated from its type's config model (JSON schema from pydantic: field
// descriptions are the fields' docstrings). Plain values get inputs; lists and mappings a
// JSON box. Only the fields changed are sent back, so the rest of the YAML stays as written.

import { getJSON, withQuery } from "../api.js";
import { el } from "../dom.js";

const schemas = new Map();

async function schemaOf(type) {
  if (!schemas.has(type)) schemas.set(type, getJSON(withQuery("/api/node-schema", { type })).then((a) => a.schema));
  return schemas.get(type);
}

/** The kind of input a property takes: "string", "number", "integer", "boolean", "enum",
 * "json", or "text" (a string, or a list or mapping written as JSON: `output_keys`). */
function kindOf(prop, defs) {
  let spec = prop;
  if (spec.$ref) spec = defs[spec.$ref.split("/").pop()] || {};
  const options = spec.anyOf ? spec.anyOf.filter((s) => s.type !== "null") : [spec];
  if (options.length > 1 && options.some((s) => s.type === "string")) return { kind: "text" };
  if (options.length !== 1) return { kind: "json" };
  let only = options[0];
  if (only.$ref) only = defs[only.$ref.split("/").pop()] || {};
  if (only.enum) return { kind: "enum", values: only.enum };
  if (only.const !== undefined) return { kind: "enum", values: [only.const] };
  if (["string", "number", "integer", "boolean"].includes(only.type)) return { kind: only.type };
  return { kind: "json" };
}

function show(value, kind) {
  if (value === undefined || value === null) return "";
  if (kind === "json") return JSON.stringify(value, null, 1);
  return String(value);
}

/** Fill `root` with the form of node `name`. */
export async function nodeForm(root, { name, config, line, problems, onApply, onRemove, onConnect, onGoToLine }) {
  const type = config.node_type;
  const heading = el("p", {}, el("strong", {}, name), ` · ${type}`);
  if (line) heading.append(" · ", el("button", { type: "button", class: "secondary", onclick: () => onGoToLine(line) }, `YAML line ${line}`));
  root.append(heading);
  for (const problem of problems) root.append(el("p", { class: "error" }, problem.message));
  let schema;
  try {
    schema = await schemaOf(type);
  } catch (error) {
    root.append(el("p", { class: "error" }, `No form for type ${type}: ${error.message}`));
    return;
  }
  const defs = schema.$defs || {};
  const fields = [];
  const fieldset = el("fieldset", {}, el("legend", {}, `${name} (${type})`));
  for (const [key, prop] of Object.entries(schema.properties || {})) {
    if (key === "node_type") continue;
    const { kind, values } = kindOf(prop, defs);
    const id = `field-${name}-${key}`;
    const current = config[key];
    let input;
    if (kind === "boolean") {
      input = el("input", { type: "checkbox", id, name: key });
      input.checked = current === undefined ? prop.default === true : Boolean(current);
    } else if (kind === "enum") {
      input = el("select", { id, name: key }, el("option", { value: "" }, "(default)"), ...values.map((v) => el("option", { value: String(v) }, String(v))));
      input.value = current === undefined ? "" : String(current);
    } else if (kind === "text" && (current === undefined || typeof current === "string")) {
      input = el("input", { id, name: key, type: "text", size: 32 });
      input.value = current ?? "";
    } else if (["json", "text"].includes(kind) || (kind === "string" && typeof current === "object" && current !== null)) {
      input = el("textarea", { id, name: key, rows: current === undefined ? 1 : 4, class: "code", spellcheck: "false" });
      input.value = show(current, "json");
    } else {
      input = el("input", { id, name: key, type: kind === "string" ? "text" : "number", step: kind === "integer" ? 1 : "any", size: 32 });
      input.value = show(current, kind);
    }
    const hintId = `${id}-hint`;
    const described = prop.description ? { "aria-describedby": hintId } : {};
    for (const [attr, value] of Object.entries(described)) input.setAttribute(attr, value);
    fieldset.append(
      el("label", { for: id }, prop.title || key, el("code", { class: "hint" }, ` ${key}`)),
      prop.description ? el("p", { class: "hint", id: hintId }, prop.description) : null,
      input,
    );
    fields.push({ key, kind, input, current, initial: stateOf(input) });
  }
  const message = el("p", { role: "status", "aria-live": "polite" });
  const apply = el("button", { type: "submit" }, "Apply");
  const form = el(
    "form",
    {
      "aria-label": `Settings of node ${name}`,
      onsubmit: async (event) => {
        event.preventDefault();
        const values = {};
        for (const { key, kind, input, current, initial } of fields) {
          if (stateOf(input) === initial) continue; // untouched: the YAML keeps it as written
          let value;
          try {
            value = read(input, kind, current);
          } catch (error) {
            message.replaceChildren(el("span", { class: "error" }, `${key}: ${error.message}`));
            return;
          }
          if (value !== undefined) values[key] = value;
        }
        if (!Object.keys(values).length) {
          message.replaceChildren("Nothing changed.");
          return;
        }
        await onApply(values);
      },
    },
    fieldset,
    el(
      "div",
      { class: "row" },
      apply,
      el("button", { type: "button", class: "secondary", onclick: onConnect }, "Connect to…"),
      el("button", { type: "button", class: "secondary", onclick: onRemove }, "Remove node"),
    ),
    message,
  );
  root.append(form);
}

function stateOf(input) {
  return input.type === "checkbox" ? String(input.checked) : input.value;
}

/** The value an input holds: undefined (leave as it is), null (remove the key) or a value. */
function read(input, kind, current) {
  if (kind === "boolean") return input.checked;
  const text = input.value.trim();
  if (!text) return current === undefined ? undefined : null;
  if (input.tagName === "TEXTAREA") return JSON.parse(text);
  if (kind === "text") return /^[[{]/.test(text) ? JSON.parse(text) : text;
  if (kind === "integer") {
    if (!/^-?\d+$/.test(text)) throw new Error("a whole number");
    return Number(text);
  }
  if (kind === "number") {
    const value = Number(text);
    if (Number.isNaN(value)) throw new Error("a number");
    return value;
  }
  return text;
}
