"""``grasp curate``: run post-process steps (dedup...) over any dataset, into a curated copy
and a report of every record removed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grasp_core.cli.options import EXIT_FAILED_RECORDS, EXIT_OK, Commands, add_dataset_arguments

__all__ = ["add_command", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp curate`` on the CLI's subcommands."""
    cmd = commands.add_parser(
        "curate",
        help="run post-process steps (dedup...) over a dataset",
        description=(
            "Run the steps of a steps file over INPUT, in order, and write the records kept to "
            "--output and every record removed, with the step, the reason and the details, "
            "to OUT.removed.jsonl beside it. The same steps as a task's `post_process`. "
            "INPUT is only read; a post-process stopped half-way writes nothing and starts "
            "again from scratch."
        ),
    )
    add_dataset_arguments(cmd, output_help="where the curated records go")
    cmd.add_argument(
        "--steps",
        type=Path,
        required=True,
        metavar="YAML",
        help="the steps: a YAML list (`- dedup: {method: minhash, fields: [text]}`), or a file "
        "with `post_process:` or `graph_post_process:` as in a task",
    )
    cmd.add_argument(
        "--models",
        type=Path,
        help="models file, for steps that call a model such as embedding_dedup (default: "
        "$GRASP_MODELS, then models.yaml beside the steps file)",
    )
    cmd.add_argument("--mock", action="store_true", help="route every model to a bundled mock")
    cmd.add_argument("--mock-url", help="route every model to this running mock server")
    cmd.add_argument("--overwrite", action="store_true", help="replace an existing output")
    cmd.add_argument("--quiet", action="store_true", help="print no counts")


def run_command(args: argparse.Namespace) -> int:
    """Check the steps and the files first (nothing is read before), then stream."""
    from grasp_core.errors import ConfigError
    from grasp_core.models.catalog import ModelCatalog, find_models_file
    from grasp_core.postprocess import CurationTarget, curate, load_steps_file
    from grasp_core.runs.catalog import mock_server_for
    from grasp_core.runs.dataset_files import (
        open_source,
        refuse_input_as_output,
        sink_block,
        source_block,
    )

    steps = load_steps_file(args.steps)
    here = args.steps.resolve().parent
    source = source_block(args.input, args.source)
    sink = sink_block(args.output, args.output_format)
    target = CurationTarget.at(sink, Path(sink["file_path"]))
    for written in (sink, {**sink, "file_path": str(target.removed_path)}):
        refuse_input_as_output(source, written, Path.cwd(), output_arg=written["file_path"])
    if target.output.exists() and not args.overwrite:
        raise ConfigError(f"--output {str(args.output)!r} exists; pass --overwrite to replace it")
    reader = open_source(source, Path.cwd())
    models = ModelCatalog.load(found) if (found := find_models_file(args.models, here)) else None
    with mock_server_for(args.mock_url or args.mock) as mock_url:
        result = curate(
            reader.iter_records(),
            steps,
            target,
            base_dir=here,
            models=(models or ModelCatalog()).with_mock(mock_url) if mock_url else models,
            metadata={"output_file": str(source.get("file_path", target.output))},
        )
    if not args.quiet:
        print(f"grasp curate: kept {result.kept} of {result.read}, removed {result.removed}")
        for step in result.steps:
            print(f"  {step.name:<16} removed {step.removed} of {step.seen}")
            if step.results.get("headline"):
                print(f"    {step.results['headline']}")
        for path in result.output_paths:
            print(f"  output           {path}")
        print(f"  removed records  {result.removed_path}")
        for path in result.files:
            print(f"  file             {path}")
    if not result.output_paths:
        print(
            f"grasp curate: no record kept, so no file was written at {str(target.output)!r}",
            file=sys.stderr,
        )
    if result.unreadable:
        print(
            f"grasp curate: {result.unreadable} input record(s) could not be read; they are in "
            f"{result.removed_path} under the step `read`",
            file=sys.stderr,
        )
        return EXIT_FAILED_RECORDS
    return EXIT_OK
