// The run view: start a run (local or Ray), watch it live through server-sent events (records
// done, failed and in flight, rate, ETA, per model and node calls, retries, 429s, truncated
// replies, latency percentiles, tokens, cost), stop it as Ctrl-C does, resume it. A run
// started with `grasp run` in a terminal is watched the same way: the counters come from the
// files every run keeps. With `retry=true`, the view is the retry of the records the task's
// run failed (`grasp run --retry-failures`, under NAME.retry/): started, watched and stopped
// the same way; it always starts over, on this machine.

import { events, getJSON, postJSON, withQuery } from "../api.js";
import { el, href } from "../dom.js";

const number = new Intl.NumberFormat("en", { maximumFractionDigits: 1 });

function money(value) {
  return value === null || value === undefined ? "unpriced" : `$${value.toFixed(value < 1 ? 4 : 2)}`;
}

function seconds(value) {
  if (value === null || value === undefined) return "–";
  if (value < 90) return `${number.format(value)} s`;
  return `${Math.floor(value / 60)} min ${Math.round(value % 60)} s`;
}

function counter(name, key, value) {
  return el("div", { class: "counter", "data-counter": key }, el("div", { class: "value" }, value), el("div", { class: "name" }, name));
}

function errorsOf(stats, kind) {
  return (stats?.errors || {})[kind] || 0;
}

function percentiles(latency) {
  if (!latency || latency.p50 === undefined) return "–";
  return `${latency.p50} / ${latency.p95} / ${latency.p99}`;
}

function table(label, head, rows) {
  return el(
    "table",
    { "aria-label": label },
    el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { scope: "col", class: i ? "num" : "" }, h)))),
    el("tbody", {}, ...rows.map((row) => el("tr", { "data-row": row[0] }, el("th", { scope: "row" }, row[0]), ...row.slice(1).map((c) => el("td", { class: "num" }, c))))),
  );
}

/** Draw the counters and tables for one status. */
function draw(parts, status, task) {
  const progress = status.progress || {};
  const metrics = status.metrics || {};
  const summary = status.summary || {};
  const models = metrics.models || {};
  const nodes = metrics.nodes || {};
  const done = (progress.done ?? summary.done ?? status.journal.done) + (progress.earlier ?? 0);
  const failed = progress.failed ?? summary.failed ?? status.journal.failed;
  const totals = metrics.totals || {};
  const all429 = Object.values(models).reduce((n, m) => n + errorsOf(m, "429"), 0);
  const retries = totals.retries ?? Object.values(models).reduce((n, m) => n + (m.retries || 0), 0);
  const truncated = totals.truncated_replies ?? Object.values(models).reduce((n, m) => n + (m.truncated_replies || 0), 0);
  parts.state.textContent = status.state;
  parts.state.dataset.state = status.state;
  parts.counters.replaceChildren(
    counter("records done", "done", done),
    counter("failed", "failed", failed),
    counter("in flight", "in_flight", progress.in_flight ?? 0),
    counter("total", "total", progress.total ?? "?"),
    counter("records / s", "rate", number.format(progress.rate_per_s ?? 0)),
    counter("time left", "eta", seconds(progress.eta_s)),
    counter("elapsed", "elapsed", seconds(progress.elapsed_s ?? summary.seconds)),
    counter("model calls", "calls", totals.model_calls ?? 0),
    counter("retries", "retries", retries),
    counter("429 answers", "429", all429),
    counter("truncated replies", "truncated", truncated),
    counter("tokens in / out", "tokens", `${totals.prompt_tokens ?? 0} / ${totals.completion_tokens ?? 0}`),
    counter("cost", "cost", money(totals.cost_usd ?? progress.cost_usd)),
  );
  const total = progress.total;
  parts.bar.max = total || 1;
  parts.bar.value = total ? Math.min(total, done + failed) : 0;
  parts.bar.textContent = total ? `${done + failed} of ${total}` : "";
  parts.models.replaceChildren(
    table(
      "Calls per model",
      ["Model", "Calls", "Retries", "429s", "Other errors", "Truncated", "Latency p50/p95/p99 (s)", "Tokens in/out", "Cost"],
      Object.entries(models).map(([name, m]) => {
        const errors = Object.values(m.errors || {}).reduce((a, b) => a + b, 0);
        return [name, m.calls, m.retries, errorsOf(m, "429"), errors - errorsOf(m, "429"), m.truncated_replies ?? 0, percentiles(m.latency_s), `${m.prompt_tokens}/${m.completion_tokens}`, money(m.cost_usd)];
      }),
    ),
  );
  parts.nodes.replaceChildren(
    table(
      "Runs per node",
      ["Node", "Runs", "Failures", "Model calls", "Retries", "429s", "Latency p50/p95/p99 (s)"],
      Object.entries(nodes).map(([name, n]) => [name, n.runs, n.failures, n.model_calls, n.retries, errorsOf(n, "429"), percentiles(n.latency_s)]),
    ),
  );
  const process = status.process;
  parts.log.textContent = process ? [`$ ${process.command.join(" ")}`, ...process.log].join("\n") : "(this run was not started from the Studio)";
  const running = ["running", "starting"].includes(status.state);
  parts.start.disabled = running;
  parts.resume.disabled = running || !["stopped", "died"].includes(status.state);
  parts.overwrite.disabled = running || status.state === "none";
  parts.stop.disabled = !(running && process && process.running);
  const ended = ["finished", "stopped"].includes(status.state);
  parts.outputLink.replaceChildren(ended && status.output ? el("a", { id: "run-output", href: href("output", { task, output: status.output }) }, "Open the output") : "");
}

