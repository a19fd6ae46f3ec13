"""Dynamic-table monitoring: the ``INFORMATION_SCHEMA.DYNAMIC_TABLE_GRAPH_HISTORY`` and
``DYNAMIC_TABLES`` table functions, with Snowflake's columns and arguments.

The engine keeps one row per description of a dynamic table in ``_moviecdc.graph_history``
(``record`` opens a new one when CREATE, ALTER, SUSPEND or RESUME changes it; ``close``
ends it when the table is dropped). DYNAMIC_TABLES computes its lag statistics from the
refresh history: the actual lag at a moment is that moment minus the data timestamp of the
table's content then (the DATA_TIMESTAMP of the last successful refresh completed by then).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb
from sqlglot import exp

from moviecdc.emulator.catalog import SCHEMA, DynamicTableState, Key
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError, UnsupportedSqlError

TABLE = f"{SCHEMA}.graph_history"
RETENTION = timedelta(days=7)  # both functions look back 7 days
CREATE, ALTER_LAG, ALTER_WAREHOUSE, SUSPEND, RESUME, NONE = (
    "CREATE_DYNAMIC_TABLE", "ALTER_TARGET_LAG", "ALTER_WAREHOUSE", "SUSPEND", "RESUME", "NONE",
)  # fmt: skip
# the reason messages Snowflake's documentation shows; other reasons carry only their code
REASON_MESSAGES = {
    "SUSPENDED_DUE_TO_ERRORS": "The DT was suspended due to 5 consecutive refresh errors",
    "UPSTREAM_SUSPENDED_DUE_TO_ERRORS": "The DT was suspended because an input DT had 5 consecutive refresh errors",
}

GRAPH_COLUMNS: list[tuple[str, str]] = [
    ("NAME", "VARCHAR"), ("SCHEMA_NAME", "VARCHAR"), ("DATABASE_NAME", "VARCHAR"), ("QUALIFIED_NAME", "VARCHAR"),
    ("INPUTS", "JSON"), ("TARGET_LAG_TYPE", "VARCHAR"), ("TARGET_LAG_SEC", "BIGINT"), ("QUERY_TEXT", "VARCHAR"),
    ("VALID_FROM", "TIMESTAMPTZ"), ("VALID_TO", "TIMESTAMPTZ"), ("SCHEDULING_STATE", "JSON"),
    ("ALTER_TRIGGER", "JSON"), ("SCHEDULER", "VARCHAR"),
]  # fmt: skip
DT_COLUMNS: list[tuple[str, str]] = [
    ("NAME", "VARCHAR"), ("SCHEMA_NAME", "VARCHAR"), ("DATABASE_NAME", "VARCHAR"), ("QUALIFIED_NAME", "VARCHAR"),
    ("TARGET_LAG_SEC", "BIGINT"), ("TARGET_LAG_TYPE", "VARCHAR"), ("SCHEDULING_STATE", "JSON"),
    ("MEAN_LAG_SEC", "BIGINT"), ("MAXIMUM_LAG_SEC", "BIGINT"), ("TIME_ABOVE_TARGET_LAG_SEC", "BIGINT"),
    ("TIME_WITHIN_TARGET_LAG_RATIO", "DOUBLE"), ("LATEST_DATA_TIMESTAMP", "TIMESTAMPTZ"),
    ("LAST_COMPLETED_REFRESH_STATE", "VARCHAR"), ("LAST_COMPLETED_REFRESH_STATE_CODE", "VARCHAR"),
    ("LAST_COMPLETED_REFRESH_STATE_MESSAGE", "VARCHAR"), ("EXECUTING_REFRESH_QUERY_ID", "VARCHAR"),
    ("SCHEDULER", "VARCHAR"),
]  # fmt: skip
# DYNAMIC_TABLES' default order: by the last completed refresh state
_STATE_ORDER = {"FAILED": 0, "UPSTREAM_FAILED": 1, "SKIPPED": 2, "SUCCEEDED": 3, "CANCELLED": 4, "CANCELED": 4}


# ------------------------------------------------------------ descriptions
def _ts(value: datetime | None) -> str | None:
    return None if value is None else value.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + " Z"


def _inputs(engine: Session, dt: DynamicTableState) -> list[dict[str, str]]:
    views = {
        (str(s).upper(), str(n).upper())
        for s, n in engine.con.execute(
            "SELECT schema_name, view_name FROM duckdb_views()"
            " WHERE NOT internal AND database_name = current_database()"
        ).fetchall()
    }
    out = []
    for s, n in (tuple(i) for i in dt.inputs):
        key = (s, n)
        if key in engine.catalog.dynamic_tables:
            kind = "DYNAMIC_TABLE"
        elif key not in engine.catalog.tracked and (s.upper(), n.upper()) in views:
            kind = "VIEW"
        else:
            kind = "TABLE"
        out.append({"name": f"{dt.database}.{s}.{n}", "kind": kind})
    return out


def _state(dt: DynamicTableState, resumed_on: str | None) -> dict[str, str]:
    if dt.scheduling_state != "SUSPENDED":
        return {"state": "ACTIVE", **({"resumed_on": resumed_on} if resumed_on else {})}
    state = {"state": "SUSPENDED"}
    if dt.suspended_reason:
        state["reason_code"] = dt.suspended_reason
        if dt.suspended_reason in REASON_MESSAGES:
            state["reason_message"] = REASON_MESSAGES[dt.suspended_reason]
    if dt.last_suspended_on is not None:
        state["suspended_on"] = str(_ts(dt.last_suspended_on))
    return state


def _open_row(engine: Session, key: Key) -> tuple[Any, ...] | None:
    return engine.con.execute(
        f"SELECT INPUTS, TARGET_LAG_TYPE, TARGET_LAG_SEC, QUERY_TEXT, SCHEDULING_STATE, SCHEDULER FROM {TABLE}"
        " WHERE SCHEMA_NAME = ? AND NAME = ? AND VALID_TO IS NULL",
        list(key),
    ).fetchone()


def _description(engine: Session, dt: DynamicTableState, previous: tuple[Any, ...] | None) -> tuple[Any, ...]:
    """INPUTS, TARGET_LAG_TYPE, TARGET_LAG_SEC, QUERY_TEXT, SCHEDULING_STATE, SCHEDULER."""
    before = json.loads(previous[4]) if previous else {}
    resumed = None
    if dt.scheduling_state != "SUSPENDED":
        resumed = before.get("resumed_on") if before.get("state") != "SUSPENDED" else _ts(engine.now())
    return (
        json.dumps(_inputs(engine, dt)),
        "DOWNSTREAM" if dt.lag_seconds is None else "USER_DEFINED",
        dt.lag_seconds,
        dt.query.strip(),
        json.dumps(_state(dt, resumed)),
        dt.scheduler,
    )


def record(engine: Session, dt: DynamicTableState, triggers: list[str]) -> None:
    """A new description of ``dt`` from now, when it changed (or the table was created, or
    its warehouse changed: each makes an entry); the one it replaces ends now."""
    previous = _open_row(engine, dt.key)
    desc = _description(engine, dt, previous)
    forced = bool({CREATE, ALTER_WAREHOUSE} & set(triggers))
    if previous is not None and not forced and _same(previous, desc):
        return
    now = engine.now()
    close(engine, dt.key)
    engine.con.execute(
        f"INSERT INTO {TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
        [
            dt.name, dt.schema, dt.database, f"{dt.database}.{dt.schema}.{dt.name}", desc[0], desc[1], desc[2],
            desc[3], now, desc[4], json.dumps(triggers or [NONE]), desc[5],
        ],
    )  # fmt: skip


def _same(previous: tuple[Any, ...], desc: tuple[Any, ...]) -> bool:
    old = (json.loads(previous[0]), *previous[1:4], json.loads(previous[4]), previous[5])
    new = (json.loads(desc[0]), *desc[1:4], json.loads(desc[4]), desc[5])
    return old == new


def close(engine: Session, key: Key) -> None:
    """The table's current description ends now (it was replaced or dropped)."""
    engine.con.execute(
        f"UPDATE {TABLE} SET VALID_TO = ? WHERE SCHEMA_NAME = ? AND NAME = ? AND VALID_TO IS NULL",
        [engine.now(), *key],
    )


