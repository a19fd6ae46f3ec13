"""Handlers for streams, tasks and dynamic tables: CREATE / ALTER / DROP / SHOW.

One handler per parsed statement kind (``HANDLERS``). Each runs in one engine
transaction with the catalog rows it writes.
"""

from __future__ import annotations

import contextlib
import fnmatch
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from moviecdc.emulator import ddl, ivm, pipeline
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import SCHEMA, DynamicTableState, Key, StreamState, TaskState
from moviecdc.emulator.schedule import parse_schedule, parse_target_lag
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.warehouse.base import Rows

if TYPE_CHECKING:
    from moviecdc.emulator.engine import Engine

_OK = "Statement executed successfully."


def _ok(message: str = _OK) -> Rows:
    return Rows(columns=["status"], rows=[(message,)], message=message)


@contextlib.contextmanager
def in_schema(engine: Engine, schema: str) -> Iterator[None]:
    """Resolve unqualified names in ``schema`` (an object's own schema) meanwhile."""
    saved = engine.ctx
    engine.ctx = type(saved)(saved.database, schema)
    try:
        yield
    finally:
        engine.ctx = saved


# ------------------------------------------------------------------ streams
def create_stream(engine: Engine, stmt: ddl.CreateStream, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] STREAM [IF NOT EXISTS] (reference 1.8)."""
    key = engine.resolve(stmt.name)
    src = engine.resolve(stmt.source)
    cat = engine.catalog
    with engine._txn():
        existing = cat.streams.get(key)
        if existing is not None:
            if stmt.if_not_exists:
                return _ok(f"{key[1]} already exists, statement succeeded.")
            if stmt.or_alter:
                if (existing.source_schema, existing.source_name) != src or (
                    existing.mode == "APPEND_ONLY"
                ) != stmt.append_only:
                    raise SqlError(
                        "CREATE OR ALTER STREAM cannot change the source or the stream type",
                        statement=text,
                    )
                existing.comment = stmt.comment
                cat.save(existing)
                return _ok(f"Stream {key[1]} successfully altered.")
            if not stmt.or_replace:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
        on_dt = src in cat.dynamic_tables
        if stmt.source_kind == "VIEW":
            raise UnsupportedSqlError("the local engine supports streams on tables and dynamic tables", statement=text)
        if (stmt.source_kind == "DYNAMIC TABLE") != on_dt:
            what = "a dynamic table: use ON DYNAMIC TABLE" if on_dt else "not a dynamic table: use ON TABLE"
            raise SqlError(f"{src[1]} is {what}", statement=text)
        if stmt.show_initial_rows:
            raise UnsupportedSqlError("SHOW_INITIAL_ROWS = TRUE is not supported by the local engine", statement=text)
        if src not in cat.tracked:
            engine._track(src)  # creating the first stream turns change tracking on
        offset = engine.version
        if stmt.at_stream is not None:
            other = cat.streams.get(engine.resolve(stmt.at_stream))
            if other is None or (other.source_schema, other.source_name) != src:
                raise SqlError(
                    f"AT (STREAM => '{stmt.at_stream}'): no stream on {src[1]} with that name",
                    statement=text,
                )
            offset = other.offset
        cat.save(
            StreamState(
                database=engine.ctx.database if stmt.name.database is None else stmt.name.database,
                schema=key[0],
                name=key[1],
                source_schema=src[0],
                source_name=src[1],
                source_kind="Dynamic Table" if on_dt else "Table",
                mode="APPEND_ONLY" if stmt.append_only else "DEFAULT",
                offset=offset,
                created_on=engine.now(),
                comment=stmt.comment,
                last_consumed_on=engine.now(),
            )
        )
    return _ok(f"Stream {key[1]} successfully created.")


# -------------------------------------------------------------------- tasks
def _validate_sql(text: str) -> None:
    """A task body must parse (a scripting block is checked when it runs)."""
    if text.upper().startswith("BEGIN") or text.upper().startswith("DECLARE"):
        return  # a Snowflake Scripting block: checked statement by statement when run
    if ddl.parse_cdc(text) is None:
        tr.parse(text)


def create_task(engine: Engine, stmt: ddl.CreateTask, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] TASK (reference 2.1, 2.5): always born suspended."""
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    if stmt.schedule is not None:
        parse_schedule(stmt.schedule)
    if stmt.when is not None:
        tr.parse(f"SELECT {stmt.when}")
    _validate_sql(stmt.body)
    after = [".".join(engine.resolve(n)) for n in stmt.after]
    with engine._txn():
        for pred in after:
            if tuple(pred.split(".", 1)) not in cat.tasks:
                raise SqlError(f"Task '{pred}' does not exist or not authorized.", statement=text)
        existing = cat.tasks.get(key)
        if existing is not None:
            if stmt.if_not_exists:
                return _ok(f"{key[1]} already exists, statement succeeded.")
            if stmt.or_alter:
                _require_suspended(existing, text)
                existing.body, existing.when, existing.schedule = (
                    stmt.body,
                    stmt.when,
                    stmt.schedule,
                )
                existing.warehouse, existing.after = stmt.warehouse, after
                existing.comment, existing.params = stmt.comment, dict(stmt.params)
                existing.graph_version += 1
                cat.save(existing)
                return _ok(f"Task {key[1]} successfully altered.")
            if not stmt.or_replace:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            _require_suspended(existing, text)
        cat.save(
            TaskState(
                database=stmt.name.database or engine.ctx.database,
                schema=key[0],
                name=key[1],
                id=engine.new_id(),
                created_on=engine.now(),
                body=stmt.body,
                warehouse=stmt.warehouse,
                schedule=stmt.schedule,
                when=stmt.when,
                after=after,
                params=dict(stmt.params),
                comment=stmt.comment,
            )
        )
    return _ok(f"Task {key[1]} successfully created.")