export async function render(root, params) {
  const path = params.task;
  const retry = ["true", "1"].includes(params.retry);
  root.append(el("h1", {}, retry ? "Retry of the failed records" : "Run"));
  if (!path) {
    root.append(el("p", {}, "Pick a task on the ", el("a", { href: "#/home" }, "workspace"), " page."));
    return;
  }
  const { mock } = await getJSON("/api/tasks");
  const message = el("p", { id: "run-message", role: "status", "aria-live": "polite" });
  const records = el("input", { id: "num-records", name: "num-records", type: "number", min: 1, placeholder: "all" });
  const executor = el("select", { id: "executor", name: "executor" }, el("option", { value: "local" }, "this machine"), el("option", { value: "ray" }, "Ray"));
  const shards = el("input", { id: "num-shards", name: "num-shards", type: "number", min: 1, placeholder: "the cluster's CPUs" });
  const useMock = el("input", { id: "use-mock", name: "use-mock", type: "checkbox", checked: mock, disabled: mock });
  const parts = {
    state: el("strong", { id: "run-state" }, "…"),
    counters: el("div", { class: "counters", id: "counters" }),
    bar: el("progress", { id: "run-progress", "aria-label": "Records finished" }),
    models: el("div", { id: "per-model" }),
    nodes: el("div", { id: "per-node" }),
    log: el("pre", { id: "run-log", "aria-label": "Output of grasp run" }),
    outputLink: el("p", { id: "run-output-link" }),
  };
  if (retry) {
    // a retry runs every failed record again, here, from the start
    for (const input of [records, executor, shards]) input.disabled = true;
  }
  async function send(url, extra = {}) {
    const body = {
      path,
      ...extra,
      executor: executor.value,
      mock: useMock.checked,
    };
    if (retry) body.retry_failures = true;
    if (records.value) body.num_records = Number(records.value);
    if (executor.value === "ray" && shards.value) body.num_shards = Number(shards.value);
    try {
      draw(parts, await postJSON(url, body), path);
      message.textContent = "";
    } catch (error) {
      message.replaceChildren(el("span", { class: "error", role: "alert" }, error.message));
    }
  }
  parts.start = el("button", { type: "button", id: "run-start", onclick: () => send("/api/runs/start") }, "Start");
  parts.stop = el("button", { type: "button", id: "run-stop", class: "secondary", onclick: () => send("/api/runs/stop") }, "Stop (as Ctrl-C)");
  parts.resume = el("button", { type: "button", id: "run-resume", onclick: () => send("/api/runs/start", { resume: true }) }, "Resume");
  const startOver = () => {
    // --overwrite deletes the run's output and journal: never on a single slip
    if (window.confirm("Delete this run's output and journal, and start over?")) send("/api/runs/start", { overwrite: true });
  };
  parts.overwrite = el("button", { type: "button", id: "run-overwrite", class: "secondary", onclick: startOver }, "Start over");
  if (retry) {
    parts.resume.hidden = true;
    parts.overwrite.hidden = true;
  }
  const which = retry ? { path, retry: "true" } : { path };
  root.append(
    el("p", { class: "hint" }, path),
    retry ? el("p", { class: "hint" }, "Only the records the task's run failed, run again under NAME.retry/ beside its output (", el("code", {}, "grasp run --retry-failures"), "); the run's own files are not changed.") : "",
    el(
      "div",
      { class: "panel" },
      el(
        "div",
        { class: "row" },
        el("label", { for: "num-records" }, "Records"),
        records,
        el("label", { for: "executor" }, "Run on"),
        executor,
        el("label", { for: "num-shards" }, "Ray shards"),
        shards,
        useMock,
        el("label", { for: "use-mock" }, "mock models"),
      ),
      el("div", { class: "row" }, parts.start, parts.stop, parts.resume, parts.overwrite),
    ),
    message,
    el("p", {}, "State: ", parts.state),
    parts.outputLink,
    parts.bar,
    parts.counters,
    el("h2", {}, "Per model"),
    parts.models,
    el("h2", {}, "Per node"),
    parts.nodes,
    el("h2", {}, "Output of the run"),
    parts.log,
  );
  draw(parts, await getJSON(withQuery("/api/runs/status", which)), path);
  return events(withQuery("/api/runs/events", which), (status, type) => {
    if (type === "progress") {
      draw(parts, status, path);
    } else if (type === "problem") {
      message.replaceChildren(el("span", { class: "error", role: "alert" }, status.error));
    }
  });
}
