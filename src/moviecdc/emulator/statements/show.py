"""SHOW and DESCRIBE of streams, tasks and dynamic tables, with Snowflake's columns."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from typing import Any

from moviecdc.dialect import ddl
from moviecdc.emulator import (
    metadata,
    retention,
    tasks,
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
    if stmt.starts_with is not None:  # case-sensitive, on the name as stored (SHOW ... STARTS WITH)
        objs = [o for o in objs if o.name.startswith(stmt.starts_with)]
    if stmt.root_only:
        objs = [o for o in objs if not o.after and not o.params.get("FINALIZE")]
    if stmt.limit_from is not None:
        objs = [o for o in objs if o.name >= stmt.limit_from]
    if stmt.limit is not None:
        objs = objs[: stmt.limit]
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
        out = Rows(columns=[rename.get(c, c) for c in keep], rows=[tuple(r[i] for i in idx) for r in rows])
        if stmt.kind == "TASKS":  # SHOW TERSE TASKS has a kind column, NULL for every task
            out = Rows(
                columns=[*out.columns[:2], "kind", *out.columns[2:]], rows=[(*r[:2], None, *r[2:]) for r in out.rows]
            )
        return out
    return Rows(columns=columns, rows=rows)


def describe(engine: Core, stmt: ddl.Describe, text: str) -> Rows:
    """DESCRIBE STREAM / TASK: the SHOW row of one object; DESCRIBE DYNAMIC TABLE: its
    columns, as DESCRIBE TABLE gives them (the documentation: "Describes the columns")."""
    if stmt.kind == "DYNAMIC TABLE":
        key = engine.resolve(stmt.name)
        if key not in engine.catalog.dynamic_tables:
            raise SqlError(f"Dynamic table '{stmt.name}' does not exist or not authorized.", statement=text)
        return metadata.describe_columns(engine, key[0], key[1], text)
    kind = {"STREAM": "STREAMS", "TASK": "TASKS"}.get(stmt.kind)
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
    "budget", "task_relations", "last_suspended_reason", "success_integration", "scheduling_mode",
    "target_completion_interval", "execute_as_user",
]  # fmt: skip


DT_COLUMNS = [
    "created_on",
    "name",
    "reserved",
    "database_name",
    "schema_name",
    "cluster_by",
    "rows",
    "bytes",
    "owner",
    "target_lag",
    "scheduler",
    "refresh_mode",
    "refresh_mode_reason",
    "warehouse",
    "comment",
    "text",
    "automatic_clustering",
    "scheduling_state",
    "last_suspended_on",
    "is_clone",
    "is_replica",
    "is_iceberg",
    "data_timestamp",
    "owner_role_type",
    "immutable_where",
    "execute_as_user",
    "initialization_warehouse",
]  # fmt: skip  (initialization_warehouse: bundle 2026_01)


def _stream_row(engine: Core, st: StreamState) -> tuple[object, ...]:
    fq_table = f"{st.database}.{st.source_schema}.{st.source_name}"
    bases = ", ".join(f"{st.database}.{s}.{n}" for s, n in st.base_tables) or fq_table  # a view: the tables it reads
    return (
        st.created_on, st.name, st.database, st.schema, st.owner, st.comment or "", fq_table,
        st.source_kind, bases, "DELTA", "true" if retention.is_stale(engine, st) else "false", st.mode,
        retention.stale_after(engine, st), "N/A", "ROLE",
    )  # fmt: skip


def _task_row(engine: Core, t: TaskState) -> tuple[object, ...]:
    import json

    preds = [f"{t.database}.{p}" for p in t.after]
    rel: dict[str, object] = {"Predecessors": preds}
    fin = tasks.finalizer(engine, t) if not t.after else None
    if fin is not None:
        rel["FinalizerTask"] = f"{fin.database}.{fin.schema}.{fin.name}"
    if t.params.get("FINALIZE"):
        rel["FinalizedRootTask"] = f"{t.database}.{t.params['FINALIZE']}"
    root = not t.after and not t.params.get("FINALIZE")
    overlap = t.params.get("OVERLAP_POLICY", "NO_OVERLAP")
    serverless = t.warehouse is None
    mode = ("FLEXIBLE" if "TARGET_COMPLETION_INTERVAL" in t.params else "FIXED") if serverless else None
    return (
        t.created_on, t.name, t.id, t.database, t.schema, t.owner, t.comment or "", t.warehouse,
        t.schedule, json.dumps(preds), t.state, t.body, t.when,
        ("true" if overlap != "NO_OVERLAP" else "false") if root else None, t.params.get("ERROR_INTEGRATION"),
        t.last_committed_on, t.last_suspended_on, "ROLE",
        t.params.get("CONFIG") if root else None, None, json.dumps(rel), t.last_suspended_reason,
        t.params.get("SUCCESS_INTEGRATION"), mode, t.params.get("TARGET_COMPLETION_INTERVAL"),
        t.params.get("EXECUTE_AS_USER"),
    )  # fmt: skip


def _dt_row(engine: Core, dt: DynamicTableState) -> tuple[object, ...]:
    row = engine.con.execute(f"SELECT count(*) FROM {engine.fq(dt.key)}").fetchone()
    return (
        dt.created_on, dt.name, None, dt.database, dt.schema, "", row[0] if row else 0, None,
        dt.owner, None if dt.scheduler == "DISABLE" else dt.target_lag, dt.scheduler, dt.refresh_mode,
        dt.refresh_mode_reason, dt.warehouse, dt.comment or "", dt.text, "OFF", dt.scheduling_state,
        dt.last_suspended_on, "false", "false", "false", dt.data_timestamp, "ROLE", dt.frozen_where, None,
        dt.params.get("INITIALIZATION_WAREHOUSE"),
    )  # fmt: skip
