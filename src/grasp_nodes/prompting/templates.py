"""Prompt templates with ``{var}`` substitution, parsed once per node."""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from grasp_core.errors import ConfigError, NodeError
from grasp_core.plugin import MISSING, lookup

__all__ = ["NO_FIELD", "TEXT_TYPES", "Template"]

_formatter = string.Formatter()

TEXT_TYPES = frozenset({str, int, float, bool, type(None)})
"""Values a field renders as their ``str``, never media."""

NO_FIELD: Any = object()
"""In :meth:`Template.lookups`, the value paired with text that no field follows."""


def _check_field(field: str, spec: str | None, conversion: str | None, where: str) -> None:
    if not field.strip():
        raise ConfigError(f"{where}: empty `{{}}` in prompt; name a state key")
    if spec or conversion:
        raise ConfigError(
            f"{where}: `{{{field}{'!' + conversion if conversion else ''}"
            f"{':' + spec if spec else ''}}}` uses a format spec or conversion, which prompts "
            "do not support; format the value in an earlier lambda node"
        )
    if "[" in field or "]" in field:
        raise ConfigError(
            f"{where}: `{{{field}}}` indexes with brackets; write nested keys and list "
            "positions with dots, such as `{a.b}` or `{items.0}`"
        )


class Template:
    """A string with ``{name}`` (or ``{a.b}``) fields; ``{{`` and ``}}`` are literal braces."""

    def __init__(self, text: str, *, where: str) -> None:
        self.text = text
        self._parts: list[tuple[str, str | None]] = []
        try:
            for literal, field, spec, conversion in _formatter.parse(text):
                if field is not None:
                    _check_field(field, spec, conversion, where)
                self._parts.append((literal, field))
        except ValueError as exc:
            raise ConfigError(
                f"{where}: bad prompt template ({exc}); write literal braces as {{{{ and }}}}"
            ) from None
        self.variables = tuple(f for _, f in self._parts if f is not None)
        self._literal = "".join(literal for literal, _ in self._parts)
        self._keys: tuple[str, ...] | None = None
        """The fields when none is dotted: each is then one key of the state."""
        self._format = ""
        """The text with ``%s`` for each field (``%`` doubled), for :meth:`render_plain`."""
        if all("." not in field for field in self.variables):
            self._keys = self.variables
            self._format = "".join(
                literal.replace("%", "%%") + ("%s" if field is not None else "")
                for literal, field in self._parts
            )

    @property
    def single_field(self) -> str | None:
        """The field name when the template is exactly one ``{field}`` and nothing else."""
        if len(self._parts) == 1 and self._parts[0][0] == "":
            return self._parts[0][1]
        return None

    def render(self, state: Mapping[str, Any], *, record_id: str, node: str) -> str:
        if not self.variables:
            return self._literal
        text = self.render_plain(state)
        if text is not None:
            return text
        return self.join(self.lookups(state, record_id=record_id, node=node))

    def render_plain(self, state: Mapping[str, Any]) -> str | None:
        """:meth:`render`'s text when every field is a key of ``state`` holding text, a
        number, a bool or None (most prompts: nothing there can be media), in one ``%``
        format; None otherwise (a dotted field, a missing key, another value)."""
        keys = self._keys
        if keys is None:
            return None
        try:
            values = tuple([state[key] for key in keys])
        except KeyError:
            return None
        for value in values:
            if type(value) not in TEXT_TYPES:
                return None
        return self._format % values

    @staticmethod
    def join(pieces: list[tuple[str, Any]]) -> str:
        """The text of :meth:`lookups`' pieces (values as ``str``), as :meth:`render` gives."""
        out: list[str] = []
        for literal, value in pieces:
            out.append(literal)
            if value is not NO_FIELD:
                out.append(value if isinstance(value, str) else str(value))
        return "".join(out)

    def lookups(
        self, state: Mapping[str, Any], *, record_id: str, node: str
    ) -> list[tuple[str, Any]]:
        """Each literal text with the value of the field after it (``NO_FIELD`` when the
        text ends the template), for callers that place non-text values themselves."""
        out: list[tuple[str, Any]] = []
        for literal, field in self._parts:
            if field is None:
                out.append((literal, NO_FIELD))
                continue
            value = state[field] if field in state else lookup(state, field)
            if value is MISSING:
                raise NodeError(
                    f"record {record_id!r}, node {node!r}: prompt variable {{{field}}} is not "
                    f"in the record state (keys: {', '.join(sorted(state)) or 'none'}); add it "
                    "to the data or to an earlier node's output_keys",
                    node=node,
                )
            out.append((literal, value))
        return out
