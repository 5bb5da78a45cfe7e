"""``multipart/form-data`` request bodies (image edits, transcriptions), parsed whole.

The body is already in memory (``_http`` bounds it by ``MAX_BODY_BYTES``), so parsing is a
split on the boundary; malformed input raises :class:`RequestError` (a 400).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Final

from grasp_core.mock_server._replies import RequestError

__all__ = ["FormPart", "loggable_form", "parse_form"]

_BOUNDARY: Final = re.compile(r'boundary="?([^";]+)"?', re.IGNORECASE)
_PARAM: Final = re.compile(r'(\w+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class FormPart:
    """One field of a form: a text value, or a file when ``filename`` is set."""

    name: str
    data: bytes
    filename: str | None = None
    content_type: str | None = None

    def text(self) -> str:
        """The value as UTF-8 text (a 400 when it is not)."""
        try:
            return self.data.decode("utf-8")
        except UnicodeDecodeError:
            raise RequestError(f"form field {self.name!r} is not UTF-8 text") from None


def parse_form(content_type: str, body: bytes) -> list[FormPart]:
    """The parts of a ``multipart/form-data`` body, in order."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise RequestError(f"send multipart/form-data, got content type {content_type!r}")
    match = _BOUNDARY.search(content_type)
    if match is None:
        raise RequestError("the multipart content type has no boundary")
    delimiter = b"--" + match.group(1).encode("latin-1")
    pieces = body.split(delimiter)
    if len(pieces) < 3 or not pieces[-1].startswith(b"--"):
        raise RequestError("malformed multipart body: the closing boundary is missing")
    return [_part(piece) for piece in pieces[1:-1]]


def _part(piece: bytes) -> FormPart:
    if not piece.startswith(b"\r\n") or not piece.endswith(b"\r\n"):
        raise RequestError("malformed multipart body: a part is not framed by CRLF")
    head, sep, data = piece[2:-2].partition(b"\r\n\r\n")
    if not sep:
        raise RequestError("malformed multipart body: a part has no blank line after its headers")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").split("\r\n"):
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    params = dict(_PARAM.findall(headers.get("content-disposition", "")))
    if "name" not in params:
        raise RequestError("malformed multipart body: a part has no content-disposition name")
    return FormPart(params["name"], data, params.get("filename"), headers.get("content-type"))


def loggable_form(content_type: str, body: bytes) -> dict[str, Any]:
    """A form as the request log shows it: text fields as text, files by size and sha256
    (so transport tests can compare two clients' uploads without logging the bytes)."""
    fields: dict[str, Any] = {}
    for part in parse_form(content_type, body):
        value: Any = part.data.decode("utf-8", "replace")
        if part.filename is not None:
            digest = hashlib.sha256(part.data).hexdigest()
            value = {"filename": part.filename, "size": len(part.data), "sha256": digest}
        fields.setdefault(part.name, []).append(value)
    return fields