def _require_suspended(task: TaskState, text: str) -> None:
    if task.state == "started":
        raise SqlError(
            f"Unable to update graph with root task {task.database}.{task.schema}.{task.name}"
            " since that root task is not suspended.",
            statement=text,
        )


def alter_task(engine: Engine, stmt: ddl.AlterTask, text: str) -> Rows:
    """ALTER TASK ... RESUME / SUSPEND / SET / UNSET / MODIFY (reference 2.5)."""
    key = engine.resolve(stmt.name)
    task = engine.catalog.tasks.get(key)
    if task is None:
        if stmt.if_exists:
            return _ok()
        raise SqlError(f"Task '{stmt.name}' does not exist or not authorized.", statement=text)
    with engine._txn():
        if stmt.action == "RESUME":
            pipeline.resume_task(engine, task)
        elif stmt.action == "SUSPEND":
            pipeline.suspend_task(engine, task, "USER_SUSPENDED")
        else:
            _require_suspended(task, text)
            if stmt.action == "SET":
                for k, v in stmt.props.items():
                    if k == "SCHEDULE":
                        parse_schedule(v)
                        task.schedule = v
                    elif k == "WAREHOUSE":
                        task.warehouse = v
                    elif k == "COMMENT":
                        task.comment = v
                    else:
                        task.params[k] = v
            elif stmt.action == "UNSET":
                for k in stmt.props:
                    if k == "SCHEDULE":
                        task.schedule = None
                    elif k == "COMMENT":
                        task.comment = None
                    else:
                        task.params.pop(k, None)
            elif stmt.action == "MODIFY_AS":
                assert stmt.text is not None
                _validate_sql(stmt.text)
                task.body = stmt.text
            elif stmt.action == "MODIFY_WHEN":
                assert stmt.text is not None
                tr.parse(f"SELECT {stmt.text}")
                task.when = stmt.text
            elif stmt.action == "REMOVE_WHEN":
                task.when = None
            task.graph_version += 1
            engine.catalog.save(task)
    return _ok()


