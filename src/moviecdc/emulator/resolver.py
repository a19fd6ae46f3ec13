"""What translation asks of the engine: a stream's change set, SYSTEM$STREAM_HAS_DATA,
the INFORMATION_SCHEMA table functions and the statement time; and moving the offsets
of the streams a committed statement read."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import timedelta

from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.emulator import dt_monitor, history, metadata, retention, streams, view_streams
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import SCHEMA, StreamState, TrackedTable
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError


class SessionResolver:
    """:class:`moviecdc.emulator.translate.Resolver` over one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def stream_sql(self, table: exp.Table) -> str | None:
        s = self.session
        st = s.catalog.streams.get(s.resolve(table))
        if st is None:
            return None
        return stream_changes_sql(s, st, s.read_version)

    def changes_sql(self, table: exp.Table) -> str:
        s = self.session
        return view_streams.changes_sql(s, table, lambda expr: _evaluate(s, expr))

    def stream_has_data(self, name: str) -> bool:
        s = self.session
        st = s.catalog.streams.get(s.resolve(ddl.parse_name(name)))
        if st is None:
            raise SqlError(f"Stream '{name}' does not exist or not authorized.")
        if st.initial_rows or st.base_tables:
            check_source(s, st)
            if st.initial_rows:
                sql = stream_changes_sql(s, st, s.read_version)
                found = s.con.execute(f"SELECT EXISTS ({sql})").fetchone()
            else:
                tables = [(b[0], b[1]) for b in st.base_tables]
                found = (view_streams.has_changes(s, tables, st.offset, s.read_version),)
        else:
            found = s.con.execute(streams.has_changes_sql(stream_source(s, st), st.offset, s.read_version)).fetchone()
        if not (found and found[0]):
            # an empty stream checked by SYSTEM$STREAM_HAS_DATA restarts its staleness clock (1.6)
            if not s.read_only:
                st.last_consumed_on = s.now()
                s.catalog.save(st)
            return False
        return True

    def table_function_sql(self, name: str, kwargs: dict[str, object]) -> str:
        if name == "TASK_DEPENDENTS":
            return _task_dependents_sql(self.session, kwargs)
        if name in {"COMPLETE_TASK_GRAPHS", "CURRENT_TASK_GRAPHS"}:
            return _task_graphs_sql(self.session, name, kwargs)
        if name == "DYNAMIC_TABLE_GRAPH_HISTORY":
            return dt_monitor.graph_history_sql(self.session, kwargs)
        if name == "DYNAMIC_TABLES":
            return dt_monitor.dynamic_tables_sql(self.session, kwargs)
        return history.table_function_sql(self.session, name, kwargs)

    def statement_time_sql(self) -> str:
        return f"CAST('{self.session.statement_time().isoformat()}' AS TIMESTAMPTZ)"

    def information_schema_sql(self, view: str) -> str | None:
        return metadata.information_schema_sql(self.session, view)

    def task_graph_config(self, path: str | None) -> str | None:
        run = self.session.task_run
        if run is None:
            raise SqlError("SYSTEM$GET_TASK_GRAPH_CONFIG can only be called from a task run")
        value: object = run.config
        for part in _config_path(path):
            if isinstance(part, int):
                value = value[part] if isinstance(value, list) and -len(value) <= part < len(value) else None
            else:
                value = value.get(part) if isinstance(value, dict) else None
            if value is None:
                return None
        if value is None:
            return None
        return value if isinstance(value, str) else json.dumps(value)

    def predecessor_return_value(self, name: str | None) -> str | None:
        run = self.session.task_run
        if run is None:
            raise SqlError("SYSTEM$GET_PREDECESSOR_RETURN_VALUE can only be called from a task run")
        value = run.predecessor_value(self.session, name)
        return value if value is None else str(value)

    def task_runtime_info(self, prop: str) -> str | None:
        run = self.session.task_run
        if run is None:
            raise SqlError("SYSTEM$TASK_RUNTIME_INFO can only be called from a task run")
        what = prop.upper()
        current = {
            "CURRENT_TASK_NAME": f"{run.task.database}.{run.task.schema}.{run.task.name}",
            "CURRENT_ROOT_TASK_NAME": f"{run.root.database}.{run.root.schema}.{run.root.name}",
            "CURRENT_ROOT_TASK_UUID": run.root.id,
            "CURRENT_TASK_GRAPH_RUN_GROUP_ID": run.group,
            "CURRENT_TASK_GRAPH_ORIGINAL_SCHEDULED_TIMESTAMP": run.scheduled.isoformat() if run.scheduled else None,
        }
        if what in current:
            return current[what]
        if what in {
            "LAST_SUCCESSFUL_TASK_GRAPH_RUN_GROUP_ID",
            "LAST_SUCCESSFUL_TASK_GRAPH_ORIGINAL_SCHEDULED_TIMESTAMP",
        }:
            row = self.session.con.execute(
                f"SELECT GRAPH_RUN_GROUP_ID, min(SCHEDULED_TIME) FROM {SCHEMA}.task_history"
                " WHERE ROOT_TASK_ID = ? AND STATE <> 'SCHEDULED' AND GRAPH_RUN_GROUP_ID IS NOT NULL"
                " AND GRAPH_RUN_GROUP_ID <> ? GROUP BY GRAPH_RUN_GROUP_ID"
                " HAVING NOT bool_or(STATE LIKE 'FAILED%' OR STATE = 'SKIPPED' AND NAME = ?)"
                " ORDER BY max(COMPLETED_TIME) DESC LIMIT 1",
                [run.root.id, run.group, run.root.name],
            ).fetchone()
            if row is None:
                return None
            return str(row[0]) if what.endswith("GROUP_ID") else row[1].isoformat()
        raise SqlError(f"SYSTEM$TASK_RUNTIME_INFO: unknown property {prop!r}")

    def schema_in_other_case(self, schema: str) -> str | None:
        names = self.session.schema_names()
        if schema in names:
            return None
        return next((n for n in names if n.upper() == schema.upper()), None)