# ------------------------------------------------------------ result SQL
def _sql(value: object, dtype: str) -> str:
    if value is None:
        lit = "NULL"
    elif isinstance(value, datetime):
        lit = f"'{value.isoformat()}'"
    elif isinstance(value, bool | int | float):
        lit = repr(value)
    else:
        lit = "'" + str(value).replace("'", "''") + "'"
    return f"CAST({lit} AS {dtype})"


def _rows_sql(columns: list[tuple[str, str]], rows: list[tuple[Any, ...]]) -> str:
    if not rows:
        return "SELECT " + ", ".join(f"{_sql(None, t)} AS {c}" for c, t in columns) + " WHERE FALSE"
    selects = [
        "SELECT " + ", ".join(f"{_sql(v, t)} AS {c}" for v, (c, t) in zip(row, columns, strict=True)) for row in rows
    ]
    return " UNION ALL ".join(selects)


def _time(engine: Session, value: object, arg: str) -> datetime:
    sql = value.sql(dialect="duckdb") if isinstance(value, exp.Expr) else exp.convert(value).sql(dialect="duckdb")
    try:
        row = engine.con.execute(f"SELECT CAST({sql} AS TIMESTAMPTZ)").fetchone()
    except duckdb.Error as exc:
        raise SqlError(f"invalid value for {arg}: {sql}") from exc
    if row is None or not isinstance(row[0], datetime):
        raise SqlError(f"invalid value for {arg}: {sql}")
    return row[0]