def execute_task(engine: Engine, stmt: ddl.ExecuteTask, text: str) -> Rows:
    """EXECUTE TASK: one run now, even if suspended (reference 2.5)."""
    key = engine.resolve(stmt.name)
    task = engine.catalog.tasks.get(key)
    if task is None:
        raise SqlError(f"Task '{stmt.name}' does not exist or not authorized.", statement=text)
    if task.after:
        raise SqlError(
            f"Cannot execute task {key[1]}: EXECUTE TASK only accepts a root task.",
            statement=text,
        )
    if engine._user_txn:
        raise SqlError(
            "the local engine runs EXECUTE TASK in the caller's session: COMMIT or ROLLBACK first", statement=text
        )
    state = pipeline.run_graph(engine, task, engine.now(), "EXECUTE_TASK")
    return _ok(f"Task {key[1]} run: {state}")


# ------------------------------------------------------------ dynamic tables
_NONDET_FUNCS = {"RANDOM", "UUID_STRING", "SEQ1", "SEQ2", "SEQ4", "SEQ8", "RANDSTR", "UNIFORM"}
_TIME_FUNCS = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)


def analyze_query(query: exp.Expr) -> tuple[bool, str | None]:
    """Can Snowflake maintain this query incrementally? (reference 3.4).

    Returns:
        (incremental, reason): the reason a FULL refresh is needed, else None.
    """
    if query.find(exp.Limit) is not None:
        return False, "LIMIT is not supported for incremental refresh"
    for op, name in ((exp.Except, "EXCEPT"), (exp.Intersect, "INTERSECT")):
        if query.find(op) is not None:
            return False, f"Unsupported query operator type: SetOperation[{name}]"
    for cte in query.find_all(exp.With):
        if cte.args.get("recursive"):
            return False, "WITH RECURSIVE is not supported for incremental refresh"
    for sub in query.find_all(exp.Subquery, exp.Exists):
        parent = sub.parent
        while parent is not None and not isinstance(parent, exp.From | exp.Join | exp.CTE):
            if isinstance(parent, exp.Where | exp.Select | exp.Having):
                return False, "Subqueries outside FROM are not supported for incremental refresh"
            parent = parent.parent
    for fn in query.find_all(exp.Anonymous, exp.Rand):
        name = "RANDOM" if isinstance(fn, exp.Rand) else str(fn.this).upper()
        if name in _NONDET_FUNCS:
            return (
                False,
                f"Non-deterministic function {name} is not supported for incremental refresh",
            )
    for fn in query.find_all(*_TIME_FUNCS):
        parent = fn.parent
        in_filter = False
        while parent is not None:
            if isinstance(parent, exp.Where | exp.Having | exp.Qualify):
                in_filter = True
                break
            parent = parent.parent
        if not in_filter:
            return False, (
                f"{fn.sql(dialect='snowflake').upper()} outside WHERE/HAVING/QUALIFY"
                " is not supported for incremental refresh"
            )
    for group in query.find_all(exp.Cube, exp.Rollup, exp.GroupingSets):
        return False, f"{type(group).__name__.upper()} is not supported for incremental refresh"
    return True, None


def query_inputs(engine: Engine, query: exp.Expr) -> list[Key]:
    """The base objects a dynamic table's query reads (CTE names excluded)."""
    keys: list[Key] = []
    for table in tr.base_tables(query):
        key = engine.resolve(table)
        if key not in keys:
            keys.append(key)
    return keys


