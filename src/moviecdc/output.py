"""Rendering results for people (aligned tables that fit the terminal) and scripts (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import unicodedata
from collections.abc import Sequence
from datetime import UTC, datetime

from moviecdc.results import Rows, jsonable

ELLIPSIS = "…"
GAP = "  "  # between columns
MIN_COLUMN = 6  # a column is never cut narrower than this (or its header, if shorter)


def terminal_width(stream: object = None) -> int | None:
    """The width tables must fit: ``COLUMNS`` when set, else the terminal's when ``stream``
    (stdout by default) is one; ``None`` (no limit) when output goes to a file or a pipe."""
    env = os.environ.get("COLUMNS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    stream = sys.stdout if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if isatty is not None and isatty():
        return shutil.get_terminal_size().columns
    return None


def width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide (East Asian) characters take two,
    combining marks none."""
    if text.isascii():
        return len(text)
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` columns, with an ellipsis when cut."""
    if width(text) <= limit:
        return text
    out, used = [], 0
    for c in text:
        w = width(c)
        if used + w > limit - 1:
            break
        out.append(c)
        used += w
    return "".join(out) + ELLIPSIS


def pad(text: str, limit: int) -> str:
    return text + " " * max(0, limit - width(text))


def cell(value: object) -> str:
    """A table cell: NULL for None, local time with zone for aware datetimes, one line."""
    if value is None:
        return "NULL"
    if isinstance(value, datetime) and value.tzinfo is not None:
        return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
    text = str(value)
    if "\n" in text or "\r" in text or "\t" in text:
        text = text.replace("\r\n", "\n").replace("\n", "\\n").replace("\r", "\\r").replace("\t", " ")
    return text


def fit_widths(natural: list[int], floors: list[int], limit: int | None) -> list[int]:
    """Column widths within ``limit`` columns in all: the widest columns give way first,
    none below its floor. With no limit, or when even the floors do not fit, as wide as
    the floors allow."""
    widths = list(natural)
    if limit is None:
        return widths
    budget = limit - len(GAP) * (len(widths) - 1)
    while sum(widths) > budget:
        widest = max(range(len(widths)), key=lambda i: (widths[i] - floors[i] > 0, widths[i]))
        if widths[widest] <= floors[widest]:
            break  # every column is at its floor: the table stays wider than the terminal
        widths[widest] -= 1
    return widths


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], *, max_width: int | None = None) -> str:
    """An aligned plain-text table, cut to ``max_width`` columns (values cut with an ellipsis)."""
    return fit_table(columns, rows, max_width)[0]


def fit_table(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    max_width: int | None,
    *,
    keep: int = 0,
    headers_whole: bool = True,
) -> tuple[str, bool]:
    """:func:`table`, and whether a value or header had to be cut to fit. The first ``keep``
    columns (names, say) are never cut; with ``headers_whole`` no header is cut below 12
    characters (the table may then stay wider than ``max_width``)."""
    cells = [[cell(v) for v in row] for row in rows]
    natural = [width(c) for c in columns]
    for row in cells:
        for i, v in enumerate(row):
            natural[i] = max(natural[i], width(v))
    floors = [n if i < keep else min(n, max(MIN_COLUMN, min(width(c), 12)) if headers_whole else 4)
              for i, (n, c) in enumerate(zip(natural, columns, strict=True))]  # fmt: skip
    widths = fit_widths(natural, floors, max_width)

    def line(values: Sequence[str]) -> str:
        return GAP.join(pad(clip(v, w), w) for v, w in zip(values, widths, strict=True)).rstrip()

    out = [line(list(columns)), GAP.join("-" * w for w in widths)]
    out += [line(row) for row in cells]
    return "\n".join(out), widths != natural


def vertical(columns: Sequence[str], rows: Sequence[Sequence[object]], *, max_width: int | None = None) -> str:
    """One block per row, one ``column | value`` line per column (psql's expanded display):
    wide rows stay readable in a narrow terminal. Long values wrap, never cut."""
    name_w = max((width(c) for c in columns), default=0)
    value_w = None if max_width is None else max(20, max_width - name_w - 3)
    out: list[str] = []
    for n, row in enumerate(rows, 1):
        header = f"-[ RECORD {n} ]"
        out.append(header + "-" * max(0, (max_width or 40) - width(header)) if max_width else header)
        for name, value in zip(columns, row, strict=True):
            text = cell(value)
            step = value_w or max(1, len(text))
            pieces = [text[i : i + step] for i in range(0, len(text), step)] or [""]
            out.append(f"{pad(name, name_w)} | {pieces[0]}")
            out += [f"{' ' * name_w} | {p}" for p in pieces[1:]]
    return "\n".join(out)


def dumps(value: object) -> str:
    """Strict JSON for people and scripts: every value made JSON-able (:func:`jsonable`), never
    a bare ``NaN`` or ``Infinity`` token, which JSON parsers refuse."""
    return json.dumps(jsonable(value), indent=2, allow_nan=False)


FORMATS = ("auto", "table", "vertical", "csv", "json")


def format_rows(rows: Rows, fmt: str = "auto", *, max_width: int | None = None) -> str:
    """Format a statement's result: ``table`` (fit to ``max_width``, long values and headers
    cut with an ellipsis), ``vertical`` (one line per column), ``auto`` (a table when one fits
    with its headers whole, else vertical, as psql's ``\\x auto``), ``csv`` or ``json`` (always
    whole)."""
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
    count = f"({len(rows.rows):,} row{'s' if len(rows.rows) != 1 else ''})"
    if fmt == "auto" and max_width is not None:
        text, cut = fit_table(rows.columns, rows.rows, max_width)
        if max(width(ln) for ln in text.splitlines()) > max_width:
            fmt = "vertical"
    if fmt == "vertical":
        return (vertical(rows.columns, rows.rows, max_width=max_width) + "\n" + count).lstrip("\n")
    text, cut = fit_table(rows.columns, rows.rows, max_width, headers_whole=fmt != "table")
    if cut:
        count = count[:-1] + "; values cut to fit: --format vertical shows them whole)"
    return text + "\n" + count


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
