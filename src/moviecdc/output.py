"""Rendering results for people (aligned tables) and scripts (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime

from moviecdc.results import Rows, jsonable


def cell(value: object) -> str:
    """A table cell: NULL for None, local time with zone for aware datetimes."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return str(value)


def table(columns: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An aligned plain-text table."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [len(c) for c in columns]
    for row in cells:
        for i, v in enumerate(row):
            widths[i] = max(widths[i], len(v))
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def dumps(value: object) -> str:
    """Strict JSON for people and scripts: every value made JSON-able (:func:`jsonable`), never
    a bare ``NaN`` or ``Infinity`` token, which JSON parsers refuse."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False)


def format_rows(rows: Rows, fmt: str = "table") -> str:
    """Format a statement's result as ``table``, ``csv`` or ``json``."""
    if fmt == "json":
        return dumps([dict(zip(rows.columns, r, strict=True)) for r in rows.rows])
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(rows.columns)
        writer.writerows([[jsonable(v) for v in r] for r in rows.rows])
        return buf.getvalue().rstrip("\n")
    if not rows.columns or (rows.columns == ["status"] and len(rows.rows) == 1 and rows.message):
        return rows.message or "Statement executed successfully."
    return table(rows.columns, rows.rows) + f"\n({len(rows.rows)} row{'s' if len(rows.rows) != 1 else ''})"


def local_time(value: object) -> str:
    """An ISO timestamp or datetime shown in the user's local zone, with the zone."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    return "-" if value is None else str(value)