def create_dynamic_table(engine: Engine, stmt: ddl.CreateDynamicTable, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] DYNAMIC TABLE (reference 3.1-3.2)."""
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    lag = parse_target_lag(stmt.target_lag)
    query = tr.parse(stmt.query)
    if not isinstance(query, exp.Query):
        raise SqlError("a dynamic table's AS clause must be a query", statement=text)
    incremental, reason = analyze_query(query)
    if stmt.refresh_mode == "INCREMENTAL" and not incremental:
        raise SqlError(
            f"002711: Dynamic table {key[1]} is defined with REFRESH_MODE = INCREMENTAL, but the"
            f" query is not supported for incremental refresh. {reason}.",
            statement=text,
        )
    if stmt.refresh_mode == "FULL":
        mode, reason = "FULL", "USER_SPECIFIED_FULL_REFRESH"
    else:
        mode = "INCREMENTAL" if incremental else "FULL"
    with engine._txn(), in_schema(engine, key[0]):
        inputs = query_inputs(engine, query)
        for inp in inputs:
            if inp in cat.streams:
                raise SqlError(
                    f"Dynamic table {key[1]} cannot read from stream {inp[1]}:"
                    " dynamic tables read tables, views and other dynamic tables",
                    statement=text,
                )
            up = cat.dynamic_tables.get(inp)
            if (
                up is not None
                and up.lag_seconds is not None
                and lag.seconds is not None
                and (lag.seconds < up.lag_seconds)
            ):
                raise SqlError(
                    f"Dynamic table {key[1]}'s target lag ({lag.describe()}) is smaller than that"
                    f" of its input {up.name} ({up.target_lag}); a dynamic table cannot be"
                    " fresher than the tables it reads",
                    statement=text,
                )
            if up is not None and mode == "INCREMENTAL" and up.refresh_mode == "FULL":
                mode, reason = "FULL", "UPSTREAM_USES_FULL_REFRESH"
        sql, _, tctx = engine._translate(query.copy(), None)
        logged: set[Key] = set()
        if not tctx.used_clock and not tctx.streams:
            engine.dt_sql_cache[(key[0], stmt.query)] = sql
        if mode == "INCREMENTAL":
            try:
                logged = pipeline.shared_compiler(engine, key, sql, tctx.used_clock, inputs).delta_inputs()
            except ivm.NotIncremental as exc:
                if stmt.refresh_mode == "INCREMENTAL":
                    raise SqlError(
                        f"002711: Dynamic table {key[1]} is defined with REFRESH_MODE = INCREMENTAL, but the"
                        f" query is not supported for incremental refresh. {exc.reason}.",
                        statement=text,
                    ) from None
                mode, reason = "FULL", exc.reason
        existing = cat.dynamic_tables.get(key)
        reinit = True
        if existing is not None:
            if stmt.if_not_exists:
                return _ok(f"{key[1]} already exists, statement succeeded.")
            if not (stmt.or_alter or stmt.or_replace):
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            reinit = stmt.or_replace or (
                existing.query.strip() != stmt.query.strip()
                or existing.columns != list(stmt.columns)
                or (stmt.refresh_mode != "AUTO" and existing.refresh_mode != mode)
            )
        elif key in cat.tracked or engine._table_exists(key):
            raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
        if existing is not None and not reinit:
            existing.target_lag, existing.lag_seconds = lag.describe(), lag.seconds
            existing.warehouse, existing.comment, existing.text = stmt.warehouse, stmt.comment, text
            cat.save(existing)
            return _ok(f"Dynamic table {key[1]} successfully altered.")
        if existing is not None:
            drop_dt_storage(engine, key)
        if mode == "INCREMENTAL":
            for inp in inputs:  # as on Snowflake, an incremental table turns change tracking on
                if inp in logged and inp not in cat.tracked:
                    engine._track(inp)
        cols = ""
        if stmt.columns:
            cols = "(" + ", ".join(_q(c) for c in stmt.columns) + ")"
        engine.con.execute(f"CREATE TABLE {engine._fq(key)} AS SELECT * FROM ({sql}) AS _q{cols} LIMIT 0")
        dt = DynamicTableState(
            database=stmt.name.database or engine.ctx.database,
            schema=key[0],
            name=key[1],
            created_on=existing.created_on if existing and not stmt.or_replace else engine.now(),
            query=stmt.query,
            target_lag=lag.describe(),
            lag_seconds=lag.seconds,
            warehouse=stmt.warehouse,
            refresh_mode=mode,
            refresh_mode_reason=reason,
            initialize=stmt.initialize,
            text=text,
            inputs=[list(k) for k in inputs],
            columns=list(stmt.columns),
            comment=stmt.comment,
        )
        cat.save(dt)
        engine.catalog.set_version(key, engine._next_version(), engine.now())
        if stmt.initialize == "ON_CREATE":
            action = "REINITIALIZE" if existing is not None else None
            pipeline.refresh_now(engine, [key], "CREATION", initial_action=action)
    verb = "altered" if existing is not None else "created"
    return _ok(f"Dynamic table {key[1]} successfully {verb}.")


def drop_dt_storage(engine: Engine, key: Key) -> None:
    """Drop a dynamic table's rows, change log and GROUP BY state; its streams go stale."""
    if key in engine.catalog.tracked:
        engine._untrack(key, reason="dynamic table replaced or dropped")
    engine.con.execute(f"DROP TABLE IF EXISTS {engine._fq(key)}")
    prefix = ivm.state_table(key, 0).split(".", 1)[1].strip('"')[:-1]
    for (name,) in engine.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND starts_with(table_name, ?)",
        [SCHEMA, prefix],
    ).fetchall():
        engine.con.execute(f'DROP TABLE IF EXISTS {SCHEMA}."{name}"')
    for cache_key in [k for k in engine.ivm_cache if (k[0], k[1]) == key]:
        del engine.ivm_cache[cache_key]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def alter_dynamic_table(engine: Engine, stmt: ddl.AlterDynamicTable, text: str) -> Rows:
    """ALTER DYNAMIC TABLE ... REFRESH / SUSPEND / RESUME / SET (reference 3.6)."""
    keys = []
    for name in stmt.names:
        key = engine.resolve(name)
        if key not in engine.catalog.dynamic_tables:
            if stmt.if_exists:
                continue
            raise SqlError(f"Dynamic table '{name}' does not exist or not authorized.", statement=text)
        keys.append(key)
    if not keys:
        return _ok()
    if stmt.action == "REFRESH":
        if engine._user_txn:
            raise SqlError("ALTER DYNAMIC TABLE ... REFRESH cannot run inside a transaction")
        results = pipeline.refresh_now(engine, keys, "MANUAL", raise_on_failure=True)
        return Rows(
            columns=["name", "state", "refresh_action"],
            rows=[(k[1], state, action) for k, (state, action) in results.items() if k in keys],
        )
    with engine._txn():
        for key in keys:
            dt = engine.catalog.dynamic_tables[key]
            if stmt.action == "SUSPEND":
                pipeline.suspend_dynamic_table(engine, dt, "USER_SUSPENDED")
            elif stmt.action == "RESUME":
                pipeline.resume_dynamic_table(engine, dt)
            else:
                for k, v in stmt.props.items():
                    if k == "TARGET_LAG":
                        lag = parse_target_lag(v)
                        dt.target_lag, dt.lag_seconds = lag.describe(), lag.seconds
                    elif k == "WAREHOUSE":
                        dt.warehouse = v
                    elif k == "COMMENT":
                        dt.comment = v
                    else:
                        raise UnsupportedSqlError(
                            f"ALTER DYNAMIC TABLE ... SET {k} is not supported by the local engine",
                            statement=text,
                        )
                engine.catalog.save(dt)
    return _ok()


