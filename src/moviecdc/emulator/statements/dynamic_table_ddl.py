"""CREATE / ALTER DYNAMIC TABLE (reference 3.1-3.2)."""

from __future__ import annotations

import dataclasses

import duckdb
from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.dialect.idents import quote
from moviecdc.dialect.query import analyze_query, base_tables
from moviecdc.dialect.schedule import parse_target_lag
from moviecdc.emulator import (
    changelog,
    dt_monitor,
    ivm,
    plans,
    refresh,
    resolver,
)
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import SCHEMA, DynamicTableState, Key
from moviecdc.emulator.core import Core
from moviecdc.emulator.statements.common import ok
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows


# ------------------------------------------------------------ dynamic tables
def query_inputs(engine: Core, query: exp.Expr) -> list[Key]:
    """The base objects a dynamic table's query reads (CTE names excluded)."""
    keys: list[Key] = []
    for table in base_tables(query):
        key = engine.resolve(table)
        if key not in keys:
            keys.append(key)
    return keys


def create_dynamic_table(engine: Core, stmt: ddl.CreateDynamicTable, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] DYNAMIC TABLE (reference 3.1-3.2)."""
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    if stmt.clone is not None:
        stmt = _clone_definition(engine, stmt, text)
    lag = parse_target_lag(stmt.target_lag)
    query = tr.parse(stmt.query)
    if not isinstance(query, exp.Query):
        raise SqlError("a dynamic table's AS clause must be a query", statement=text)
    incremental, reason = analyze_query(query)
    # INCREMENTAL and ADAPTIVE are kept as written; AUTO resolves, once, to ADAPTIVE when
    # the query can be maintained from changes, else FULL (release note 2026-11-20)
    explicit = stmt.refresh_mode in refresh.INCREMENTAL_MODES
    if explicit and not incremental:
        raise _not_incremental(key, stmt.refresh_mode, str(reason), text)
    if stmt.refresh_mode == "FULL":
        mode, reason = "FULL", "USER_SPECIFIED_FULL_REFRESH"
    elif explicit:
        mode = stmt.refresh_mode
    else:
        mode = "ADAPTIVE" if incremental else "FULL"
    with engine.transaction(), engine.in_schema(key[0]):
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
            if up is not None and mode in refresh.INCREMENTAL_MODES and up.refresh_mode == "FULL":
                if explicit:
                    raise _not_incremental(key, mode, f"Its input {up.name} uses REFRESH_MODE = FULL", text)
                mode, reason = "FULL", "UPSTREAM_USES_FULL_REFRESH"
        sql, _, tctx = resolver.translate(engine, query.copy())
        logged: frozenset[Key] = frozenset()
        if not tctx.used_clock and not tctx.streams:
            engine.dt_sql_cache[(key[0], stmt.query)] = sql
        if mode in refresh.INCREMENTAL_MODES:
            try:
                logged = plans.shared_compiler(engine, key, sql, tctx.used_clock, inputs).delta_inputs
            except ivm.NotIncremental as exc:
                if explicit:
                    raise _not_incremental(key, mode, exc.reason, text) from None
                mode, reason = "FULL", exc.reason
        existing = cat.dynamic_tables.get(key)
        if (
            existing is not None
            and stmt.or_alter
            and stmt.refresh_mode == "AUTO"
            and mode == "ADAPTIVE"
            and existing.refresh_mode in refresh.INCREMENTAL_MODES
        ):
            mode, reason = existing.refresh_mode, existing.refresh_mode_reason  # AUTO resolved once: kept
        backfill = _backfill(engine, stmt, existing, text)
        reinit = True
        if existing is not None:
            if stmt.if_not_exists:
                return ok(f"{key[1]} already exists, statement succeeded.")
            if not (stmt.or_alter or stmt.or_replace):
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            reinit = stmt.or_replace or (
                existing.query.strip() != stmt.query.strip()
                or existing.columns != list(stmt.columns)
                or (stmt.refresh_mode != "AUTO" and existing.refresh_mode != mode)
            )
        elif key in cat.tracked or engine.table_exists(key):
            raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
        if existing is not None and not reinit:
            triggers = [t for t, same in ((dt_monitor.ALTER_LAG, existing.lag_seconds == lag.seconds),
                        (dt_monitor.ALTER_WAREHOUSE, existing.warehouse == stmt.warehouse)) if not same]  # fmt: skip
            existing.target_lag, existing.lag_seconds = lag.describe(), lag.seconds
            existing.warehouse, existing.comment, existing.text = stmt.warehouse, stmt.comment, text
            existing.scheduler, existing.params = stmt.scheduler, dict(stmt.params)
            if stmt.frozen_where != existing.frozen_where:
                _set_frozen(engine, existing, stmt.frozen_where, text)
            cat.save(existing)
            dt_monitor.record(engine, existing, triggers)
            return ok(f"Dynamic table {key[1]} successfully altered.")
        if existing is not None:
            drop_dt_storage(engine, key)
        if mode in refresh.INCREMENTAL_MODES:
            for inp in inputs:  # as on Snowflake, an incremental table turns change tracking on
                if inp in logged and inp not in cat.tracked:
                    changelog.track(engine, inp)
        cols = ""
        if stmt.columns:
            cols = "(" + ", ".join(quote(c) for c in stmt.columns) + ")"
        engine.con.execute(f"CREATE TABLE {engine.fq(key)} AS SELECT * FROM ({sql}) AS _q{cols} LIMIT 0")
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
            params=dict(stmt.params),
            scheduler=stmt.scheduler,
            backfill=backfill,
        )
        dt.frozen_where = _checked_frozen(engine, dt, stmt.frozen_where, text)
        _check_backfill(engine, dt, text)
        cat.save(dt)
        dt_monitor.record(engine, dt, [] if existing is not None and not stmt.or_replace else [dt_monitor.CREATE])
        engine.catalog.set_version(key, engine.next_version(), engine.now())
        if stmt.initialize == "ON_CREATE":
            action = "REINITIALIZE" if existing is not None else None
            refresh.refresh_now(engine, [key], "CREATION", initial_action=action)
    verb = "altered" if existing is not None else "created"
    return ok(f"Dynamic table {key[1]} successfully {verb}.")


def _not_incremental(key: Key, mode: str, reason: str, text: str) -> SqlError:
    return SqlError(
        f"002711: Dynamic table {key[1]} is defined with REFRESH_MODE = {mode}, but the"
        f" query is not supported for incremental refresh. {reason}.",
        statement=text,
    )


def _checked_frozen(engine: Core, dt: DynamicTableState, pred: str | None, text: str) -> str | None:
    """A FROZEN WHERE predicate, once it reads only the table's own columns (as Snowflake
    requires) and translates; a bad one fails the statement."""
    if pred is None:
        return None
    try:
        with engine.in_schema(dt.schema):
            sql, _, ctx = resolver.translate(
                engine, tr.parse(f"SELECT 1 FROM {quote(dt.schema)}.{quote(dt.name)} WHERE ({pred}) LIMIT 0")
            )
        if ctx.streams:
            raise SqlError("a FROZEN WHERE predicate cannot read a stream")
        engine.con.execute(sql)
    except (SqlError, duckdb.Error) as exc:
        first = str(exc).splitlines()[0]
        raise SqlError(f"invalid FROZEN WHERE predicate ({pred}): {first}", statement=text) from None
    return pred


def _set_frozen(engine: Core, dt: DynamicTableState, pred: str | None, text: str) -> None:
    """A new FROZEN WHERE takes effect at the next refresh (the stored rows stay). Without
    one, the rows it froze are computed again: the next refresh reinitialises the table."""
    if pred is None and dt.frozen_where is not None and dt.initialized:
        dt.pending_reinit = refresh.FROZEN_REMOVED
    dt.frozen_where = _checked_frozen(engine, dt, pred, text)


def _backfill(
    engine: Core, stmt: ddl.CreateDynamicTable, existing: DynamicTableState | None, text: str
) -> list[str] | None:
    """The BACKFILL FROM table, checked: a table or dynamic table with the same number of
    columns (they are matched by position, as on Snowflake)."""
    if stmt.backfill is None:
        return None
    if existing is not None and not stmt.or_replace:
        raise UnsupportedSqlError(
            "BACKFILL FROM on an existing dynamic table (CREATE OR ALTER) is not supported by the local engine",
            statement=text,
        )
    key = engine.resolve(stmt.backfill)
    cat = engine.catalog
    if not (key in cat.tracked or key in cat.dynamic_tables or engine.table_exists(key)):
        raise SqlError(f"Backfill table '{stmt.backfill}' does not exist or is not a table.", statement=text)
    return [key[0], key[1]]


def _check_backfill(engine: Core, dt: DynamicTableState, text: str) -> None:
    if dt.backfill is None:
        return
    mine = engine.con.execute(f"SELECT * FROM {engine.fq(dt.key)} LIMIT 0").description
    theirs = engine.con.execute(f"SELECT * FROM {engine.fq((dt.backfill[0], dt.backfill[1]))} LIMIT 0").description
    if len(mine) != len(theirs):
        raise SqlError(
            f"Backfill table {dt.backfill[1]} has {len(theirs)} columns; dynamic table {dt.name} has"
            f" {len(mine)}: they must match, in order",
            statement=text,
        )


def drop_dt_storage(engine: Core, key: Key) -> None:
    """Drop a dynamic table's rows, change log and GROUP BY state; its streams go stale."""
    if key in engine.catalog.tracked:
        changelog.untrack(engine, key, reason="dynamic table replaced or dropped")
    engine.con.execute(f"DROP TABLE IF EXISTS {engine.fq(key)}")
    prefix = ivm.state_table(key, 0).split(".", 1)[1].strip('"')[:-1]
    for (name,) in engine.con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? AND starts_with(table_name, ?)",
        [SCHEMA, prefix],
    ).fetchall():
        engine.con.execute(f'DROP TABLE IF EXISTS {SCHEMA}."{name}"')
    for cache_key in [k for k in engine.ivm_cache if (k[0], k[1]) == key]:
        del engine.ivm_cache[cache_key]