_PATH_PART = re.compile(r"\.?(?:([A-Za-z_$][\w$]*)|\[(\d+)\]|\[['\"]([^'\"]*)['\"]\]|\"([^\"]*)\")")


def _config_path(path: str | None) -> list[str | int]:
    """``a.b[0]`` / ``a['b c']`` as GET_PATH reads it: keys and indexes."""
    parts: list[str | int] = []
    text, i = (path or "").strip(), 0
    while i < len(text):
        m = _PATH_PART.match(text, i)
        if m is None or m.end() == i:
            raise SqlError(f"invalid path {path!r} for SYSTEM$GET_TASK_GRAPH_CONFIG")
        name, index, quoted, dquoted = m.groups()
        parts.append(int(index) if index is not None else (name or quoted or dquoted or ""))
        i = m.end()
    return parts


def context(session: Session) -> tr.Context:
    """A fresh translation context in the session's current schema."""
    return tr.Context(
        resolver=SessionResolver(session),
        schema=session.ctx.schema,
        database=session.ctx.database,
        temp_tables=frozenset(session.temp_tables),
    )


def translate(
    session: Session, expr: exp.Expr, params: Sequence[object] | None = None, *, clock: bool = True
) -> tuple[str, list[object], tr.Context]:
    """Translate a statement in the session's schema; returns (sql, bound, its context)."""
    ctx = context(session)
    sql, bound = tr.translate(expr, ctx, params, clock=clock)
    return sql, bound, ctx


def stream_source(session: Session, st: StreamState) -> TrackedTable:
    """The tracked table a stream reads; a stale stream cannot be read (reference 1.7)."""
    tt = session.catalog.tracked.get((st.source_schema, st.source_name))
    if tt is None or retention.is_stale(session, st):
        raise _stale(st)
    return tt


def _stale(st: StreamState) -> SqlError:
    return SqlError(
        f"Stream {st.database}.{st.schema}.{st.name} has become stale. Recreate it"
        " (CREATE OR REPLACE STREAM): unconsumed changes are lost."
    )


def check_source(session: Session, st: StreamState) -> None:
    """A stream on a view is stale once the view is replaced or dropped, or a table it
    reads is (reference 1.7)."""
    if not st.base_tables:
        stream_source(session, st)
        return
    if retention.is_stale(session, st) or any((b[0], b[1]) not in session.catalog.tracked for b in st.base_tables):
        raise _stale(st)
    try:
        fingerprint = view_streams.base_tables(session, (st.source_schema, st.source_name))[1]
    except SqlError:
        raise _stale(st) from None
    if fingerprint != st.view_fingerprint:
        raise _stale(st)


def stream_changes_sql(session: Session, st: StreamState, v1: int) -> str:
    """DuckDB SQL of a stream's change set from its offset to ``v1``."""
    check_source(session, st)
    return view_streams.change_set_sql(
        session,
        (st.source_schema, st.source_name),
        st.offset,
        v1,
        append_only=st.mode == "APPEND_ONLY",
        initial=st.initial_rows,
    )


def _evaluate(session: Session, expr: exp.Expr) -> object:
    """The value of a constant expression (a CHANGES point in time)."""
    sql, bound, _ = translate(session, exp.select(expr))
    row = session.con.execute(sql, bound or None).fetchone()
    return row[0] if row else None


