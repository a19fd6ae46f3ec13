"""Task and dynamic-table history: written by the engine, read through Snowflake's
``INFORMATION_SCHEMA.TASK_HISTORY`` and ``DYNAMIC_TABLE_REFRESH_HISTORY`` table
functions (reference 2.7 and 3.7), with their argument names and defaults.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlglot import exp

from moviecdc.emulator.catalog import SCHEMA, DynamicTableState, Key, TaskState
from moviecdc.emulator.session import Session
from moviecdc.errors import MovieCdcError, SqlError, UnsupportedSqlError


@dataclass
class TaskRun:
    task: TaskState
    root: TaskState
    scheduled: datetime
    started: datetime
    source: str  # SCHEDULE | EXECUTE_TASK | TRIGGER
    group: str


def record_task_run(
    engine: Session,
    run: TaskRun,
    state: str,
    exc: MovieCdcError | None,
    next_time: datetime | None,
    *,
    attempt: int = 1,
    return_value: str | None = None,
    config: dict[str, object] | None = None,
) -> None:
    t = run.task
    skipped = state == "SKIPPED"
    code = None
    if exc is not None:
        errno = getattr(exc, "errno", None)
        code = f"{errno:06d}" if isinstance(errno, int) else "100000"
    engine.con.execute(
        f"""INSERT INTO {SCHEMA}.task_history (QUERY_ID, NAME, DATABASE_NAME, SCHEMA_NAME,
            QUERY_TEXT, CONDITION_TEXT, STATE, ERROR_CODE, ERROR_MESSAGE, SCHEDULED_TIME,
            QUERY_START_TIME, NEXT_SCHEDULED_TIME, COMPLETED_TIME, ROOT_TASK_ID, GRAPH_VERSION,
            RUN_ID, RETURN_VALUE, SCHEDULED_FROM, ATTEMPT_NUMBER, CONFIG, GRAPH_RUN_GROUP_ID)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            None if skipped else str(uuid.uuid4()),
            t.name,
            t.database,
            t.schema,
            t.body,
            t.when,
            state,
            code,
            exc.message if exc is not None else None,
            run.scheduled,
            None if skipped else run.started,
            next_time,
            engine.tick(),
            run.root.id,
            run.root.graph_version,
            int(run.scheduled.timestamp() * 1000),
            return_value,
            run.source,
            attempt,
            json.dumps(config) if config is not None else None,
            run.group,
        ],
    )


def set_scheduled_row(engine: Session, task: TaskState, when: datetime | None) -> None:
    """Keep one future SCHEDULED row per started, scheduled task (reference 2.7)."""
    engine.con.execute(
        f"DELETE FROM {SCHEMA}.task_history WHERE STATE = 'SCHEDULED' AND SCHEMA_NAME = ? AND NAME = ?",
        [task.schema, task.name],
    )
    if when is None:
        return
    engine.con.execute(
        f"""INSERT INTO {SCHEMA}.task_history (NAME, DATABASE_NAME, SCHEMA_NAME, QUERY_TEXT,
            CONDITION_TEXT, STATE, SCHEDULED_TIME, ROOT_TASK_ID, GRAPH_VERSION, RUN_ID,
            SCHEDULED_FROM, ATTEMPT_NUMBER)
            VALUES (?, ?, ?, ?, ?, 'SCHEDULED', ?, ?, ?, ?, 'SCHEDULE', 1)""",
        [
            task.name, task.database, task.schema, task.body, task.when, when, task.id,
            task.graph_version, int(when.timestamp() * 1000),
        ],
    )  # fmt: skip


