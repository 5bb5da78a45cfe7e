"""``grasp filter``: keep the records of a dataset that meet every ``--where`` condition."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grasp_core.cli.options import Commands, add_dataset_arguments

__all__ = ["add_command", "run_command"]


def add_command(commands: Commands) -> None:
    """Register ``grasp filter`` on the CLI's subcommands."""
    cmd = commands.add_parser(
        "filter",
        help="keep the records that meet thresholds (quality.overall >= 4)",
        description=(
            "Write the records of INPUT that meet every --where condition. A condition is "
            "PATH OP VALUE: a dotted path into the record, one of == != < <= > >= in "
            '\'not in\', and a JSON literal (4, 0.5, "en", true, null, ["en", "fr"]).'
        ),
    )
    add_dataset_arguments(cmd, output_help="where the kept records go")
    cmd.add_argument(
        "--where",
        action="append",
        required=True,
        metavar="CONDITION",
        help="PATH OP VALUE, e.g. 'quality.overall >= 4'; repeat to require several",
    )
    cmd.add_argument(
        "--annotations",
        metavar="FILE",
        help="review annotations to filter by (annotation.verdict, annotation.rating) and "
        "whose edits the kept records get; default: INPUT's NAME.annotations.jsonl if any",
    )
    cmd.add_argument("--overwrite", action="store_true", help="replace an existing output")
    cmd.add_argument("--quiet", action="store_true", help="print no counts")


def run_command(args: argparse.Namespace) -> int:
    """Parse every condition first (a bad one stops before anything is read), then stream."""
    from grasp_core.errors import ConfigError
    from grasp_core.runs.annotations import read_annotations
    from grasp_core.runs.dataset_files import refuse_input_as_output, sink_block, source_block
    from grasp_core.runs.filtering import filter_dataset, parse_condition

    conditions = [parse_condition(text) for text in args.where]
    source = source_block(args.input, args.source)
    sink = sink_block(args.output, args.output_format)
    output = Path(sink["file_path"])
    refuse_input_as_output(source, sink, Path.cwd(), output_arg=args.output)
    if output.exists() and not args.overwrite:
        raise ConfigError(f"--output {str(args.output)!r} exists; pass --overwrite to replace it")
    reviews = _annotations(args)
    result = filter_dataset(
        source,
        sink,
        conditions,
        base_dir=Path.cwd(),
        annotations=None if reviews is None else read_annotations(reviews),
    )
    if not args.quiet:
        if reviews is not None:
            print(f"grasp filter: annotations from {reviews}")
        total = result.kept + result.dropped
        print(f"grasp filter: kept {result.kept} of {total}, dropped {result.dropped}")
        for text, count in result.dropped_by.items():
            print(f"  {count} × failed {text!r}")
        for path in result.output_paths:
            print(f"  output  {path}")
    if not result.output_paths:
        print(
            f"grasp filter: no record kept, so no file was written at {str(output)!r} (the "
            f"{sink['type']} sink writes no file without rows)",
            file=sys.stderr,
        )
    if result.unreadable:
        print(
            f"grasp filter: {result.unreadable} input record(s) could not be read and were "
            "not written:",
            file=sys.stderr,
        )
        for error in result.errors:
            print(f"  {error}", file=sys.stderr)
        return 1
    return 0


def _annotations(args: argparse.Namespace) -> Path | None:
    """``--annotations FILE`` (which must exist), else ``NAME.annotations.jsonl`` beside
    INPUT when the Studio's review wrote one, else none."""
    from grasp_core.errors import ConfigError
    from grasp_core.runs.annotations import annotations_beside

    if args.annotations is not None:
        path = Path(args.annotations)
        if not path.is_file():
            raise ConfigError(f"--annotations {args.annotations!r} is not a file; check the path")
        return path
    if args.input is None:
        return None
    beside = annotations_beside(Path(args.input))
    return beside if beside.is_file() else None
