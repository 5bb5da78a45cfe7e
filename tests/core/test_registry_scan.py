"""Plugin lookups scan the installed packages' entry points once per process, and scan again
for a name the last scan did not find, so a package installed since is still found."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from grasp_core import registry


@pytest.fixture
def scans(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call the registry makes to ``importlib.metadata.entry_points``, from a state
    where nothing was scanned yet."""
    calls: list[dict[str, Any]] = []

    def counted(**params: Any) -> Any:
        calls.append(params)
        return metadata.entry_points(**params)

    monkeypatch.setattr(registry, "entry_points", counted)
    monkeypatch.setattr(registry, "_scanned", None)
    return calls


def test_plugins_of_several_groups_are_found_with_one_scan(scans: list[dict[str, Any]]) -> None:
    """Looking up a node type, a source, a sink and the media resolver reads the installed
    packages once, and each lookup loads what the entry point names."""
    found = {
        group: registry.Registry(group, "plugin").get(name)
        for group, name in [
            (registry.NODE_GROUP, "llm"),
            (registry.SOURCE_GROUP, "disk"),
            (registry.SINK_GROUP, "jsonl"),
            (registry.MEDIA_GROUP, "default"),
        ]
    }
    assert len(scans) == 1
    for group, name in [(registry.NODE_GROUP, "llm"), (registry.SINK_GROUP, "jsonl")]:
        (entry,) = metadata.entry_points(group=group, name=name)
        assert found[group] is entry.load()


def test_a_package_installed_after_the_scan_is_found(
    scans: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name missing from the last scan is looked for in a new one: a package installed
    since (here, a folder added to ``sys.path``) is found; an unknown name still fails."""
    sinks = registry.Registry(registry.SINK_GROUP, "sink type")
    sinks.get("jsonl")
    site = tmp_path / "site"
    info = site / "acme_late-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-late\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[grasp.sinks]\nlate_sink = acme_late:LateSink\n")
    (site / "acme_late.py").write_text("class LateSink:\n    pass\n")
    monkeypatch.syspath_prepend(str(site))
    assert sinks.get("late_sink").__name__ == "LateSink"
    assert len(scans) == 2
    with pytest.raises(registry.PluginError, match="unknown sink type 'no_such_sink'"):
        sinks.get("no_such_sink")