def record_refresh(
    engine: Session,
    dt: DynamicTableState,
    state: str,
    action: str,
    trigger: str,
    data_ts: datetime,
    started: datetime,
    *,
    code: str | None = None,
    message: str | None = None,
    stats: dict[str, int] | None = None,
    reinit_reason: str | None = None,
) -> None:
    """One row of DYNAMIC_TABLE_REFRESH_HISTORY. WAREHOUSE (bundle 2026_01) is the
    INITIALIZATION_WAREHOUSE for a (re)initialisation when one is set, else WAREHOUSE;
    none for a refresh that ran nothing (NO_DATA). REINIT_REASON (bundle 2026_02): why
    a REINITIALIZE refresh recomputed the table."""
    warehouse = None
    if action != "NO_DATA":
        init_wh = dt.params.get("INITIALIZATION_WAREHOUSE") if action == "REINITIALIZE" else None
        warehouse = init_wh or dt.warehouse
    prev = engine.con.execute(
        f"SELECT max(DATA_TIMESTAMP) FROM {SCHEMA}.refresh_history"
        " WHERE SCHEMA_NAME = ? AND NAME = ? AND STATE = 'SUCCEEDED'",
        [dt.schema, dt.name],
    ).fetchone()
    target = None
    if prev and prev[0] is not None and dt.lag_seconds is not None:
        target = prev[0] + timedelta(seconds=dt.lag_seconds)
    engine.con.execute(
        f"""INSERT INTO {SCHEMA}.refresh_history (NAME, SCHEMA_NAME, DATABASE_NAME, STATE,
            STATE_CODE, STATE_MESSAGE, QUERY_ID, DATA_TIMESTAMP, REFRESH_START_TIME,
            REFRESH_END_TIME, COMPLETION_TARGET, QUALIFIED_NAME, STATISTICS, REFRESH_ACTION,
            REFRESH_TRIGGER, TARGET_LAG_SEC, WAREHOUSE, REINIT_REASON)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            dt.name,
            dt.schema,
            dt.database,
            state,
            code or "",
            message or "",
            None if action == "NO_DATA" else str(uuid.uuid4()),
            data_ts,
            started,
            engine.tick(),
            target,
            f"{dt.database}.{dt.schema}.{dt.name}",
            json.dumps(stats or {"numInsertedRows": 0, "numDeletedRows": 0}),
            action,
            trigger,
            dt.lag_seconds,
            warehouse,
            reinit_reason if action == "REINITIALIZE" else None,
        ],
    )


def last_refresh_error(engine: Session, key: Key) -> str | None:
    row = engine.con.execute(
        f"SELECT STATE_MESSAGE FROM {SCHEMA}.refresh_history WHERE SCHEMA_NAME = ? AND NAME = ?"
        " ORDER BY REFRESH_START_TIME DESC, REFRESH_END_TIME DESC LIMIT 1",
        list(key),
    ).fetchone()
    return str(row[0]) if row and row[0] else None


# ------------------------------------------------------------ table functions
def _lit(value: object) -> str:
    if isinstance(value, exp.Expr):
        return value.sql(dialect="duckdb")
    return exp.convert(value).sql(dialect="duckdb")


def _limit(kwargs: dict[str, object]) -> int:
    limit = kwargs.pop("RESULT_LIMIT", 100)
    if not isinstance(limit, int) or not 1 <= limit <= 10000:
        raise SqlError("RESULT_LIMIT must be an integer between 1 and 10000")
    return limit


def _name_filter(kwargs: dict[str, object], key: str, engine: Session) -> list[str]:
    where: list[str] = []
    value = kwargs.pop(key, None)
    if value is None:
        return where
    parts = [p.strip('"') for p in str(value).split(".")]
    where.append(f"upper(NAME) = upper({_lit(parts[-1])})")
    if len(parts) >= 2:
        where.append(f"upper(SCHEMA_NAME) = upper({_lit(parts[-2])})")
    return where


def table_function_sql(engine: Session, name: str, kwargs: dict[str, object]) -> str:
    """DuckDB SQL answering one INFORMATION_SCHEMA table function call."""
    kwargs = dict(kwargs)
    if name == "TASK_HISTORY":
        limit = _limit(kwargs)
        where = _name_filter(kwargs, "TASK_NAME", engine)
        if (start := kwargs.pop("SCHEDULED_TIME_RANGE_START", None)) is not None:
            where.append(f"SCHEDULED_TIME >= CAST({_lit(start)} AS TIMESTAMPTZ)")
        else:
            week = engine.now() - timedelta(days=7)
            where.append(f"SCHEDULED_TIME >= CAST('{week.isoformat()}' AS TIMESTAMPTZ)")
        if (end := kwargs.pop("SCHEDULED_TIME_RANGE_END", None)) is not None:
            where.append(f"SCHEDULED_TIME <= CAST({_lit(end)} AS TIMESTAMPTZ)")
        if kwargs.pop("ERROR_ONLY", False):
            where.append("STATE IN ('FAILED', 'FAILED_AND_AUTO_SUSPENDED', 'CANCELLED')")
        if (root := kwargs.pop("ROOT_TASK_ID", None)) is not None:
            where.append(f"ROOT_TASK_ID = {_lit(root)}")
        if (schema := kwargs.pop("SCHEMA_NAME", None)) is not None:
            where.append(f"upper(SCHEMA_NAME) = upper({_lit(schema)})")
        kwargs.pop("DATABASE_NAME", None)
        table, order = (
            f"{SCHEMA}.task_history",
            "SCHEDULED_TIME DESC, COMPLETED_TIME DESC NULLS FIRST",
        )
    elif name == "DYNAMIC_TABLE_REFRESH_HISTORY":
        limit = _limit(kwargs)
        where = _name_filter(kwargs, "NAME", engine)
        if (prefix := kwargs.pop("NAME_PREFIX", None)) is not None:
            where.append(f"starts_with(upper(QUALIFIED_NAME), upper({_lit(prefix)}))")
        if (start := kwargs.pop("DATA_TIMESTAMP_START", None)) is not None:
            where.append(f"DATA_TIMESTAMP >= CAST({_lit(start)} AS TIMESTAMPTZ)")
        else:
            day = engine.now() - timedelta(days=1)
            where.append(f"DATA_TIMESTAMP >= CAST('{day.isoformat()}' AS TIMESTAMPTZ)")
        if (end := kwargs.pop("DATA_TIMESTAMP_END", None)) is not None:
            where.append(f"DATA_TIMESTAMP <= CAST({_lit(end)} AS TIMESTAMPTZ)")
        if kwargs.pop("ERROR_ONLY", False):
            where.append("STATE IN ('FAILED', 'UPSTREAM_FAILED', 'CANCELLED')")
        table, order = f"{SCHEMA}.refresh_history", "REFRESH_START_TIME DESC, REFRESH_END_TIME DESC"
    else:
        raise UnsupportedSqlError(f"INFORMATION_SCHEMA.{name} is not supported by the local engine")
    if kwargs:
        raise SqlError(f"invalid argument(s) for {name}: {', '.join(sorted(kwargs))}")
    cond = " AND ".join(where) or "TRUE"
    return f"SELECT * FROM {table} WHERE {cond} ORDER BY {order} LIMIT {limit}"
