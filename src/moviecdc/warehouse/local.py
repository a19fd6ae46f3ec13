"""The local target: the embedded engine behind the Warehouse interface."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb

from moviecdc.clock import Clock
from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError
from moviecdc.warehouse.base import Params, PipelineRun, PipelineStep, Rows

SMALL_INSERT = 5000  # rows staged by a VALUES statement rather than through Arrow


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
        """Insert ``rows`` with one ``INSERT ... SELECT`` from a staged copy, captured like
        any DML. Up to a few thousand rows are staged by one DuckDB ``VALUES`` statement
        (DuckDB parses it; the engine's Snowflake translation never sees the values), more
        through Arrow (whose import, with pandas, costs more than a batch of changes)."""
        if not rows:
            return 0
        width = len(columns)
        for i, row in enumerate(rows):
            if len(row) != width:
                raise SqlError(f"insert into {table}: row {i} has {len(row)} values, not {width}")
        cols = ", ".join(columns)
        name = f"__mcdc_src_{uuid.uuid4().hex}"
        if len(rows) <= SMALL_INSERT:
            group = "(" + ", ".join(["?"] * width) + ")"
            try:
                self.engine.con.execute(
                    f"CREATE TEMP TABLE {name} AS SELECT * FROM (VALUES {', '.join([group] * len(rows))})"
                    f" AS v ({cols})",
                    [value for row in rows for value in row],
                )
            except duckdb.Error as exc:
                raise SqlError(f"insert into {table}: {str(exc).splitlines()[0]}") from exc
            try:
                res = self.engine.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {name}")
            finally:
                self.engine.con.execute(f"DROP TABLE IF EXISTS temp.{name}")
            return int(res.rowcount or 0)
        import pyarrow as pa  # here: 0.1 s to import, and only bulk inserts need it

        data = {c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)}
        self.engine.con.register(name, pa.table(data))
        try:
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
