"""The local target: the embedded engine behind the Warehouse interface."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa

from moviecdc.clock import Clock
from moviecdc.emulator.engine import Engine
from moviecdc.warehouse.base import Params, PipelineRun, PipelineStep, Rows


class LocalWarehouse:
    """Runs Snowflake SQL on the local engine (one DuckDB file)."""

    target = "local"

    def __init__(
        self,
        path: str | Path,
        *,
        database: str = "MOVIECDC",
        schema: str = "CDC",
        clock: Clock | None = None,
        busy_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self.engine = Engine(
            path, clock=clock, database=database, schema=schema, busy_timeout=busy_timeout, read_only=read_only
        )

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        return self.engine.execute(sql, params)

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        """Bulk insert through Arrow: one INSERT ... SELECT, captured like any DML."""
        if not rows:
            return 0
        data = {c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)}
        name = f"__mcdc_src_{uuid.uuid4().hex}"
        self.engine.con.register(name, pa.table(data))
        try:
            cols = ", ".join(columns)
            res = self.engine.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
        finally:
            self.engine.con.unregister(name)
        return int(res.rowcount or 0)

    def run_pipeline(self, *, catch_up: bool = True) -> PipelineRun:
        """One scheduler pass of the local engine (``catch_up``: as ``run --once``)."""
        report = self.engine.run_pending(catch_up=catch_up)
        steps = [PipelineStep(f"task {name}", state) for name, state in report.tasks]
        steps += [PipelineStep(f"dynamic table {n}", f"{state} ({action})") for n, state, action in report.refreshes]
        return PipelineRun(steps)

    def notes(self) -> list[str]:
        """What the engine accepts here but does not emulate (``status`` prints each as a NOTE)."""
        return self.engine.notes()

    def close(self) -> None:
        self.engine.close()

    def __enter__(self) -> LocalWarehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
