"""``grasp convert sygra``: files and modules of SyGra's tree found from a task's folder, and
data paths written from SyGra's repository root made relative to it.

SyGra runs from its repository root, so its tasks name files as ``tasks/examples/x/data.json``
(some even as an absolute path from the author's machine); GraSP resolves a task's files from
the task's folder. A source's or sink's ``file_path`` and the local media paths inside a
source's JSON or JSONL records are rewritten when the file they name is found in the tree
being converted. Each change is listed as a note of the conversion, never made silently.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["SHARED", "PathRebaser", "TreeModules", "find_in_tree"]

SHARED = "_sygra_shared"
"""Folder of a converted task holding copies of the tree's modules it names from outside its
own folder (``tasks.examples.other.tools`` → ``_sygra_shared.examples.other.tools``)."""

_DATA_SUFFIXES = (".json", ".jsonl")


class PathRebaser:
    """Finds the files a task's paths name, from the task's folder or SyGra's root."""

    def __init__(self, src: Path, task_dir: Path) -> None:
        self.src = src.resolve()
        self.task_dir = task_dir.resolve()
        self.notes: list[str] = []
        """One line per path changed: where, from what, to what."""

    def data_config(self, data_config: Any, name: str) -> None:
        """Rewrite, in place, the ``file_path`` of every source and sink of a (round-trip)
        ``data_config`` mapping; ``name`` is the task file, for the notes."""
        if not isinstance(data_config, dict):
            return
        if "resumable" in data_config:  # GraSP's journal makes every run resumable
            data_config.pop("resumable")
            self.notes.append(
                f"{name}: data_config.resumable left out: every GraSP run can be resumed "
                "(`grasp run --resume`); start afresh with `--overwrite`"
            )
        for key, is_sink in (("source", False), ("sink", True)):
            for block in _blocks(data_config.get(key)):
                value = block.get("file_path")
                if not isinstance(value, str) or "://" in value:
                    continue
                moved = self.rebase(value, is_sink=is_sink)
                if moved is None and not is_sink:
                    moved = self._made_later(value)
                if moved is not None:
                    block["file_path"] = moved
                    absent = not is_sink and not (self.task_dir / moved).is_file()
                    self.notes.append(
                        f"{name}: data_config.{key}.file_path {value!r} is now {moved!r} "
                        "(from the task's folder)"
                        + (
                            ": the file is not in the source tree; make it there before "
                            "the run (a script of the task may write it)"
                            if absent
                            else ""
                        )
                    )

    def rebase(self, value: str, *, is_sink: bool = False) -> str | None:
        """``value`` relative to the task's folder, when it names nothing from there but a
        file of the tree from SyGra's root (or, for a sink, a folder of it); else None."""
        path = Path(value)
        if self._exists(self.task_dir / path, is_sink=is_sink):
            return None
        if is_sink and not path.is_absolute() and len(path.parts) < 3:
            return None  # `output/x.jsonl`: a folder the run makes, not a path from the root
        for found in self._candidates(path):
            if self._exists(found, is_sink=is_sink) and found.resolve().is_relative_to(self.src):
                return Path(os.path.relpath(found.resolve(), self.task_dir)).as_posix()
        beside = self.task_dir / path.name
        if not is_sink and path.name and beside.is_file():
            return path.name  # SyGra's path names a folder that is not there; the file is
        return None

    def _made_later(self, value: str) -> str | None:
        """A source file that is missing but named from SyGra's root inside the task's own
        folder (``tasks/examples/x/input.jsonl``, written by a script of the task before
        the run; or an absolute path on the author's machine ending so): the same name from
        the task's folder. Else None."""
        path = Path(value)
        for found in self._candidates(path):
            folder = found.parent
            if folder.is_dir() and folder.resolve().is_relative_to(self.task_dir):
                moved = os.path.relpath(folder.resolve() / path.name, self.task_dir)
                return None if Path(moved) == path else Path(moved).as_posix()
        return None

    def media_in(self, data_file: Path, converted: Path, name: str) -> None:
        """Rewrite the local file paths held in the records of a JSON or JSONL source (read
        from ``data_file``, written to ``converted``): SyGra reads media from its root."""
        if data_file.suffix not in _DATA_SUFFIXES or not data_file.is_file():
            return
        text = data_file.read_text(encoding="utf-8")
        changed: list[str] = []
        try:
            if data_file.suffix == ".json":
                records = self._walk(json.loads(text), changed)
                out = json.dumps(records, indent=2, ensure_ascii=False) + "\n"
            else:
                lines = [
                    json.dumps(self._walk(json.loads(line), changed), ensure_ascii=False)
                    for line in text.splitlines()
                    if line.strip()
                ]
                out = "\n".join(lines) + "\n"
        except json.JSONDecodeError:
            return  # not valid JSON: the source reports it when the task runs
        if changed:
            converted.write_text(out, encoding="utf-8")
            self.notes.append(
                f"{name}: {len(changed)} media path(s) in the records of {data_file.name} "
                f"now start at the task's folder (such as {changed[0]!r})"
            )

    def _walk(self, value: Any, changed: list[str]) -> Any:
        if isinstance(value, dict):
            return {k: self._walk(v, changed) for k, v in value.items()}
        if isinstance(value, list):
            return [self._walk(v, changed) for v in value]
        if isinstance(value, str) and "/" in value and _looks_like_path(value):
            moved = self.rebase(value)  # a path from SyGra's root has a folder in it
            if moved is not None and moved != value:
                changed.append(moved)
                return moved
        return value

    def _candidates(self, path: Path) -> Iterator[Path]:
        """Where SyGra would find ``path``: from its root (the source folder and each folder
        above it); an absolute path from another machine by its tail."""
        roots = (self.src, *self.src.parents)
        if not path.is_absolute():
            yield from (root / path for root in roots)
            return
        parts = path.parts[1:]
        for start in range(len(parts) - 1):  # longest tail first; at least folder/file
            yield from (root.joinpath(*parts[start:]) for root in roots)

    @staticmethod
    def _exists(path: Path, *, is_sink: bool) -> bool:
        return path.parent.is_dir() if is_sink else path.is_file()