def _has_table(engine: Session) -> bool:
    row = engine.con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'graph_history'"
        " AND database_name = current_database()",
        [SCHEMA],
    ).fetchone()
    return bool(row and row[0])


def graph_history_sql(engine: Session, kwargs: dict[str, object]) -> str:
    """DYNAMIC_TABLE_GRAPH_HISTORY([AS_OF => t] | [HISTORY_START => t [, HISTORY_END => t]])."""
    kwargs = dict(kwargs)
    as_of = kwargs.pop("AS_OF", None)
    start, end = kwargs.pop("HISTORY_START", None), kwargs.pop("HISTORY_END", None)
    if kwargs:
        raise SqlError(f"invalid argument(s) for DYNAMIC_TABLE_GRAPH_HISTORY: {', '.join(sorted(kwargs))}")
    if end is not None and start is None:
        raise SqlError("HISTORY_END must be given with HISTORY_START")
    if as_of is not None and start is not None:
        raise UnsupportedSqlError("AS_OF together with HISTORY_START is not supported by the local engine")
    now = engine.now()
    cols = ", ".join(c for c, _ in GRAPH_COLUMNS)
    params: list[object] = [now - RETENTION]
    where = "(VALID_TO IS NULL OR VALID_TO >= ?)"
    if as_of is not None:
        where += " AND VALID_FROM <= ? AND (VALID_TO IS NULL OR VALID_TO > ?)"
        params += [_time(engine, as_of, "AS_OF")] * 2
    elif start is not None:
        where += " AND (VALID_TO IS NULL OR VALID_TO >= ?) AND VALID_FROM <= ?"
        params += [_time(engine, start, "HISTORY_START"), now if end is None else _time(engine, end, "HISTORY_END")]
    else:
        where += " AND VALID_TO IS NULL"
    rows: list[tuple[Any, ...]] = []
    described: set[Key] = set()
    if _has_table(engine):
        rows = [tuple(r) for r in engine.con.execute(
            f"SELECT {cols} FROM {TABLE} WHERE {where} ORDER BY QUALIFIED_NAME, VALID_FROM", params
        ).fetchall()]  # fmt: skip
        described = {
            (str(s), str(n))
            for s, n in engine.con.execute(f"SELECT SCHEMA_NAME, NAME FROM {TABLE} WHERE VALID_TO IS NULL").fetchall()
        }
    # a table an older engine created has no entry: its current description, from its creation
    last = params[-1] if start is not None or as_of is not None else now
    for key, dt in sorted(engine.catalog.dynamic_tables.items()):
        if key not in described and isinstance(last, datetime) and dt.created_on <= last:
            rows.append(_synthesized(engine, dt))
    return _rows_sql(GRAPH_COLUMNS, rows)