def consume(session: Session, ctx: tr.Context) -> None:
    """Advance the offset of every stream a committed DML statement read (reference 1.4)."""
    read_at = session.read_version
    for table in ctx.streams:
        key = session.resolve(table)
        if session.in_user_transaction:
            # every read in an explicit transaction sees the same change set:
            # the offset moves when the transaction commits (reference 1.5)
            session.pending_offsets[key] = read_at
            continue
        st = session.catalog.streams[key]
        st.offset = read_at
        st.initial_rows = False  # SHOW_INITIAL_ROWS: only the first consumption
        st.last_consumed_on = session.now()
        session.catalog.save(st)


_DEPENDENT_COLUMNS = (
    "created_on", "name", "id", "database_name", "schema_name", "owner", "comment", "warehouse",
    "schedule", "predecessors", "state", "definition", "condition",
)  # fmt: skip


def _sql_text(value: object) -> str:
    return "NULL" if value is None else "'" + str(value).replace("'", "''") + "'"


def _task_dependents_sql(session: Session, kwargs: dict[str, object]) -> str:
    """TABLE(INFORMATION_SCHEMA.TASK_DEPENDENTS(TASK_NAME => '...', RECURSIVE => TRUE)): the
    task, then the tasks after it (all of them, or only its children)
    (https://docs.snowflake.com/en/sql-reference/functions/task_dependents)."""
    kwargs = dict(kwargs)
    name = kwargs.pop("TASK_NAME", None)
    recursive = bool(kwargs.pop("RECURSIVE", True))
    if kwargs:
        raise SqlError(f"TASK_DEPENDENTS has no argument {', '.join(kwargs)}")
    if not isinstance(name, str):
        raise SqlError("TASK_DEPENDENTS needs TASK_NAME => '<name>'")
    cat = session.catalog
    start = cat.tasks.get(session.resolve(ddl.parse_name(name)))
    if start is None:
        raise SqlError(f"Task '{name}' does not exist or not authorized.")
    found, todo = [start], [start]
    while todo:
        t = todo.pop(0)
        me = f"{t.schema}.{t.name}"
        for child in sorted((c for c in cat.tasks.values() if me in c.after), key=lambda c: c.name):
            if child not in found:
                found.append(child)
                if recursive:
                    todo.append(child)
    rows = []
    for t in found:
        preds = json.dumps([f"{t.database}.{p}" for p in t.after])
        values = (
            t.created_on.isoformat(), t.name, t.id, t.database, t.schema, t.owner, t.comment or "", t.warehouse,
            t.schedule, preds, t.state, t.body, t.when,
        )  # fmt: skip
        cells = [f"CAST({_sql_text(values[0])} AS TIMESTAMPTZ)", *(_sql_text(v) for v in values[1:])]
        rows.append("(" + ", ".join(cells) + ")")
    cols = ", ".join(f'"{c}"' for c in _DEPENDENT_COLUMNS)
    return f"SELECT * FROM (VALUES {', '.join(rows)}) AS _d({cols})"


