"""Kill-and-resume torture: interrupt a run at random points, resume it, check exactly-once.

    python benchmarks/torture.py [--kills 20] [--records 150] [--seed 0] [--workdir DIR]
    python benchmarks/torture.py --signal SIGINT --kills 4      (graceful stops)

The task's graph has a loop (a conditional back edge around an inline subgraph), a fan-out
whose branches (an ``llm`` node and a subgraph from a file) join again, and seven ``llm`` nodes
whose prompts start with the node's name and the record id, so every request the mock server
logs can be attributed. Steps:

1. run the task once without interruption into ``reference/`` (the reference);
2. start ``python -m grasp_core run TASK --mock-url URL --quiet`` into ``torture/`` and kill it
   with SIGKILL at ``kills`` seeded random points: during start-up (some within milliseconds),
   a random time into the work, or the moment the sink or the journal grows (so a kill lands
   between a sink write and its journal line); after each kill, read the journal and note which
   calls it says are finished; resume with ``--resume`` until a run exits 0;
3. check: the output equals the reference as a set of records; no id lost, no line
   duplicated; no request whose ``node_done`` was in the journal at a kill was sent again
   (a request whose ``node_done`` was not journaled may legitimately repeat).

With ``--signal SIGINT`` each interrupted run must instead exit 130 and print the resume
command on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from grasp_core.mock_server import Latency, MockServer

__all__ = ["torture"]

EXIT_INTERRUPTED = 130
MAX_CONCURRENCY = 8
"""Small on purpose: it stretches a run to a few seconds, so kills land mid-run."""

TASK = """
data_config:
  source: {type: disk, file_path: data.jsonl}
  sink: {type: jsonl, file_path: out/result.jsonl}
graph_config:
  nodes:
    draft:
      node_type: llm
      output_keys: draft
      prompt:
        - user: "draft {id} round {round}: {text}"
      model: {name: m}
    review:
      node_type: subgraph
      graph_config:
        nodes:
          critic:
            node_type: llm
            output_keys: critique
            prompt:
              - user: "critic {id} round {round}: {draft}"
            model: {name: m}
          bump:
            node_type: lambda
            lambda: steps.bump
            output_keys: round
        edges:
          - {from: START, to: critic}
          - {from: critic, to: bump}
          - {from: bump, to: END}
    outline:
      node_type: llm
      output_keys: outline
      prompt:
        - user: "outline {id}: {critique}"
      model: {name: m}
    left:
      node_type: llm
      output_keys: left
      prompt:
        - user: "left {id}: {outline}"
      model: {name: m}
    right:
      node_type: subgraph
      graph: right.yaml
      output_map: {right: answer}
    merge:
      node_type: llm
      output_keys: final
      prompt:
        - user: "merge {id}: {left} | {right}"
      model: {name: m}
  edges:
    - {from: START, to: draft}
    - {from: draft, to: review}
    - from: review
      condition: steps.route
      path_map: {again: draft, done: outline}
    - {from: outline, to: left}
    - {from: outline, to: right}
    - {from: left, to: merge}
    - {from: right, to: merge}
    - {from: merge, to: END}
output_config:
  output_map:
    id: {from: id}
    round: {from: round}
    critique: {from: critique}
    left: {from: left}
    right: {from: right}
    final: {from: final}
    messages: {from: messages}
"""

RIGHT = """
nodes:
  probe:
    node_type: llm
    output_keys: probe
    prompt:
      - user: "probe {id}: {outline}"
    model: {name: m}
  answer:
    node_type: llm
    output_keys: answer
    prompt:
      - user: "answer {id}: {probe}"
    model: {name: m}
edges:
  - {from: START, to: probe}
  - {from: probe, to: answer}
  - {from: answer, to: END}
"""

STEPS = """
def bump(state):
    return state["round"] + 1


def route(state):
    return "again" if state["round"] < state["loops"] else "done"
"""

SINK = Path("out/result.jsonl")
JOURNAL = Path("out/result.journal.jsonl")


def make_task(folder: Path, records: int) -> Path:
    """Write the task folder: task.yaml, right.yaml, steps.py, models.yaml and the data."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(
        json.dumps({"id": f"r{i:04d}", "text": f"text {i}", "round": 0, "loops": 1 + i % 3}) + "\n"
        for i in range(records)
    )
    models = (
        "m:\n  model: openai/m\n  api_base: http://127.0.0.1:1/v1\n"
        f"  max_concurrency: {MAX_CONCURRENCY}\n"
    )
    files = {
        "task.yaml": TASK,
        "right.yaml": RIGHT,
        "steps.py": STEPS,
        "models.yaml": models,
        "data.jsonl": rows,
    }
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return folder / "task.yaml"


