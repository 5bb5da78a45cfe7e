"""The examples gallery page (docs/examples.md), generated from the examples themselves.

``python tools/gallery.py > docs/examples.md`` rewrites it: each entry says once what the
example shows (``Example.shows``; the longer comment at the top of its task file is for
readers of that file), how to run it, and a Mermaid picture of its graph drawn by ``grasp
graph``. A test runs every example and fails when the page is stale.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import anyio

from grasp_core import check_task
from grasp_core.config.task_file import Task
from grasp_core.graph.picture import to_mermaid
from grasp_core.models.catalog import catalog_for_checking

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Example:
    """One gallery entry: a task file and what it shows."""

    title: str
    task: str
    shows: str
    args: str = ""
    """Extra `grasp run` flags the example needs."""
    prepare: str | None = None
    """A command that builds the example's data first, when the data is generated."""


GALLERY: tuple[Example, ...] = (
    Example(
        "Minimal data-less generation",
        "examples/paper_minimal/task.yaml",
        "the paper's first task: no source, one llm node, `--num-records` records",
        args="--num-records 5",
    ),
    Example(
        "Conditional loop with code validation",
        "examples/paper_code_validation/task.yaml",
        "the paper's second task: a conditional edge loops back until a lambda accepts the code",
    ),
    Example(
        "Quickstart: question, answer, critique",
        "examples/quickstart/task.yaml",
        "a fan-out (critique and word count in parallel) and a join at END",
    ),
    Example(
        "MBPP-style coding with generate + critique",
        "examples/mbpp_critique/task.yaml",
        "model-written code tested in an isolated process, then critiqued",
    ),
    Example(
        "Image question answering (B.3)",
        "examples/image_qa/task.yaml",
        "images from a Hugging Face dataset on disk sent to a vision model as data URLs",
    ),
    Example(
        "Audio classification (B.4)",
        "examples/audio_classification/task.yaml",
        "audio clips sent as `input_audio` parts, the reply mapped onto a label set and scored",
    ),
    Example(
        "Text → image → caption",
        "examples/image_chain/task.yaml",
        "an `image` node's pictures stored as files beside the output and read by a vision "
        "model as image parts",
    ),
    Example(
        "Image editing with two inputs",
        "examples/image_edit/task.yaml",
        "two generated images edited into one by an `image` node that names its inputs",
    ),
    Example(
        "Text → speech → transcription",
        "examples/speech_round_trip/task.yaml",
        "a `speech` node's WAV transcribed back to text and compared with the line spoken",
    ),
    Example(
        "A SyGra text-to-image task",
        "examples/sygra_image/task.yaml",
        "SyGra's `output_type: image` on a models-file entry: an `llm` node that draws, unchanged",
    ),
    Example(
        "Research agent with tools",
        "examples/agent_tools/task.yaml",
        "an agent calling Python tools; the tool transcript is kept as training data",
    ),
    Example(
        "Evol-Instruct via the recipe",
        "examples/recipes/evol_instruct.yaml",
        "a shipped subgraph recipe with a weighted sampler choosing the evolution",
    ),
    Example(
        "DPO pairs with multi_llm and a judge",
        "examples/dpo_pairs/task.yaml",
        "two models answering at once, a structured-output judge scoring both, TRL `dpo` rows out",
        args="--format dpo",
    ),
    Example(
        "DPO pairs at batch prices",
        "examples/batch_dpo/task.yaml",
        "batch mode: two of three models through the provider's batch API, records parked "
        "at their nodes while the live model keeps running",
        args="--format dpo",
    ),
    Example(
        "Quality tagging of an OASST-style file",
        "examples/quality_tagging/task.yaml",
        "OpenAssistant message trees read back as conversations, tagged by heuristics and a judge",
    ),
    Example(
        "Curated, carded dataset",
        "examples/curated_dataset/task.yaml",
        "post-process steps after generation: MinHash dedup, decontamination against a local "
        "benchmark, a profile; an hf dataset with its card, task file and provenance",
    ),
    Example(
        "Diverse personas",
        "examples/personas/task.yaml",
        "a weighted sampler drawing attributes reproducibly from weights and a data file",
    ),
    Example(
        "LLM judge loop",
        "examples/recipes/llm_judge.yaml",
        "regenerating until a judge recipe scores the answer high enough",
    ),
    Example(
        "Critique and revise",
        "examples/recipes/critique_revise.yaml",
        "the critique-and-revise recipe as a subgraph",
    ),
)


async def picture(task_file: Path) -> str:
    task = Task.load(task_file)
    return to_mermaid(await check_task(task, catalog_for_checking(None, task.task_dir)))


def gallery_page() -> str:
    parts = [
        "# Examples gallery",
        "",
        "<!-- Generated by `python tools/gallery.py > docs/examples.md`; a test runs every "
        "example below and fails when this page is stale. -->",
        "",
        "Every example runs offline against the bundled mock LLM server (`--mock`); drop "
        "`--mock` and edit its `models.yaml` to use real endpoints. Each is exercised by the "
        "test suite.",
        "",
    ]
    for example in GALLERY:
        task_file = ROOT / example.task
        parts += [f"## {example.title}", "", f"Shows {example.shows}.", "", "```bash"]
        if example.prepare:
            parts.append(example.prepare)
        flags = f"{example.args} --mock --overwrite".strip()
        parts += [f"grasp run {example.task} {flags}", "```", ""]
        parts += ["```mermaid", anyio.run(picture, task_file).rstrip(), "```", ""]
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    print(gallery_page(), end="")