def _task_graphs_sql(session: Session, name: str, kwargs: dict[str, object]) -> str:
    """COMPLETE_TASK_GRAPHS: one row per attempt of a graph run that ended in the past 60
    minutes (none for a SKIPPED root), newest first; CURRENT_TASK_GRAPHS: the next scheduled
    run of each started root (nothing executes between statements locally)
    (https://docs.snowflake.com/en/sql-reference/functions/complete_task_graphs,
    https://docs.snowflake.com/en/sql-reference/functions/current_task_graphs)."""
    kwargs = dict(kwargs)
    limit = int(kwargs.pop("RESULT_LIMIT", 1000))  # type: ignore[call-overload]
    if not 1 <= limit <= 10000:
        raise SqlError(f"invalid RESULT_LIMIT {limit} for {name} (1 to 10000)")
    root_name = kwargs.pop("ROOT_TASK_NAME", None)
    error_only = bool(kwargs.pop("ERROR_ONLY", False)) if name == "COMPLETE_TASK_GRAPHS" else False
    if kwargs:
        raise SqlError(f"{name} has no argument {', '.join(kwargs)}")
    roots = [(t.id, t.name) for t in session.catalog.tasks.values()]
    ids = " UNION ALL ".join(f"SELECT {_sql_text(i)} AS id, {_sql_text(n)} AS name" for i, n in roots)
    ids = ids or "SELECT NULL::VARCHAR AS id, NULL::VARCHAR AS name WHERE false"
    where_root = "" if root_name is None else f" AND upper(r.name) = upper({_sql_text(root_name)})"
    if name == "CURRENT_TASK_GRAPHS":
        return (
            f"SELECT r.name AS ROOT_TASK_NAME, h.DATABASE_NAME, h.SCHEMA_NAME, 'SCHEDULED' AS STATE,"
            " h.SCHEDULED_FROM, NULL::VARCHAR AS FIRST_ERROR_TASK_NAME, NULL::BIGINT AS FIRST_ERROR_CODE,"
            " NULL::VARCHAR AS FIRST_ERROR_MESSAGE, h.SCHEDULED_TIME, NULL::TIMESTAMPTZ AS QUERY_START_TIME,"
            " h.SCHEDULED_TIME AS NEXT_SCHEDULED_TIME, h.ROOT_TASK_ID, h.GRAPH_VERSION, h.RUN_ID,"
            " h.ATTEMPT_NUMBER, h.CONFIG, h.GRAPH_RUN_GROUP_ID"
            f" FROM {SCHEMA}.task_history h JOIN ({ids}) r ON r.id = h.ROOT_TASK_ID AND r.name = h.NAME"
            f" WHERE h.STATE = 'SCHEDULED'{where_root} ORDER BY h.SCHEDULED_TIME DESC LIMIT {limit}"
        )
    since = (session.now() - timedelta(minutes=60)).isoformat()
    error_filter = " AND STATE <> 'SUCCEEDED'" if error_only else ""
    return f"""
        WITH runs AS (
            SELECT h.*, r.name AS root_name FROM {SCHEMA}.task_history h LEFT JOIN ({ids}) r ON r.id = h.ROOT_TASK_ID
            WHERE h.STATE <> 'SCHEDULED' AND h.GRAPH_RUN_GROUP_ID IS NOT NULL
        ), graphs AS (
            SELECT GRAPH_RUN_GROUP_ID, ATTEMPT_NUMBER, any_value(root_name) AS ROOT_TASK_NAME,
                any_value(DATABASE_NAME) AS DATABASE_NAME, any_value(SCHEMA_NAME) AS SCHEMA_NAME,
                CASE WHEN bool_or(STATE LIKE 'FAILED%') THEN 'FAILED'
                     WHEN bool_or(STATE = 'CANCELLED') THEN 'CANCELLED' ELSE 'SUCCEEDED' END AS STATE,
                bool_or(NAME = root_name AND STATE = 'SKIPPED') AS root_skipped,
                any_value(SCHEDULED_FROM) AS SCHEDULED_FROM,
                arg_min(NAME, COMPLETED_TIME) FILTER (WHERE ERROR_CODE IS NOT NULL) AS FIRST_ERROR_TASK_NAME,
                TRY_CAST(arg_min(ERROR_CODE, COMPLETED_TIME) FILTER (WHERE ERROR_CODE IS NOT NULL) AS BIGINT)
                    AS FIRST_ERROR_CODE,
                arg_min(ERROR_MESSAGE, COMPLETED_TIME) FILTER (WHERE ERROR_CODE IS NOT NULL) AS FIRST_ERROR_MESSAGE,
                min(SCHEDULED_TIME) AS SCHEDULED_TIME, min(QUERY_START_TIME) AS QUERY_START_TIME,
                max(NEXT_SCHEDULED_TIME) AS NEXT_SCHEDULED_TIME, max(COMPLETED_TIME) AS COMPLETED_TIME,
                any_value(ROOT_TASK_ID) AS ROOT_TASK_ID, any_value(GRAPH_VERSION) AS GRAPH_VERSION,
                min(RUN_ID) AS RUN_ID, any_value(CONFIG) AS CONFIG
            FROM runs GROUP BY GRAPH_RUN_GROUP_ID, ATTEMPT_NUMBER
        )
        SELECT ROOT_TASK_NAME, DATABASE_NAME, SCHEMA_NAME, STATE, SCHEDULED_FROM, FIRST_ERROR_TASK_NAME,
            FIRST_ERROR_CODE, FIRST_ERROR_MESSAGE, SCHEDULED_TIME, QUERY_START_TIME, NEXT_SCHEDULED_TIME,
            COMPLETED_TIME, ROOT_TASK_ID, GRAPH_VERSION, RUN_ID, ATTEMPT_NUMBER, CONFIG, GRAPH_RUN_GROUP_ID
        FROM graphs r WHERE NOT root_skipped AND COMPLETED_TIME >= CAST('{since}' AS TIMESTAMPTZ)
            {where_root.replace("r.name", "r.ROOT_TASK_NAME")}{error_filter}
        ORDER BY COMPLETED_TIME DESC LIMIT {limit}"""
