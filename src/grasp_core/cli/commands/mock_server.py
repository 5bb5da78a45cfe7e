"""``grasp mock-server``: serve the bundled OpenAI-compatible mock in the foreground."""

from __future__ import annotations

import argparse
from pathlib import Path

from grasp_core.cli.options import EXIT_OK, Commands

__all__ = ["FAULT_KINDS", "add_command", "run_command"]

FAULT_KINDS = ("429", "500", "503", "timeout", "drop", "malformed", "empty", "blank")
"""The mock's fault kinds, for ``--help`` without importing the server (a test keeps this
equal to ``grasp_core.mock_server.FAULT_KINDS``)."""


def add_command(commands: Commands) -> None:
    """Register ``grasp mock-server``."""
    mock = commands.add_parser("mock-server", help="serve the bundled OpenAI-compatible mock")
    mock.add_argument(
        "--port", type=int, default=8000, help="port to listen on (default 8000; 0: a free one)"
    )
    mock.add_argument("--host", default="127.0.0.1", help="loopback addresses only")
    mock.add_argument(
        "--latency", default="0", help="seconds, 'fixed:S' or 'lognormal:MEDIAN:SIGMA' (default 0)"
    )
    mock.add_argument(
        "--reply-mode",
        choices=["echo", "lorem"],
        default="echo",
        help="echo: reply with the last user message (default); lorem: 20-60 pseudo-words",
    )
    mock.add_argument(
        "--fault-rate",
        type=float,
        default=0.0,
        help="fraction of requests (0 to 1) answered with a fault from --faults (default 0)",
    )
    mock.add_argument(
        "--faults",
        default="429,500",
        help=f"fault kinds --fault-rate draws from, comma-separated: {', '.join(FAULT_KINDS)} "
        "(default 429,500)",
    )
    mock.add_argument(
        "--seed", type=int, default=0, help="seed for drawing faults and latencies (default 0)"
    )
    mock.add_argument(
        "--max-seconds", type=float, default=3600.0, help="stop by itself after this long"
    )
    mock.add_argument("--request-log", type=Path, help="append every request as a JSON line")
    mock.add_argument(
        "--like",
        choices=["openai", "llamacpp"],
        default="openai",
        help="behave like this server where servers differ (llamacpp: every quirk below)",
    )
    quirks = {
        "reject_null_content": "500 to an assistant tool-call turn with null or no content",
        "reject_json_schema": "500 to response_format json_schema (json_object takes a schema)",
        "raw_newlines": "bare newlines inside the strings of JSON replies and tool arguments",
        "tools_need_choice": "ignore tools unless the request sends tool_choice",
    }
    for name, meaning in quirks.items():
        flag = "--" + name.replace("_", "-")
        mock.add_argument(flag, dest=name, action="store_true", help=meaning)
    batches = {
        "delay": (float, "seconds a batch stays in progress before it ends (default 0)"),
        "fail": (int, "the first N batches to end fail (default 0)"),
        "expire": (int, "the next N batches to end expire (default 0)"),
        "failed_requests": (int, "the first N requests answered inside batches fail (default 0)"),
    }
    for name, (kind, meaning) in batches.items():
        flag = "--batch-" + name.replace("_", "-")
        mock.add_argument(flag, dest="batch_" + name, type=kind, default=kind(0), help=meaning)


def run_command(args: argparse.Namespace) -> int:
    """Serve until stopped (or ``--max-seconds``)."""
    from grasp_core.mock_server import QUIRKS, BatchPlan, Latency, serve_cli

    serve_cli(
        host=args.host,
        port=args.port,
        latency=Latency.parse(args.latency),
        reply_mode=args.reply_mode,
        fault_rate=args.fault_rate,
        faults=tuple(f for f in args.faults.split(",") if f),
        seed=args.seed,
        max_seconds=args.max_seconds,
        request_log_path=args.request_log,
        like=args.like,
        quirks=tuple(name for name in QUIRKS if getattr(args, name)),
        batches=BatchPlan(
            delay=args.batch_delay,
            fail=args.batch_fail,
            expire=args.batch_expire,
            failed_requests=args.batch_failed_requests,
        ),
    )
    return EXIT_OK
