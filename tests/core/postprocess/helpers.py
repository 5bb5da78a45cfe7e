"""Step classes written as a user would, saved into a test's folder as ``user_steps.py`` and
named by dotted path; and small JSONL helpers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

USER_STEPS = '''
import json
import os
import signal

from grasp_core.plugin import Removed, SourceItem, StrictModel


class DropConfig(StrictModel):
    field: str = "drop"


class DropFlagged:
    """Removes the records whose `field` is true."""

    config_model = DropConfig

    def __init__(self, field):
        self.field = field
        self.checked = 0

    @classmethod
    def from_config(cls, config, env):
        return cls(config.field)

    def process(self, items):
        for item in items:
            self.checked += 1
            if item.data.get(self.field):
                yield Removed(item, "flagged", {"field": self.field})
            else:
                yield item

    def finish(self):
        return {"checked": self.checked}


class NoSettings(StrictModel):
    pass


class Tag:
    """Adds `tagged: true` to every record it passes on."""

    config_model = NoSettings

    @classmethod
    def from_config(cls, config, env):
        return cls()

    def process(self, items):
        for item in items:
            yield SourceItem(item.record_id, {**item.data, "tagged": True})

    def finish(self):
        return {}


class WriteCount:
    """Writes NAME.count.json with how many records went through."""

    config_model = NoSettings

    def __init__(self, env):
        self.env = env
        self.count = 0

    @classmethod
    def from_config(cls, config, env):
        return cls(env)

    def process(self, items):
        for item in items:
            self.count += 1
            yield item

    def finish(self):
        self.env.file(".count.json").write_text(json.dumps({"count": self.count}))
        return {"count": self.count}


class ExplodeConfig(StrictModel):
    at: int


class Explode:
    """Raises on its `at`-th record."""

    config_model = ExplodeConfig

    def __init__(self, at):
        self.at = at

    @classmethod
    def from_config(cls, config, env):
        return cls(config.at)

    def process(self, items):
        for n, item in enumerate(items, 1):
            if n == self.at:
                raise RuntimeError(f"record {item.record_id} is cursed")
            yield item

    def finish(self):
        return {}


class KillAt(Explode):
    """SIGKILLs its own process on its `at`-th record when $KILL_CURATE is set: a post-process
    killed half-way, at a known place."""

    def process(self, items):
        for n, item in enumerate(items, 1):
            if n == self.at and os.environ.get("KILL_CURATE"):
                os.kill(os.getpid(), signal.SIGKILL)
            yield item
'''


def write_user_steps(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "user_steps.py").write_text(USER_STEPS, encoding="utf-8")
    return folder


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
