"""The code blocks of the docs pages, and what the page source says to do with each.

A page is followed the way a reader follows it, top to bottom in one folder:

- a block with a title (```` ```python title="steps.py" ````, any language) is a file the
  reader saves: it is written under that name when reached (a titled Python file is then
  also run, so a broken module shows up where it is written);
- an untitled ``python`` block is a script: it runs there and must exit 0;
- a ``bash`` block with a ``grasp`` command runs under ``bash -eu`` (``--mock`` makes the
  commands offline); other shell blocks (install steps, ``git``, ``nox``) are not run;
- other untitled blocks (YAML fragments, JSON output, text) are illustrations.

An HTML comment on the line before the fence changes that, visibly in the page source:

- ``<!-- docs-test: skip: REASON -->``: not run, for the reason given (it cannot run
  offline, needs a cluster, waits for Ctrl-C...);
- ``<!-- docs-test: requires: COMMAND -->``: skipped when ``COMMAND`` is not installed;
- ``<!-- docs-test: exits: CODE -->``: the block ends with this exit code (a run the page
  shows failing records exits 1);
- ``<!-- docs-test: merge: FILE -->``: a YAML block whose top-level keys replace those of
  ``FILE``, written by an earlier block (a "replace output_config" step).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO_ROOT

DOCS = REPO_ROOT / "docs"
FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?P<attrs>[^\n`]*)$")
TITLE = re.compile(r'title="(?P<title>[^"]+)"')
MARKER = re.compile(
    r"^<!-- docs-test: (?P<action>skip|requires|exits|merge)(?::\s*(?P<arg>.*?))?\s*-->$"
)
SHELLS = ("bash", "sh", "shell", "console")
UNSAFE = re.compile(r"^\s*(?:sudo\s+)?(pip|git|nox|ray|apt|apt-get|curl|wget|rm|kill)\b", re.M)
"""Commands a test must never run for a reader's page (they install, fetch, start
clusters or delete): a ``grasp`` block holding one must be marked skipped."""


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: str
    """The page, relative to the repository root."""
    line: int
    """The line of the opening fence (1-based)."""
    lang: str
    title: str | None
    code: str
    action: str | None = None
    """The ``docs-test`` marker's action before the fence: skip, requires, exits or merge."""
    arg: str | None = None
    """The marker's argument: the reason to skip, the command required, the file merged into."""

    @property
    def where(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def is_script(self) -> bool:
        return self.lang == "python" and self.title is None

    @property
    def is_grasp_shell(self) -> bool:
        return self.lang in SHELLS and any(
            line.lstrip().startswith("grasp ") for line in self.code.splitlines()
        )

    @property
    def unsafe(self) -> str | None:
        """The first command of a shell block that the tests refuse to run, if any."""
        found = UNSAFE.search(self.code) if self.lang in SHELLS else None
        return found[1] if found else None

    @property
    def runs(self) -> bool:
        """Whether following the page executes this block (as opposed to only reading it)."""
        return (
            self.is_script
            or self.is_grasp_shell
            or self.action == "merge"
            or (self.lang == "python" and bool(self.title))
        )


def page_blocks(page: Path) -> list[Block]:
    """The fenced blocks of ``page`` in order, each with the marker right before it."""
    lines = page.read_text(encoding="utf-8").splitlines()
    name = page.relative_to(REPO_ROOT).as_posix()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        fence = FENCE.match(lines[index])
        if fence is None:
            index += 1
            continue
        end = next(
            (i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), len(lines)
        )
        previous = lines[index - 1].strip() if index else ""
        marker = MARKER.match(previous)
        title = TITLE.search(fence["attrs"])
        blocks.append(
            Block(
                page=name,
                line=index + 1,
                lang=fence["lang"],
                title=title["title"] if title else None,
                code="\n".join(lines[index + 1 : end]) + "\n",
                action=marker["action"] if marker else None,
                arg=marker["arg"] if marker else None,
            )
        )
        index = end + 1
    return blocks


def docs_pages() -> list[Path]:
    """Every Markdown page of the site."""
    return sorted(DOCS.rglob("*.md"))


def markers_without_a_block() -> list[str]:
    """``docs-test`` comments, outside code blocks, that do not stand right before a fence (a
    typo, a blank line in between, a marker whose block was removed): each would silently do
    nothing."""
    stray = []
    for page in docs_pages():
        lines = page.read_text(encoding="utf-8").splitlines()
        in_block = False
        for number, line in enumerate(lines, start=1):
            if FENCE.match(line):
                in_block = not in_block
                continue
            if in_block or not line.strip().startswith("<!-- docs-test"):
                continue
            follows_fence = number < len(lines) and FENCE.match(lines[number]) is not None
            if MARKER.match(line.strip()) is None or not follows_fence:
                stray.append(f"{page.relative_to(REPO_ROOT)}:{number}: {line.strip()}")
    return stray
