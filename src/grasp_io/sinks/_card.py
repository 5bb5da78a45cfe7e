"""The dataset card (``README.md``) the ``hf`` sink writes beside the data, and the task
file it ships with it.

The card's metadata is Hugging Face's (license, task categories, size category,
languages, tags, and ``configs`` naming the split's files where they are: the
``data-*.arrow`` files of a ``save_to_disk`` folder in the folder's card, the parquet shards
``push_to_hub`` uploads in the pushed one); its text says what the dataset holds and, when
the run handed the sink its provenance (``set_provenance``), how it was made: GraSP's
version, the task, the seed, the sources, the dates, calls, tokens and cost, the models, and
the task file itself (secrets masked), saved as ``task.yaml`` so ``grasp run task.yaml``
makes the dataset again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field

from grasp_core.plugin import StrictModel

__all__ = ["SAVED_DATA_FILES", "TASK_FILE", "HfCardConfig", "render_card", "size_category"]

TASK_FILE = "task.yaml"
"""The task file's name beside the card."""
SAVED_DATA_FILES = "data-*.arrow"
"""The data files ``Dataset.save_to_disk`` writes into a dataset folder."""

_SIZES = (
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
)


class HfCardConfig(StrictModel):
    """The dataset card (`README.md`) the `hf` sink writes with the data."""

    enabled: bool = True
    """Write the card and `task.yaml` (on `save_to_disk` and `push_to_hub`)."""
    pretty_name: str | None = None
    """The card's title. Default: the repository or folder name."""
    description: str | None = None
    """A paragraph on what the dataset is for."""
    license: str | None = None
    """An SPDX-style license id the hub knows (`mit`, `apache-2.0`, `cc-by-4.0`, `other`)."""
    task_categories: list[str] = Field(default_factory=list)
    """Hub task categories (`text-generation`, `question-answering`...)."""
    language: list[str] = Field(default_factory=list)
    """ISO 639-1 codes of the dataset's languages (`en`)."""
    tags: list[str] = Field(default_factory=lambda: ["synthetic", "grasp"])
    """Hub tags."""


def size_category(rows: int) -> str:
    """The hub's size category for ``rows`` records."""
    for bound, name in _SIZES:
        if rows < bound:
            return name
    return "n>1B"


def render_card(
    config: HfCardConfig,
    *,
    title: str,
    split: str,
    rows: int,
    columns: Mapping[str, str],
    provenance: Mapping[str, Any] | None,
    data_files: str,
) -> str:
    """The card's text: YAML metadata between ``---`` lines, then markdown. ``data_files``:
    the glob, relative to the card, of the split's files."""
    from huggingface_hub import DatasetCardData

    data = DatasetCardData(
        license=config.license,
        task_categories=config.task_categories or None,
        language=config.language or None,
        size_categories=[size_category(rows)],
        tags=config.tags or None,
        pretty_name=config.pretty_name or title,
        configs=[{"config_name": "default", "data_files": [{"split": split, "path": data_files}]}],
    )
    name = config.pretty_name or title
    parts = [
        f"---\n{data.to_yaml()}\n---",
        f"# {name}",
        config.description
        or "A synthetic dataset generated with [GraSP](https://pypi.org/project/grasp-sdg/).",
        "## Dataset structure",
        f"One split, `{split}`, of {rows:,} records with these columns:",
        "\n".join(f"- `{column}`: {kind}" for column, kind in columns.items()),
    ]
    if provenance:
        parts.extend(_made(provenance))
    return "\n\n".join(parts) + "\n"


def _made(provenance: Mapping[str, Any]) -> list[str]:
    task = provenance.get("task", {})
    run = provenance.get("run", {})
    usage = provenance.get("usage", {})
    sources = provenance.get("sources") or []
    rows = [
        ("GraSP version", provenance.get("grasp_version")),
        ("task", task.get("name")),
        ("seed", provenance.get("seed")),
        ("sources", "; ".join(_source(source) for source in sources) or "none (data-less)"),
        ("started", run.get("started")),
        ("finished", run.get("finished")),
        ("model calls", usage.get("model_calls")),
        ("prompt tokens", usage.get("prompt_tokens")),
        ("completion tokens", usage.get("completion_tokens")),
        ("cost (USD)", _dollars(usage.get("cost_usd"))),
    ]
    table = "| | |\n|---|---|\n" + "\n".join(
        f"| {label} | {_cell(value)} |" for label, value in rows
    )
    models = provenance.get("models") or {}
    listed = "\n".join(f"- `{name}`: `{spec.get('model')}`" for name, spec in models.items())
    made = ["## How it was made", table]
    if listed:
        made.extend(["Models (from the models file, without keys):", listed])
    yaml_text = str(task.get("yaml") or "")
    if yaml_text:
        fence = "````" if "```" in yaml_text else "```"
        made.extend(
            [
                "## Reproduce",
                f"The task file is `{TASK_FILE}` beside this card (secrets masked). With its "
                "data files and a models file beside it, `grasp run "
                f"{TASK_FILE} --seed {provenance.get('seed', 0)}` makes the dataset again.",
                f"{fence}yaml\n{yaml_text.rstrip()}\n{fence}",
            ]
        )
    return made


def _source(source: Mapping[str, Any]) -> str:
    return ", ".join(f"{key} `{value}`" for key, value in source.items())


def _dollars(value: Any) -> str | None:
    return f"{value:.6f}" if isinstance(value, int | float) else None


def _cell(value: Any) -> str:
    return "n/a" if value is None else str(value).replace("|", "\\|")
