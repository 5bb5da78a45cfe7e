// The Studio's HTTP API from the browser. The Studio lives under /<token>/ (a capability
// URL: no cookie carries the token), so every address is built from this module's own:
// views name API paths as "/api/...", and `appUrl` puts them under the Studio's prefix.

/** The Studio's root, `/<token>/` (this file is `/<token>/static/api.js`). */
const ROOT = new URL("../", import.meta.url).pathname;

/** `path` ("/api/...") under the Studio's prefix; any other address is left as it is. */
export function appUrl(path) {
  return path.startsWith("/api/") ? ROOT + path.slice(1) : path;
}

/** An API answer that was not 2xx: `message` is the server's one-line `error`. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function answer(response) {
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const message = body && body.error ? body.error : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message);
  }
  return body;
}

/** GET `path` (under /api/) and return its JSON. */
export async function getJSON(path) {
  return answer(await fetch(appUrl(path), { headers: { accept: "application/json" } }));
}

/** POST `body` as JSON to `path` and return the JSON answer. */
export async function postJSON(path, body) {
  return answer(
    await fetch(appUrl(path), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body ?? {}),
    }),
  );
}

/** Follow the server-sent events at `path`: `onMsg(data, type)` for each message (its data
 * parsed as JSON). Returns a function that closes the stream. */
export function events(path, onMsg) {
  const source = new EventSource(appUrl(path));
  const handle = (event) => {
    let data = event.data;
    try {
      data = JSON.parse(event.data);
    } catch {
      // plain text stays text
    }
    onMsg(data, event.type);
  };
  source.onmessage = handle;
  for (const type of ["progress", "end", "problem"]) source.addEventListener(type, handle);
  return () => source.close();
}

/** `path` with `params` as its query string (empty values left out), under the Studio's
 * prefix (so it also serves as an `src` or `href`). */
export function withQuery(path, params) {
  path = appUrl(path);
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}