# --- reading what a run left behind -----------------------------------------------------------


def journal_events(path: Path) -> Iterator[dict[str, Any]]:
    """The journal's complete lines (a torn last line, from a kill mid-write, is skipped)."""
    if not path.is_file():
        return
    data = path.read_bytes()
    for raw in data[: data.rfind(b"\n") + 1].splitlines():
        if raw.strip():
            yield json.loads(raw)


def journaled_prompts(path: Path) -> set[str]:
    """User prompts of every node run the journal says finished (an llm node's delta holds
    the turns it sent; a subgraph's, those of its inner nodes)."""
    prompts: set[str] = set()
    for event in journal_events(path):
        if event["e"] == "node_done":
            for message in event["d"].get("messages", []):
                if message.get("role") == "user":
                    prompts.add(message["content"])
    return prompts


def committed_offset(path: Path) -> int:
    """Where the output sink's last committed batch ends (0 before any commit)."""
    offset = 0
    for event in journal_events(path):
        token = event.get("tokens", {}).get("output") if event["e"] == "record_done" else None
        if isinstance(token, dict):
            offset = int(token["offset"])
    return offset


def node_done_count(path: Path) -> int:
    if not path.is_file():
        return 0
    return path.read_bytes().count(b'"e":"node_done"')


def read_output(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def prompt_of(request: dict[str, Any]) -> str:
    return str(request["messages"][-1]["content"])


# --- interrupting runs ------------------------------------------------------------------------


WAIT_LIMIT = 60.0
"""Most seconds to wait for a kill point before killing anyway."""


@dataclass
class Plan:
    """When to interrupt one run: after ``delay`` seconds; then, when set, once ``watch``
    grows or once ``journal`` holds ``nodes_done`` node runs, and ``after`` seconds more."""

    mode: str
    delay: float = 0.0
    watch: Path | None = None
    journal: Path | None = None
    nodes_done: int = 0
    after: float = 0.0


@dataclass
class Timings:
    startup: float
    """Seconds from spawning the reference run to its journal's first line."""
    work: float
    """The rest of the reference run."""
    node_runs: int
    """node_done lines in the reference journal."""


@dataclass
class Run:
    plan: str
    returncode: int
    seconds: float
    uncommitted_tail: bool = False
    """Killed between a sink write and the journal line that commits it."""
    torn_journal: bool = False
    """Killed mid-way through a journal line."""
    resume_hint: bool = False
    """Its stderr names ``--resume``."""


KILL_POINTS = {
    "start-up (<50 ms)": 0.1,
    "start-up": 0.15,
    "mid-run": 0.4,
    "sink write": 0.2,
    "journal write": 0.15,
}
"""Share of the kills aimed at each kind of point (each gets at least one when kills >= 5)."""


def kill_schedule(rng: random.Random, kills: int) -> list[str]:
    """Which kind of point each kill aims at, in a seeded random order."""
    kinds = [k for k, share in KILL_POINTS.items() for _ in range(max(1, round(share * kills)))]
    kinds += ["mid-run"] * (kills - len(kinds))
    rng.shuffle(kinds)
    return kinds[:kills] if kills >= len(KILL_POINTS) else rng.sample(kinds, kills)


def plan_kill(kind: str, rng: random.Random, timings: Timings, kills: int, out_dir: Path) -> Plan:
    """A random point of the given kind: start-up (interpreter, imports, journal and sink
    restore), a random moment of the work, or the moment the sink or the journal grows."""
    per_kill = timings.work / max(kills, 1)
    if kind == "start-up (<50 ms)":
        return Plan(kind, delay=rng.uniform(0.0, 0.05))
    if kind == "start-up":
        return Plan(kind, delay=rng.uniform(0.05, timings.startup))
    if kind == "mid-run":
        return Plan(kind, delay=timings.startup + rng.uniform(0.0, 2.0 * per_kill))
    target = SINK if kind == "sink write" else JOURNAL
    return Plan(kind, delay=timings.startup + rng.uniform(0.0, per_kill), watch=out_dir / target)


def plan_stop(rng: random.Random, timings: Timings, stops: int, out_dir: Path) -> Plan:
    """A graceful stop once the journal shows more progress (so the run's signal handler is
    installed: a SIGINT during start-up is an ordinary KeyboardInterrupt)."""
    journal = out_dir / JOURNAL
    step = max(1, timings.node_runs // (stops + 2))
    target = node_done_count(journal) + rng.randint(1, step)
    return Plan("after progress", journal=journal, nodes_done=target, after=rng.uniform(0, 0.1))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return -1


def interrupt(proc: subprocess.Popen[bytes], plan: Plan, sig: int) -> None:
    """Wait as ``plan`` says, then send ``sig`` to ``proc`` (unless it exited by itself)."""
    deadline = time.monotonic() + WAIT_LIMIT
    try:
        proc.wait(timeout=plan.delay)
        return
    except subprocess.TimeoutExpired:
        pass
    if plan.watch is not None:
        last = _size(plan.watch)
        while proc.poll() is None and time.monotonic() < deadline:
            size = _size(plan.watch)
            if size > last:
                break
            last = size
            time.sleep(0.0002)
    if plan.journal is not None:
        while proc.poll() is None and time.monotonic() < deadline:
            if node_done_count(plan.journal) >= plan.nodes_done:
                break
            time.sleep(0.005)
    if plan.after:
        time.sleep(plan.after)
    proc.send_signal(sig)


# --- the torture ------------------------------------------------------------------------------


@dataclass
class _State:
    runs: list[Run] = field(default_factory=list)
    marks: list[tuple[int, set[str]]] = field(default_factory=list)
    """For each interruption: the request log's length then, and the prompts the journal
    then held as finished (none of them may be sent again afterwards)."""


def _env() -> dict[str, str]:
    src = str(Path(__file__).resolve().parents[1] / "src")
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": src + (os.pathsep + path if path else "")}


def _command(task: Path, url: str, out_dir: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "grasp_core",
        "run",
        str(task),
        "--mock-url",
        url,
        "--output-dir",
        str(out_dir),
        "--quiet",
        "--no-cache",  # every call reaches the server, whose log proves exactly-once
    ]


def _reference(task: Path, url: str, out_dir: Path) -> Timings:
    journal = out_dir / JOURNAL
    started = time.monotonic()
    proc = subprocess.Popen(_command(task, url, out_dir), env=_env(), stderr=subprocess.PIPE)
    startup = None
    while proc.poll() is None:
        if startup is None and journal.is_file() and journal.stat().st_size > 0:
            startup = time.monotonic() - started
        time.sleep(0.002)
    _, stderr = proc.communicate()
    total = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"the reference run failed ({proc.returncode}): {stderr.decode()}")
    startup = startup if startup is not None else total / 2
    return Timings(startup, max(total - startup, 0.05), node_done_count(journal))


def torture(
    kills: int,
    records: int,
    seed: int,
    workdir: Path,
    *,
    sig: int = signal.SIGKILL,
    max_seconds: float = 600.0,
) -> dict[str, Any]:
    """Interrupt a run ``kills`` times with ``sig``, resume it to the end, and compare it
    with an uninterrupted reference run. Returns the counts the table shows.

    With ``signal.SIGINT`` (or SIGTERM) each interrupted run must exit 130 and name
    ``--resume`` on stderr; otherwise it is killed at random points, start-up included.
    """
    graceful = sig != signal.SIGKILL
    workdir = Path(workdir)
    task = make_task(workdir / "task", records)
    rng = random.Random(seed)
    ref_dir, out_dir = workdir / "reference", workdir / "torture"
    server = MockServer(latency=Latency.lognormal(median=0.02, sigma=0.5), seed=seed)
    state = _State()
    started = time.monotonic()
    with server.running() as url:
        timings = _reference(task, url, ref_dir)
        reference_requests = len(server.requests())
        cmd = _command(task, url, out_dir)
        schedule = kill_schedule(rng, kills)
        while True:
            if time.monotonic() - started > max_seconds:
                raise RuntimeError(f"torture did not finish within {max_seconds:g}s")
            plan = None
            interrupts = len(state.marks)
            if interrupts < kills:
                plan = (
                    plan_stop(rng, timings, kills, out_dir)
                    if graceful
                    else plan_kill(schedule[interrupts], rng, timings, kills, out_dir)
                )
            run = _one_run([*cmd, "--resume"] if state.runs else cmd, plan, sig)
            state.runs.append(run)
            if run.returncode == 0:
                break
            journal, sink = out_dir / JOURNAL, out_dir / SINK
            run.torn_journal = journal.is_file() and not journal.read_bytes().endswith(b"\n")
            run.uncommitted_tail = _size(sink) > committed_offset(journal)
            state.marks.append((len(server.requests()), journaled_prompts(journal)))
        log = server.requests()
    return _report(state, log, reference_requests, ref_dir, out_dir, records, started)


def _one_run(cmd: list[str], plan: Plan | None, sig: int) -> Run:
    """Run ``cmd`` (interrupted as ``plan`` says); an exit other than 0 or the signal's is
    an error."""
    expected = -signal.SIGKILL if sig == signal.SIGKILL else EXIT_INTERRUPTED
    started = time.monotonic()
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(cmd, env=_env(), stderr=errors)
        if plan is not None:
            interrupt(proc, plan, sig)
        code = proc.wait(timeout=120)
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    run = Run(plan.mode if plan else "to the end", code, time.monotonic() - started)
    if code not in (0, expected):
        raise RuntimeError(f"a run ({run.plan}) exited {code}, not 0 or {expected}:\n{stderr}")
    run.resume_hint = "--resume" in stderr
    return run


def _report(
    state: _State,
    log: list[dict[str, Any]],
    reference_requests: int,
    ref_dir: Path,
    out_dir: Path,
    records: int,
    started: float,
) -> dict[str, Any]:
    """Compare the tortured run with the reference. ``log`` is the mock server's whole request
    log: the reference run's ``reference_requests`` first, then the tortured runs'."""
    repeated: set[str] = set()
    for mark, finished in state.marks:
        repeated.update(p for p in map(prompt_of, log[mark:]) if p in finished)
    reference = {r["id"]: r for r in read_output(ref_dir / SINK)}
    lines = read_output(out_dir / SINK)
    output = {r["id"]: r for r in lines}
    requests = log[reference_requests:]
    sent = Counter(map(prompt_of, requests))
    reference_prompts = set(map(prompt_of, log[:reference_requests]))
    result = {
        "runs": len(state.runs),
        "kills": sum(1 for r in state.runs if r.returncode != 0),
        "records": records,
        "reference_records": len(reference),
        "output_records": len(output),
        "lost": len(set(reference) - set(output)),
        "extra": len(set(output) - set(reference)),
        "duplicated": len(lines) - len(output),
        "mismatched": sum(1 for k, v in output.items() if k in reference and reference[k] != v),
        "equal_to_reference": output == reference and len(lines) == len(reference),
        "repeated_journaled_calls": len(repeated),
        "repeated_examples": sorted(repeated)[:5],
        "requests": len(requests),
        "reference_requests": reference_requests,
        "repeated_unjournaled_calls": sum(n - 1 for n in sent.values()),
        "prompts_not_in_reference": len(set(sent) - reference_prompts),
        "reference_prompts_never_sent": len(reference_prompts - set(sent)),
        "failures_lines": len(read_output(out_dir / "out/result.failures.jsonl")),
        "kills_with_uncommitted_sink_tail": sum(r.uncommitted_tail for r in state.runs),
        "kills_with_torn_journal_line": sum(r.torn_journal for r in state.runs),
        "stops_without_resume_hint": sum(
            1 for r in state.runs if r.returncode == EXIT_INTERRUPTED and not r.resume_hint
        ),
        "kill_points": dict(Counter(r.plan for r in state.runs if r.returncode != 0)),
        "exit_codes": dict(Counter(r.returncode for r in state.runs)),
        "seconds": round(time.monotonic() - started, 1),
    }
    print_table(result)
    return result


def print_table(result: dict[str, Any]) -> None:
    rows = [
        ("runs", result["runs"]),
        ("kills", result["kills"]),
        ("records", result["records"]),
        ("lost", result["lost"]),
        ("duplicated", result["duplicated"]),
        ("extra / mismatched", f"{result['extra']} / {result['mismatched']}"),
        ("equal to reference", result["equal_to_reference"]),
        ("repeated journaled calls", result["repeated_journaled_calls"]),
        ("requests (reference)", f"{result['requests']} ({result['reference_requests']})"),
        ("repeated unjournaled calls", result["repeated_unjournaled_calls"]),
        ("kills w/ uncommitted tail", result["kills_with_uncommitted_sink_tail"]),
        ("kills w/ torn journal line", result["kills_with_torn_journal_line"]),
        ("stops without --resume hint", result["stops_without_resume_hint"]),
        ("exit codes", ", ".join(f"{k}: {v}" for k, v in sorted(result["exit_codes"].items()))),
        ("kill points", ", ".join(f"{k}: {v}" for k, v in sorted(result["kill_points"].items()))),
        ("seconds", result["seconds"]),
    ]
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--records", type=int, default=150)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workdir", type=Path, help="default: a temporary folder")
    parser.add_argument("--signal", default="SIGKILL", choices=["SIGKILL", "SIGINT", "SIGTERM"])
    args = parser.parse_args()
    sig = getattr(signal, args.signal)
    with tempfile.TemporaryDirectory(prefix="grasp-torture-") as tmp:
        workdir = args.workdir or Path(tmp)
        result = torture(args.kills, args.records, args.seed, workdir, sig=sig)
    problems = sum(
        result[key]
        for key in (
            "lost",
            "duplicated",
            "repeated_journaled_calls",
            "stops_without_resume_hint",
            "prompts_not_in_reference",
            "reference_prompts_never_sent",
        )
    )
    ok = result["equal_to_reference"] and problems == 0
    print("  OK" if ok else "  FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