# --------------------------------------------------------------------- DROP
def drop_object(engine: Engine, stmt: ddl.DropObject, text: str) -> Rows:
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    kind = stmt.kind
    stores: dict[str, dict[Key, Any]] = {
        "STREAM": cat.streams,
        "TASK": cat.tasks,
        "DYNAMIC TABLE": cat.dynamic_tables,
    }
    store = stores[kind]
    if key not in store:
        if stmt.if_exists:
            return _ok(f"Drop statement executed successfully ({key[1]} already dropped).")
        raise SqlError(f"{kind.title()} '{stmt.name}' does not exist or not authorized.", statement=text)
    with engine._txn():
        if kind == "DYNAMIC TABLE":
            drop_dt_storage(engine, key)
            cat.drop_version(key)
        if kind == "TASK":
            engine.con.execute(
                "DELETE FROM _moviecdc.task_history WHERE STATE = 'SCHEDULED' AND SCHEMA_NAME = ? AND NAME = ?",
                list(key),
            )
        cat.delete(kind, key)
    return _ok(f"{key[1]} successfully dropped.")


# --------------------------------------------------------------------- SHOW
def _like(pattern: str | None, name: str) -> bool:
    if pattern is None:
        return True
    glob = re.sub(r"[%_]", lambda m: "*" if m.group() == "%" else "?", pattern)
    return fnmatch.fnmatchcase(name.upper(), glob.upper())


