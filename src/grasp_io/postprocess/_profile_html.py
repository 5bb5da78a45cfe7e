"""A dataset profile as one self-contained HTML page: tables and CSS bar charts, no
script, no stylesheet or font from elsewhere, so it opens offline and in a sandbox."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

__all__ = ["render_html"]

_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:60em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:2px 10px;text-align:left}
th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}
.bars{display:grid;grid-template-columns:9em 1fr 5em;gap:2px 8px;align-items:center}
.bar{background:#4a7bd0;height:12px;min-width:1px}.lbl{color:#555;font-size:12px}
"""


def render_html(profile: Mapping[str, Any]) -> str:
    """The page for ``profile`` (the ``profile`` step's JSON)."""
    overview: list[tuple[str, Any]] = [
        ("records", profile["records"]),
        ("exact duplicates", profile["duplicates"]["exact"]),
        ("duplicate rate", profile["duplicates"]["rate"]),
        *profile["distinct"].items(),
    ]
    if "diversity" in profile:
        diversity = profile["diversity"]
        overview.append((f"diversity ({diversity['model']})", diversity["mean_cosine_distance"]))
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Dataset profile</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Dataset profile</h1>",
        _table(*overview),
    ]
    for name, field in profile["fields"].items():
        for unit, lengths in field.items():
            parts.append(f"<h2>{escape(name)}: length in {escape(unit)}</h2>")
            parts.append(_table(("mean", lengths["mean"]), *lengths["percentiles"].items()))
            parts.append(_histogram(lengths["histogram"]))
    if profile["languages"]:
        parts.append("<h2>Languages</h2>")
        parts.append(_bars(profile["languages"]))
    quality = profile["quality"]
    if quality["tagged"]:
        parts.append(f"<h2>Quality flags ({quality['tagged']} tagged records)</h2>")
        parts.append(_bars(quality["flags"]) if quality["flags"] else "<p>no flag raised</p>")
    for path, score in profile["scores"].items():
        parts.append(f"<h2>{escape(path)} ({score['count']} records)</h2>")
        parts.append(_histogram(score["histogram"]))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _table(*rows: tuple[str, Any]) -> str:
    cells = "".join(
        f"<tr><th>{escape(str(label))}</th><td class='n'>{escape(_show(value))}</td></tr>"
        for label, value in rows
    )
    return f"<table>{cells}</table>"


def _show(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _histogram(histogram: Mapping[str, list[Any]]) -> str:
    edges, counts = histogram["edges"], histogram["counts"]
    labelled = {
        f"{_show(edges[index])} – {_show(edges[index + 1])}": count
        for index, count in enumerate(counts)
    }
    return _bars(labelled)


def _bars(counts: Mapping[str, int]) -> str:
    """One horizontal bar per label, as wide as its count relative to the largest."""
    if not counts:
        return "<p>no data</p>"
    top = max(counts.values()) or 1
    rows = "".join(
        f"<span class='lbl'>{escape(str(label))}</span>"
        f"<div class='bar' style='width:{100 * count / top:.1f}%'></div>"
        f"<span class='lbl'>{count:,}</span>"
        for label, count in counts.items()
    )
    return f"<div class='bars'>{rows}</div>"
