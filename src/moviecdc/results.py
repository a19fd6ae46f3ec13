"""The result of one statement, as both targets return it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from uuid import UUID


@dataclass(frozen=True)
class Rows:
    """The result of one statement: column names and rows (empty for DDL/DML)."""

    columns: list[str] = field(default_factory=list)
    rows: list[tuple[object, ...]] = field(default_factory=list)
    rowcount: int | None = None
    message: str | None = None

    def dicts(self) -> list[dict[str, object]]:
        """Rows as dicts keyed by lower-cased column name."""
        keys = [c.lower() for c in self.columns]
        return [dict(zip(keys, row, strict=True)) for row in self.rows]

    def scalar(self) -> object:
        """The first column of the first row, or None when there is no row."""
        return self.rows[0][0] if self.rows else None


def jsonable(value: object, *, exact_decimals: bool = True, naive_zone: tzinfo | None = None) -> object:
    """A JSON-serialisable form of a cell or of a structure of them (mappings, lists).

    Args:
        value: the value.
        exact_decimals: Decimals as strings (no digit lost), else as numbers.

    A float NaN or infinity becomes the string ``"NaN"``, ``"Infinity"`` or ``"-Infinity"``
    (the spelling Snowflake prints), so the result is always strict JSON.
        naive_zone: the zone naive datetimes are in, if known; else they stay naive.
    """
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, exact_decimals=exact_decimals, naive_zone=naive_zone) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v, exact_decimals=exact_decimals, naive_zone=naive_zone) for v in value]
    if isinstance(value, datetime):
        if value.tzinfo is None and naive_zone is not None:
            value = value.replace(tzinfo=naive_zone)
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Decimal):
        return str(value) if exact_decimals else float(value)
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, float) and not math.isfinite(value):  # JSON has no NaN or Infinity
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value
