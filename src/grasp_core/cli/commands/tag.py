"""``grasp tag``: add quality tags to an existing dataset.

The command builds a task (source = the input, one ``quality`` node, sink = the output) and
runs it like any other, so it resumes after a crash and accounts for every failed record.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

from grasp_core.cli.options import (
    EXIT_FAILED_RECORDS,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    add_dataset_arguments,
    run_options,
)
from grasp_core.cli.rerun import command_line

__all__ = ["add_command", "interrupted_message", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp tag`` on the CLI's subcommands."""
    cmd = commands.add_parser(
        "tag",
        help="add quality tags (heuristics, LLM judge) to an existing dataset",
        description="Tag every record of INPUT under `quality` and write the result to OUT.",
    )
    add_dataset_arguments(cmd, output_help="the tagged dataset")
    cmd.add_argument(
        "--tasks",
        action="append",
        metavar="TASKS",
        help="heuristics and/or judge, comma-separated (default: heuristics)",
    )
    cmd.add_argument("--messages-field", help="the role/content list (default: conversation)")
    cmd.add_argument(
        "--prompt-field", action="append", default=[], help="a field holding the user's text"
    )
    cmd.add_argument(
        "--response-field", action="append", default=[], help="a field holding the reply"
    )
    cmd.add_argument(
        "--expects-json",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="responses must be JSON (default: when the prompt mentions JSON)",
    )
    cmd.add_argument("--judge-model", default="judge", help="model name the judge calls")
    cmd.add_argument("--judge-graph", help="another judge graph (YAML file or dotted path)")
    cmd.add_argument("--models", type=Path, help="models file (default: $GRASP_MODELS)")
    cmd.add_argument("--mock", action="store_true", help="route every model to a bundled mock")
    cmd.add_argument("--mock-url", help="route every model to this running mock server")
    cmd.add_argument("--num-records", type=int, help="tag at most this many records")
    cmd.add_argument("--start-index", type=int, help="skip this many records first")
    cmd.add_argument("--window", type=int, help="most records in flight at once")
    cmd.add_argument("--resume", action="store_true", help="continue an interrupted tagging")
    cmd.add_argument("--overwrite", action="store_true", help="replace an earlier output")
    cmd.add_argument(
        "--allowed-failures",
        type=float,
        help="failure budget: a count, or a fraction below 1 (exit 0 within it)",
    )
    cmd.add_argument("--quiet", action="store_true", help="print no summary")


def run_command(args: argparse.Namespace) -> int:
    """Build the tagging task from the options, check the input's fields, and run it."""
    from grasp_core.api import run_task
    from grasp_core.runs.dataset_files import refuse_input_as_output, sink_block, source_block
    from grasp_core.runs.layout import RunLayout
    from grasp_core.runs.quality import parse_tasks
    from grasp_core.runs.tagging import check_tag_fields, nothing_committed, tag_task

    tasks = parse_tasks(args.tasks) if args.tasks else ("heuristics",)
    if "judge" in tasks and not (args.mock or args.mock_url or args.judge_graph):
        _check_judge_model(args.models, args.judge_model)
    source = source_block(args.input, args.source)
    sink = sink_block(args.output, args.output_format)
    refuse_input_as_output(source, sink, Path.cwd(), output_arg=args.output)
    quality: dict[str, Any] = {"tasks": list(tasks), "judge_model": args.judge_model}
    optional = {
        "messages_field": args.messages_field,
        "prompt_fields": args.prompt_field,
        "response_fields": args.response_field,
        "expects_json": args.expects_json,
        "judge_graph": args.judge_graph,
    }
    quality.update({k: v for k, v in optional.items() if v not in (None, [])})
    check_tag_fields(source, quality, base_dir=Path.cwd(), start=args.start_index or 0)
    task = tag_task(source, sink, quality, task_dir=Path.cwd(), name=Path(sink["file_path"]).stem)
    options = run_options(args)
    if not (args.resume or args.overwrite) and nothing_committed(RunLayout.of(task).journal_path):
        # an earlier tagging tagged nothing: its files are replaced, not in the way
        options = dataclasses.replace(options, overwrite=True)
    result = run_task(task, options)
    if not args.quiet:
        print(f"grasp tag: tagged {result.done}, failed {result.failed}", end="")
        print(f", finished earlier {result.previously_done}" if result.previously_done else "")
        for path in result.output_paths:
            print(f"  output    {path}")
        for path in result.unfinished_outputs:
            print(f"  output    {path} (unfinished: --resume completes it)")
        if result.failed:
            print(f"  failures  {result.failures_path}")
            for reason, count in sorted(result.failure_reasons.items(), key=lambda kv: -kv[1])[:5]:
                print(f"    {count} × {reason}")
    if result.interrupted:
        this_run = result.done + result.failed + result.filtered
        print(
            f"grasp: stopped early; {result.finished_total} records committed ({this_run} by "
            f"this run). {_resume_hint(args)}",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok else EXIT_FAILED_RECORDS


def _check_judge_model(models: Path | None, judge_model: str) -> None:
    """The judge calls one model, by name, for every rubric: say once, before anything is
    built, how to give it one (rather than once per rubric node that calls it)."""
    from grasp_core.errors import ConfigError
    from grasp_core.models.catalog import ModelCatalog, find_models_file

    path = find_models_file(models, Path.cwd())
    offline = "--mock (the bundled mock server: offline, nothing billed)"
    if path is None:
        raise ConfigError(
            f"--tasks judge calls the model {judge_model!r}, and no models file was found "
            f"(--models, $GRASP_MODELS, ./models.yaml): pass {offline}, or --models FILE "
            f"with an entry {judge_model!r} (or --judge-model NAME for another of its entries)"
        )
    known = ModelCatalog.load(path).specs
    if judge_model not in known:
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(
            f"--tasks judge calls the model {judge_model!r}, which {path} does not have "
            f"(it has: {names}): pass --judge-model NAME, or add an entry {judge_model!r}, "
            f"or pass {offline}"
        )


def interrupted_message(args: argparse.Namespace) -> str:
    """What ``grasp`` prints when Ctrl-C or SIGTERM lands outside the tagging run itself."""
    return f"grasp: interrupted. {_resume_hint(args)}"


def _resume_hint(args: argparse.Namespace) -> str:
    """The command that continues the tagging: the same flags, with ``--resume``."""
    again = command_line(args, add_command, first=["--resume"], without={"--resume", "--overwrite"})
    return f"Continue with:\n  {again}"