def _synthesized(engine: Session, dt: DynamicTableState) -> tuple[Any, ...]:
    d = _description(engine, dt, None)
    return (
        dt.name, dt.schema, dt.database, f"{dt.database}.{dt.schema}.{dt.name}", d[0], d[1], d[2], d[3],
        dt.created_on, None, d[4], json.dumps([NONE]), d[5],
    )  # fmt: skip


# ------------------------------------------------------------ DYNAMIC_TABLES
def _connected(engine: Session, key: Key) -> set[Key]:
    """The dynamic tables linked to ``key`` through reads of one another, transitively."""
    dts = engine.catalog.dynamic_tables
    links: dict[Key, set[Key]] = {k: set() for k in dts}
    for k, dt in dts.items():
        for i in dt.inputs:
            up = (i[0], i[1])
            if up in dts:
                links[k].add(up)
                links[up].add(k)
    seen, todo = {key}, [key]
    while todo:
        for n in links[todo.pop()] - seen:
            seen.add(n)
            todo.append(n)
    return seen


def lag_metrics(
    refreshes: list[tuple[datetime, datetime]], target: int | None, now: datetime
) -> tuple[float | None, float | None, float | None, float | None]:
    """Mean and maximum actual lag, time above the target lag and the share of time within
    it, from ``refreshes`` (completion time, data timestamp) of the successful refreshes in
    the window, oldest first, until ``now``; all None without one."""
    if not refreshes:
        return None, None, None, None
    total = (now - refreshes[0][0]).total_seconds()
    area, peak, above = 0.0, 0.0, 0.0
    for i, (start, data_ts) in enumerate(refreshes):
        stop = refreshes[i + 1][0] if i + 1 < len(refreshes) else now
        a, b = (start - data_ts).total_seconds(), (stop - data_ts).total_seconds()  # the lag at both ends
        area += (b * b - a * a) / 2
        peak = max(peak, b)
        if target is not None:
            above += max(0.0, b - max(a, float(target)))
    if total <= 0:
        return None, peak, None, None
    if target is None:
        return area / total, peak, None, None
    return area / total, peak, above, (total - above) / total


def _whole(value: float | None) -> int | None:
    return None if value is None else round(value)


def dynamic_tables_sql(engine: Session, kwargs: dict[str, object]) -> str:
    """DYNAMIC_TABLES([NAME => ...] [, REFRESH_DATA_TIMESTAMP_START => ...] [, RESULT_LIMIT => n]
    [, INCLUDE_CONNECTED => TRUE | FALSE])."""
    kwargs = dict(kwargs)
    name, connected = kwargs.pop("NAME", None), bool(kwargs.pop("INCLUDE_CONNECTED", False))
    start_arg, limit = kwargs.pop("REFRESH_DATA_TIMESTAMP_START", None), kwargs.pop("RESULT_LIMIT", None)
    if kwargs:
        raise SqlError(f"invalid argument(s) for DYNAMIC_TABLES: {', '.join(sorted(kwargs))}")
    if connected and (name is None or limit is not None):
        raise SqlError("INCLUDE_CONNECTED => TRUE needs NAME and no RESULT_LIMIT")
    if limit is None:
        limit = 100
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 10000:
        raise SqlError("RESULT_LIMIT must be an integer between 1 and 10000")
    now = engine.now()
    earliest = now - RETENTION
    if start_arg is not None:
        earliest = max(earliest, _time(engine, start_arg, "REFRESH_DATA_TIMESTAMP_START"))
    dts = engine.catalog.dynamic_tables
    keys = sorted(dts)
    if name is not None:
        parts = [p.strip('"') for p in str(name).split(".")]
        schema = parts[-2] if len(parts) >= 2 else engine.ctx.schema
        found = [k for k in keys if k[0].upper() == schema.upper() and k[1].upper() == parts[-1].upper()]
        keys = sorted(_connected(engine, found[0])) if found and connected else found
    rows = _dt_rows(engine, [dts[k] for k in keys], earliest, now)
    rows.sort(key=lambda r: (_STATE_ORDER.get(str(r[12]), 5), r[3]))
    return _rows_sql(DT_COLUMNS, rows[:limit])


