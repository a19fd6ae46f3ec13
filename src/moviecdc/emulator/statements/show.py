"""SHOW and DESCRIBE of streams, tasks and dynamic tables, with Snowflake's columns."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from moviecdc.dialect import ddl
from moviecdc.emulator import (
    retention,
)
from moviecdc.emulator.catalog import DynamicTableState, Key, StreamState, TaskState
from moviecdc.emulator.core import Core
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows


# --------------------------------------------------------------------- SHOW
def _like(pattern: str | None, name: str) -> bool:
    if pattern is None:
        return True
    glob = re.sub(r"[%_]", lambda m: "*" if m.group() == "%" else "?", pattern)
    return fnmatch.fnmatchcase(name.upper(), glob.upper())


def show(engine: Core, stmt: ddl.Show, text: str) -> Rows:
    """SHOW STREAMS / TASKS / DYNAMIC TABLES with Snowflake's columns (1.9, 2.8, 3.9)."""
    cat = engine.catalog
    schema: str | None = engine.ctx.schema
    if stmt.scope in {"ACCOUNT", "DATABASE"}:
        schema = None
    elif stmt.scope == "SCHEMA" and stmt.scope_name is not None:
        schema = stmt.scope_name.name
    stores: dict[str, dict[Key, Any]] = {
        "STREAMS": cat.streams,
        "TASKS": cat.tasks,
        "DYNAMIC TABLES": cat.dynamic_tables,
    }
    store = stores[stmt.kind]
    objs = sorted(
        (o for k, o in store.items() if (schema is None or k[0] == schema) and _like(stmt.like, k[1])),
        key=lambda o: (o.database, o.schema, o.name),
    )
    builders: dict[str, Callable[[Core, Any], tuple[object, ...]]] = {
        "STREAMS": _stream_row,
        "TASKS": _task_row,
        "DYNAMIC TABLES": _dt_row,
    }
    builder = builders[stmt.kind]
    rows = [builder(engine, o) for o in objs]
    columns = {"STREAMS": STREAM_COLUMNS, "TASKS": TASK_COLUMNS, "DYNAMIC TABLES": DT_COLUMNS}[stmt.kind]
    if stmt.terse:
        keep = {
            "STREAMS": ["created_on", "name", "type", "database_name", "schema_name", "table_name"],
            "TASKS": ["created_on", "name", "database_name", "schema_name", "schedule"],
            "DYNAMIC TABLES": ["created_on", "name", "database_name", "schema_name"],
        }[stmt.kind]
        idx = [columns.index(c) for c in keep]
        rename = {"type": "kind", "table_name": "tableOn"}
        return Rows(columns=[rename.get(c, c) for c in keep], rows=[tuple(r[i] for i in idx) for r in rows])
    return Rows(columns=columns, rows=rows)


def describe(engine: Core, stmt: ddl.Describe, text: str) -> Rows:
    """DESCRIBE STREAM / TASK / DYNAMIC TABLE: the SHOW row of one object."""
    kind = {"STREAM": "STREAMS", "TASK": "TASKS", "DYNAMIC TABLE": "DYNAMIC TABLES"}.get(stmt.kind)
    if kind is None:
        raise UnsupportedSqlError(f"DESCRIBE {stmt.kind} is not supported locally", statement=text)
    key = engine.resolve(stmt.name)
    res = show(engine, ddl.Show(kind, scope="SCHEMA", scope_name=ddl.Name((key[0],))), text)
    rows = [r for r in res.rows if r[1] == key[1]]
    if not rows:
        raise SqlError(f"{stmt.kind.title()} '{stmt.name}' does not exist or not authorized.", statement=text)
    return Rows(columns=res.columns, rows=rows)


STREAM_COLUMNS = [
    "created_on", "name", "database_name", "schema_name", "owner", "comment", "table_name",
    "source_type", "base_tables", "type", "stale", "mode", "stale_after", "invalid_reason",
    "owner_role_type",
]  # fmt: skip


TASK_COLUMNS = [
    "created_on", "name", "id", "database_name", "schema_name", "owner", "comment", "warehouse",
    "schedule", "predecessors", "state", "definition", "condition", "allow_overlapping_execution",
    "error_integration", "last_committed_on", "last_suspended_on", "owner_role_type", "config",
    "budget", "task_relations", "last_suspended_reason",
]  # fmt: skip


DT_COLUMNS = [
    "created_on", "name", "reserved", "database_name", "schema_name", "cluster_by", "rows",
    "bytes", "owner", "target_lag", "scheduler", "refresh_mode", "refresh_mode_reason",
    "warehouse", "comment", "text", "automatic_clustering", "scheduling_state",
    "last_suspended_on", "is_clone", "is_replica", "is_iceberg", "data_timestamp",
    "owner_role_type", "immutable_where", "execute_as_user",
]  # fmt: skip


def _stream_row(engine: Core, st: StreamState) -> tuple[object, ...]:
    fq_table = f"{st.database}.{st.source_schema}.{st.source_name}"
    return (
        st.created_on, st.name, st.database, st.schema, st.owner, st.comment or "", fq_table,
        st.source_kind, fq_table, "DELTA", "true" if retention.is_stale(engine, st) else "false", st.mode,
        retention.stale_after(engine, st), "N/A", "ROLE",
    )  # fmt: skip


def _task_row(engine: Core, t: TaskState) -> tuple[object, ...]:
    import json

    preds = [f"{t.database}.{p}" for p in t.after]
    relations = json.dumps({"Predecessors": preds})
    return (
        t.created_on, t.name, t.id, t.database, t.schema, t.owner, t.comment or "", t.warehouse,
        t.schedule, json.dumps(preds), t.state, t.body, t.when,
        None if t.after else "false", None, t.last_committed_on, t.last_suspended_on, "ROLE",
        None, None, relations, t.last_suspended_reason,
    )  # fmt: skip


def _dt_row(engine: Core, dt: DynamicTableState) -> tuple[object, ...]:
    row = engine.con.execute(f"SELECT count(*) FROM {engine.fq(dt.key)}").fetchone()
    return (
        dt.created_on, dt.name, None, dt.database, dt.schema, "", row[0] if row else 0, None,
        dt.owner, dt.target_lag, "ENABLE", dt.refresh_mode, dt.refresh_mode_reason, dt.warehouse,
        dt.comment or "", dt.text, "OFF", dt.scheduling_state, dt.last_suspended_on, "false",
        "false", "false", dt.data_timestamp, "ROLE", None, None,
    )  # fmt: skip
