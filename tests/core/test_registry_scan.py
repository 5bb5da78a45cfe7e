"""Plugin lookups read GraSP's own entry points for a built-in name (no scan of every installed
package, and another package declaring the same name does not replace it); other names scan
the installed packages once per process, and again for a name the last scan did not find, so
a package installed since is still found."""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from grasp_core import registry
from grasp_core.errors import PluginError
from tests.conftest import REPO_ROOT


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


def test_built_in_plugins_of_several_groups_are_found_without_a_scan(
    scans: list[dict[str, Any]],
) -> None:
    """Looking up a node type, a source, a sink and the media resolver, all built in, reads
    GraSP's own metadata only, and each lookup loads what the entry point names."""
    found = {
        group: registry.Registry(group, "plugin").get(name)
        for group, name in [
            (registry.NODE_GROUP, "llm"),
            (registry.SOURCE_GROUP, "disk"),
            (registry.SINK_GROUP, "jsonl"),
            (registry.MEDIA_GROUP, "default"),
        ]
    }
    assert scans == []
    for group, name in [(registry.NODE_GROUP, "llm"), (registry.SINK_GROUP, "jsonl")]:
        (entry,) = metadata.entry_points(group=group, name=name)
        assert found[group] is entry.load()


def _package(site: Path, name: str, sinks: dict[str, str]) -> None:
    """An installed package ``name`` in the folder ``site``: its metadata, its entry points
    in ``grasp.sinks`` (sink name → class name) and a module defining those classes."""
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    points = "".join(f"{sink} = {name}:{cls}\n" for sink, cls in sinks.items())
    (info / "entry_points.txt").write_text("[grasp.sinks]\n" + points)
    (site / f"{name}.py").write_text("".join(f"class {cls}:\n    pass\n" for cls in sinks.values()))


def test_a_package_installed_after_the_scan_is_found(
    scans: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name missing from the last scan is looked for in a new one: a package installed
    since (here, a folder added to ``sys.path``) is found; an unknown name still fails."""
    sinks = registry.Registry(registry.SINK_GROUP, "sink type")
    _package(tmp_path / "early", "acme_early", {"early_sink": "EarlySink"})
    monkeypatch.syspath_prepend(str(tmp_path / "early"))
    assert sinks.get("early_sink").__name__ == "EarlySink"
    assert len(scans) == 1
    _package(tmp_path / "late", "acme_late", {"late_sink": "LateSink"})
    monkeypatch.syspath_prepend(str(tmp_path / "late"))
    assert sinks.get("late_sink").__name__ == "LateSink"
    assert len(scans) == 2
    with pytest.raises(PluginError, match="unknown sink type 'no_such_sink'"):
        sinks.get("no_such_sink")


def test_a_built_in_name_declared_by_another_package_is_still_the_built_in(
    scans: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another installed package declaring the sink ``jsonl`` does not replace GraSP's,
    whether or not the installed packages were scanned before the lookup; its other names
    are found."""
    from grasp_io.sinks import JsonlSink

    _package(tmp_path / "site", "acme_shadow", {"jsonl": "Shadow", "shadow_sink": "Other"})
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    assert registry.Registry(registry.SINK_GROUP, "sink type").get("jsonl") is JsonlSink
    assert scans == []
    sinks = registry.Registry(registry.SINK_GROUP, "sink type")
    assert sinks.get("shadow_sink").__name__ == "Other"  # scans: jsonl is declared twice now
    assert len(scans) == 1
    assert len(list(registry._scan().select(group=registry.SINK_GROUP, name="jsonl"))) == 2
    assert registry.Registry(registry.SINK_GROUP, "sink type").get("jsonl") is JsonlSink


def test_the_distribution_named_is_the_one_pyproject_declares() -> None:
    """The built-ins are read from the distribution ``pyproject.toml`` names."""
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == registry.DISTRIBUTION