def _dt_rows(
    engine: Session, tables: list[DynamicTableState], earliest: datetime, now: datetime
) -> list[tuple[Any, ...]]:
    history = f"{SCHEMA}.refresh_history"
    changed: dict[Key, datetime] = {}  # the lag is measured since the target lag was last set
    states: dict[Key, dict[str, str]] = {}
    if _has_table(engine):
        for schema, name, valid_from in engine.con.execute(
            f"SELECT SCHEMA_NAME, NAME, max(VALID_FROM) FROM {TABLE} WHERE ALTER_TRIGGER LIKE '%CREATE_DYNAMIC_TABLE%'"
            " OR ALTER_TRIGGER LIKE '%ALTER_TARGET_LAG%' GROUP BY ALL"
        ).fetchall():
            changed[(schema, name)] = valid_from
        for schema, name, state in engine.con.execute(
            f"SELECT SCHEMA_NAME, NAME, SCHEDULING_STATE FROM {TABLE} WHERE VALID_TO IS NULL"
        ).fetchall():
            states[(schema, name)] = json.loads(state)
    refreshes: dict[Key, list[tuple[datetime, datetime]]] = {}
    last: dict[Key, tuple[Any, ...]] = {}
    for schema, name, state, code, message, data_ts, end in engine.con.execute(
        f"SELECT SCHEMA_NAME, NAME, STATE, STATE_CODE, STATE_MESSAGE, DATA_TIMESTAMP, REFRESH_END_TIME FROM {history}"
        " WHERE STATE IN ('SUCCEEDED', 'FAILED', 'UPSTREAM_FAILED', 'CANCELLED') AND DATA_TIMESTAMP >= ?"
        " ORDER BY REFRESH_END_TIME",
        [now - RETENTION],
    ).fetchall():
        key = (schema, name)
        last[key] = (state, code, message)
        if state == "SUCCEEDED":
            refreshes.setdefault(key, []).append((end, data_ts))
    rows = []
    for dt in tables:
        since = max(earliest, changed.get(dt.key, dt.created_on))
        mine = [(end, data_ts) for end, data_ts in refreshes.get(dt.key, []) if data_ts >= since]
        mean, peak, above, ratio = lag_metrics(mine, dt.lag_seconds, now)
        state, code, message = last.get(dt.key, (None, None, None))
        if state == "SUCCEEDED":  # as the documentation's example shows it
            code, message = "SUCCESS", None
        sched = states.get(dt.key) or _state(dt, None)
        sched["state"] = "RUNNING" if sched["state"] == "ACTIVE" else sched["state"]  # this function's word
        rows.append((
            dt.name, dt.schema, dt.database, f"{dt.database}.{dt.schema}.{dt.name}", dt.lag_seconds,
            "DOWNSTREAM" if dt.lag_seconds is None else "USER_DEFINED", json.dumps(sched), _whole(mean),
            _whole(peak), _whole(above), ratio, dt.data_timestamp, state, code or None, message or None, None,
            dt.scheduler,
        ))  # fmt: skip
    return rows
