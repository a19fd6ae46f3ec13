"""The one interface both targets implement, and the value types it returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

Params = Sequence[object]


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


class Warehouse(Protocol):
    """A connection to a target that runs Snowflake SQL.

    SQL is always Snowflake SQL; ``?`` marks a bound parameter (qmark style).
    """

    target: str

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        """Run one statement and return its result."""
        ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        """Insert many rows into ``table`` in bulk; returns the number inserted."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class RecordingWarehouse:
    """Collects statements instead of running them (``--dry-run`` and tests)."""

    def __init__(self, target: str = "local") -> None:
        self.target = target
        self.statements: list[tuple[str, Params | None]] = []

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        self.statements.append((sql, params))
        return Rows()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        self.statements.append((f"INSERT INTO {table} ({', '.join(columns)}) <{len(rows)} rows>", None))
        return len(rows)

    def close(self) -> None:
        pass
