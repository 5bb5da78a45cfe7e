"""Plugins by name: node types, sources, sinks, row formats, transforms, media encoders,
post-process steps and embedders, found through entry points, loaded lazily.

Built-in types are declared as entry points in GraSP's own ``pyproject.toml``, so the core
never imports ``grasp_nodes`` or ``grasp_io``; third parties add types the same way, or
in-process with :func:`register`. A built-in name is looked up in GraSP's own metadata first
(one file, not a scan of every installed package), so it always means the built-in: another
package declaring the same name does not replace it (:func:`register` does).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from importlib.metadata import (
    EntryPoint,
    EntryPoints,
    PackageNotFoundError,
    distribution,
    entry_points,
)
from types import ModuleType
from typing import Any, Protocol, TypeVar

from grasp_core.errors import PluginError

__all__ = [
    "COMMAND_GROUP",
    "EMBEDDER_GROUP",
    "FORMAT_GROUP",
    "MEDIA_GROUP",
    "NODE_GROUP",
    "POSTPROCESS_GROUP",
    "SINK_GROUP",
    "SOURCE_GROUP",
    "TRANSFORM_GROUP",
    "Registry",
    "command_modules",
    "embedders",
    "formats",
    "media",
    "nodes",
    "postprocess",
    "register",
    "sinks",
    "sources",
    "transforms",
]

NODE_GROUP = "grasp.nodes"
SOURCE_GROUP = "grasp.sources"
SINK_GROUP = "grasp.sinks"
FORMAT_GROUP = "grasp.formats"
TRANSFORM_GROUP = "grasp.transforms"
MEDIA_GROUP = "grasp.media"
POSTPROCESS_GROUP = "grasp.postprocess"
EMBEDDER_GROUP = "grasp.embedders"
COMMAND_GROUP = "grasp.commands"
"""Commands other packages add to ``grasp`` (``grasp studio``): name → a module with
``add_command`` and ``run_command``, like those in ``grasp_core.cli.commands``."""

T = TypeVar("T")


class Registry:
    """Name → plugin class for one entry-point group."""

    def __init__(self, group: str, kind: str) -> None:
        self.group = group
        self.kind = kind
        self._loaded: dict[str, Any] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator registering a plugin in-process under ``name``."""

        def decorate(cls: T) -> T:
            self._loaded[name] = cls
            return cls

        return decorate

    def names(self) -> list[str]:
        """Every known name: registered in-process or declared as an entry point."""
        declared = {ep.name for ep in entry_points(group=self.group)}
        return sorted(declared | set(self._loaded))

    def get(self, name: str) -> Any:
        """The plugin class for ``name``; an unknown name lists the known ones."""
        if name in self._loaded:
            return self._loaded[name]
        for ep in _declared(self.group, name):
            try:
                plugin = ep.load()
            except ImportError as exc:
                raise PluginError(
                    f"{self.kind} {name!r} is declared by {ep.value!r} but cannot be imported "
                    f"({exc}); install the package that provides it"
                ) from exc
            self._loaded[name] = plugin
            return plugin
        known = self.names()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise PluginError(
            f"unknown {self.kind} {name!r}{hint}; known: {', '.join(known) or 'none'}. "
            f"Third-party {self.kind}s register under the entry-point group {self.group!r}"
        )


class _Scan(Protocol):
    """What ``entry_points()`` returns: ``SelectableGroups`` on Python 3.11, ``EntryPoints``
    from 3.12."""

    def select(self, *, group: str = ..., name: str = ...) -> EntryPoints: ...


DISTRIBUTION = "grasp-sdg"
"""GraSP's own distribution, whose entry points declare the built-in plugins."""

_own: EntryPoints | None = None
"""The entry points of :data:`DISTRIBUTION`, once read."""

_scanned: _Scan | None = None
"""Every installed entry point, as last scanned: a scan reads every installed package's
metadata (about 5 ms with 150 packages), and a run looks up four or more plugins."""


def _scan() -> _Scan:
    """Every installed entry point: the last scan, or a new one when there was none."""
    global _scanned
    if _scanned is None:
        _scanned = entry_points()
    return _scanned


def _own_points() -> EntryPoints:
    """The entry points GraSP's own distribution declares (none when GraSP is not installed,
    as when its sources are only on ``sys.path``: lookups then scan)."""
    global _own
    if _own is None:
        try:
            _own = distribution(DISTRIBUTION).entry_points
        except PackageNotFoundError:
            _own = EntryPoints(())
    return _own


def _declared(group: str, name: str) -> list[EntryPoint]:
    """The entry points declaring ``name`` in ``group``: GraSP's own declaration of a built-in
    name, read without a scan; else installed packages are scanned once, and a name the last
    scan did not find is looked for in a new one (a package installed since is found, as it
    was when every lookup scanned)."""
    global _scanned
    own = list(_own_points().select(group=group, name=name))
    if own:
        return own
    if _scanned is not None:
        found = list(_scanned.select(group=group, name=name))
        if found:
            return found
    _scanned = entry_points()
    return list(_scanned.select(group=group, name=name))


nodes = Registry(NODE_GROUP, "node type")
sources = Registry(SOURCE_GROUP, "source type")
sinks = Registry(SINK_GROUP, "sink type")
formats = Registry(FORMAT_GROUP, "output format")
transforms = Registry(TRANSFORM_GROUP, "transform")
media = Registry(MEDIA_GROUP, "media encoder")
postprocess = Registry(POSTPROCESS_GROUP, "post-process step")
embedders = Registry(EMBEDDER_GROUP, "embedder")

_BY_KIND = {
    "nodes": nodes,
    "sources": sources,
    "sinks": sinks,
    "formats": formats,
    "transforms": transforms,
    "media": media,
    "postprocess": postprocess,
    "embedders": embedders,
}


def register(kind: str, name: str) -> Callable[[T], T]:
    """Register a plugin in this process: ``@register("nodes", "my_type")`` on a class.

    ``kind`` is one of ``nodes``, ``sources``, ``sinks``, ``formats``, ``transforms``,
    ``media``, ``postprocess`` or ``embedders``. Packages usually declare entry points
    instead (see the plugin guide)."""
    registry = _BY_KIND.get(kind)
    if registry is None:
        raise PluginError(
            f"unknown plugin kind {kind!r}; use one of: {', '.join(sorted(_BY_KIND))}"
        )
    return registry.register(name)


def command_modules(taken: Iterable[str]) -> tuple[dict[str, ModuleType], list[str]]:
    """The ``grasp.commands`` entry points, loaded, except names in ``taken`` (a built-in
    command wins); with one line for each that cannot be imported (it is left out, so a
    broken add-on never breaks ``grasp`` itself)."""
    found: dict[str, ModuleType] = {}
    problems: list[str] = []
    for ep in _scan().select(group=COMMAND_GROUP):  # the scan plugin lookups reuse
        if ep.name in taken or ep.name in found:
            continue
        try:
            module = ep.load()
        except Exception as exc:  # whatever an add-on raises, `grasp` itself still works
            problems.append(
                f"command {ep.name!r} ({ep.value}) cannot be imported ({exc}); reinstall the "
                "package that provides it"
            )
            continue
        if isinstance(module, ModuleType):
            found[ep.name] = module
    return found, problems