def alter_dynamic_table(engine: Core, stmt: ddl.AlterDynamicTable, text: str) -> Rows:
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
        return ok()
    if stmt.action == "REFRESH":
        if engine.in_user_transaction:
            raise SqlError("ALTER DYNAMIC TABLE ... REFRESH cannot run inside a transaction")
        results = refresh.refresh_now(engine, keys, "MANUAL", raise_on_failure=True)
        return Rows(
            columns=["name", "state", "refresh_action"],
            rows=[(k[1], state, action) for k, (state, action) in results.items() if k in keys],
        )
    with engine.transaction():
        for key in keys:
            dt = engine.catalog.dynamic_tables[key]
            if stmt.action == "SUSPEND":
                refresh.suspend_dynamic_table(engine, dt, "USER_SUSPENDED")
            elif stmt.action == "RESUME":
                refresh.resume_dynamic_table(engine, dt)
            elif stmt.action == "UNSET":
                for k in stmt.props:
                    if k == "FROZEN_WHERE":
                        _set_frozen(engine, dt, None, text)
                    elif k == "INITIALIZATION_WAREHOUSE":
                        dt.params.pop(k, None)
                    elif k == "COMMENT":
                        dt.comment = None
                    else:
                        raise UnsupportedSqlError(
                            f"ALTER DYNAMIC TABLE ... UNSET {k} is not supported by the local engine", statement=text
                        )
                engine.catalog.save(dt)
            else:
                triggers = []
                for k, v in stmt.props.items():
                    if k in {"TARGET_LAG", "WAREHOUSE"}:
                        triggers.append(dt_monitor.ALTER_LAG if k == "TARGET_LAG" else dt_monitor.ALTER_WAREHOUSE)
                    if k == "TARGET_LAG":
                        lag = parse_target_lag(v)
                        dt.target_lag, dt.lag_seconds = lag.describe(), lag.seconds
                    elif k == "WAREHOUSE":
                        dt.warehouse = v
                    elif k == "COMMENT":
                        dt.comment = v
                    elif k == "SCHEDULER" and v.upper() in {"ENABLE", "DISABLE"}:
                        dt.scheduler = v.upper()
                    elif k == "INITIALIZATION_WAREHOUSE":
                        dt.params[k] = v
                    elif k == "FROZEN_WHERE":  # takes effect at the next refresh; the rows stay
                        _set_frozen(engine, dt, v, text)
                    else:
                        raise UnsupportedSqlError(
                            f"ALTER DYNAMIC TABLE ... SET {k} is not supported by the local engine",
                            statement=text,
                        )
                engine.catalog.save(dt)
                dt_monitor.record(engine, dt, triggers)
    return ok()


def _clone_definition(engine: Core, stmt: ddl.CreateDynamicTable, text: str) -> ddl.CreateDynamicTable:
    """CREATE DYNAMIC TABLE ... CLONE: the source's definition under the new name. The clone
    is initialised from the source's query now (Snowflake copies the rows and reinitialises
    when the source moved on during the clone; the rows are the query's either way)."""
    source = engine.catalog.dynamic_tables.get(engine.resolve(stmt.clone)) if stmt.clone else None
    if stmt.or_alter:
        raise SqlError("CREATE OR ALTER DYNAMIC TABLE cannot CLONE", statement=text)
    if source is None:
        raise SqlError(f"Dynamic table '{stmt.clone}' does not exist or not authorized.", statement=text)
    return dataclasses.replace(
        stmt,
        query=source.query,
        target_lag=source.target_lag,
        warehouse=source.warehouse,
        refresh_mode=source.refresh_mode,
        initialize="ON_CREATE",
        columns=tuple(source.columns),
        comment=source.comment,
        scheduler=source.scheduler,
        frozen_where=source.frozen_where,
        params=dict(source.params),
        clone=None,
    )
