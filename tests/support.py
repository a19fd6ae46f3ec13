"""Test doubles shared by several test modules."""

from __future__ import annotations

from collections.abc import Sequence

from moviecdc.warehouse.base import Params, PipelineRun, Rows


class RecordingWarehouse:
    """Collects statements instead of running them."""

    def __init__(self, target: str = "local") -> None:
        self.target = target
        self.statements: list[tuple[str, Params | None]] = []

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        self.statements.append((sql, params))
        return Rows()

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        self.statements.append((f"INSERT INTO {table} ({', '.join(columns)}) <{len(rows)} rows>", None))
        return len(rows)

    def run_pipeline(self, *, catch_up: bool = True) -> PipelineRun:
        return PipelineRun()

    def close(self) -> None:
        pass