def _blocks(value: Any) -> Iterator[Any]:
    """The source or sink blocks of ``data_config`` (one mapping, or a list of them)."""
    items = value if isinstance(value, list) else [value]
    yield from (item for item in items if isinstance(item, dict))


def _looks_like_path(value: str) -> bool:
    """A short string with a file suffix and no URL scheme: worth looking up."""
    return len(value) < 512 and "://" not in value and "." in Path(value).name and "\n" not in value


class TreeModules:
    """For a module of the task folder ``owner``: a module of the tree imported from SyGra's
    root (``from tasks.eval.utils import x``) → the path GraSP imports it by, from the task's
    folder (a module outside it is copied into the task's ``_sygra_shared``, as for dotted
    paths in the task file; ``copies`` collects (task folder, copy))."""

    def __init__(self, src: Path, owner: Path, copies: set[tuple[Path, Path]]) -> None:
        self.src, self.owner, self.copies = src.resolve(), owner, copies

    def __call__(self, module: str) -> str | None:
        found = find_in_tree(self.src, self.owner, module.split("."), ".py")
        if found is None:
            return None
        if found.is_relative_to(self.owner):
            return ".".join(found.relative_to(self.owner).with_suffix("").parts)
        copy = Path(SHARED, found.relative_to(self.src))
        self.copies.add((self.owner, copy))
        return ".".join(copy.with_suffix("").parts)


def find_in_tree(
    src: Path, start: Path, parts: list[str], suffix: str, name: str = ""
) -> Path | None:
    """The file ``parts`` names inside the tree ``src``, looked up from ``start`` (a task's
    folder), then ``src`` and each folder above it (SyGra's repository root)."""
    for root in (start, src, *src.parents):
        target = root.joinpath(*parts)
        target = target / name if name else target.with_suffix(suffix)
        if target.is_file() and target.resolve().is_relative_to(src):
            return target.resolve()
    return None