def show(engine: Engine, stmt: ddl.Show, text: str) -> Rows:
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
    builders: dict[str, Callable[[Engine, Any], tuple[object, ...]]] = {
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


def describe(engine: Engine, stmt: ddl.Describe, text: str) -> Rows:
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


def _stream_row(engine: Engine, st: StreamState) -> tuple[object, ...]:
    fq_table = f"{st.database}.{st.source_schema}.{st.source_name}"
    return (
        st.created_on, st.name, st.database, st.schema, st.owner, st.comment or "", fq_table,
        st.source_kind, fq_table, "DELTA", "true" if pipeline.is_stale(engine, st) else "false", st.mode,
        pipeline.stale_after(engine, st), "N/A", "ROLE",
    )  # fmt: skip


def _task_row(engine: Engine, t: TaskState) -> tuple[object, ...]:
    import json

    preds = [f"{t.database}.{p}" for p in t.after]
    relations = json.dumps({"Predecessors": preds})
    return (
        t.created_on, t.name, t.id, t.database, t.schema, t.owner, t.comment or "", t.warehouse,
        t.schedule, json.dumps(preds), t.state, t.body, t.when,
        None if t.after else "false", None, t.last_committed_on, t.last_suspended_on, "ROLE",
        None, None, relations, t.last_suspended_reason,
    )  # fmt: skip


def _dt_row(engine: Engine, dt: DynamicTableState) -> tuple[object, ...]:
    row = engine.con.execute(f"SELECT count(*) FROM {engine._fq(dt.key)}").fetchone()
    return (
        dt.created_on, dt.name, None, dt.database, dt.schema, "", row[0] if row else 0, None,
        dt.owner, dt.target_lag, "ENABLE", dt.refresh_mode, dt.refresh_mode_reason, dt.warehouse,
        dt.comment or "", dt.text, "OFF", dt.scheduling_state, dt.last_suspended_on, "false",
        "false", "false", dt.data_timestamp, "ROLE", None, None,
    )  # fmt: skip


HANDLERS: dict[type, Callable[[Engine, Any, str], Rows]] = {
    ddl.CreateStream: create_stream,
    ddl.CreateTask: create_task,
    ddl.AlterTask: alter_task,
    ddl.ExecuteTask: execute_task,
    ddl.CreateDynamicTable: create_dynamic_table,
    ddl.AlterDynamicTable: alter_dynamic_table,
    ddl.DropObject: drop_object,
    ddl.Show: show,
    ddl.Describe: describe,
}


def handle(engine: Engine, stmt: ddl.CdcStatement, text: str) -> Rows:
    """Dispatch a parsed CDC statement to its handler."""
    return HANDLERS[type(stmt)](engine, stmt, text)
