"""Refreshing dynamic tables: NO_DATA, INCREMENTAL, FULL or REINITIALIZE, in dependency
order at one data timestamp, with failures, UPSTREAM_FAILED and auto-suspension (reference 3.5)."""

from __future__ import annotations

import contextlib
import time
from datetime import datetime

import duckdb

from moviecdc.dialect.idents import quote
from moviecdc.emulator import (
    changelog,
    dt_monitor,
    faults,
    graph,
    history,
    ivm,
    plans,
    storage,
    streams,
)
from moviecdc.emulator.catalog import DynamicTableState, Key
from moviecdc.emulator.session import Session
from moviecdc.errors import MovieCdcError, SqlError

DT_FAILURES_BEFORE_SUSPEND = 5
INCREMENTAL_MODES = frozenset({"INCREMENTAL", "ADAPTIVE"})  # resolved modes refreshed from changes

# REINIT_REASON of a REINITIALIZE refresh. Snowflake documents the column (bundle 2026_02),
# not its values: these are the engine's own.
NEW_TABLE = "NEW_DYNAMIC_TABLE"  # the first refresh of a table (at CREATE, or ON_SCHEDULE)
DEFINITION_CHANGED = "DEFINITION_CHANGED"  # CREATE OR ALTER changed the query, columns or mode
ADAPTIVE_VOLUME = "ADAPTIVE_CHANGE_VOLUME"  # ADAPTIVE: recomputing costs less than the changes
INPUT_REPLACED = "INPUT_REPLACED"  # an input was re-created: its changes are not known
FROZEN_REMOVED = "FROZEN_REGION_REMOVED"  # FROZEN WHERE unset: the frozen rows are computed again
JOINED_CHANGED = "JOINED_INPUT_CHANGED"  # (not a reinit: a table only joined to changed -> FULL)


def refresh_now(
    engine: Session,
    keys: list[Key],
    trigger: str,
    *,
    raise_on_failure: bool = False,
    initial_action: str | None = None,
) -> dict[Key, tuple[str, str]]:
    """Refresh ``keys`` and the dynamic tables upstream of them, in dependency order.

    The cascade stops at a table with SCHEDULER = DISABLE, and refreshing one of those
    refreshes it alone (release note 2026-03-26: its manual refreshes do not cascade).
    """
    wanted: list[Key] = []
    for k in keys:
        for u in [*graph.scheduled_upstream(engine, k), k]:
            if u not in wanted:
                wanted.append(u)
    results = refresh_group(
        engine, graph.topo_order(engine, wanted), trigger, initial_action=initial_action, targets=keys
    )
    if raise_on_failure:
        for k in keys:
            state, _ = results.get(k, ("SKIPPED", ""))
            if state not in {"SUCCEEDED"}:
                msg = history.last_refresh_error(engine, k) or state
                raise SqlError(f"Dynamic table {k[1]} refresh {state}: {msg}")
    return results


def refresh_group(
    engine: Session,
    ordered: list[Key],
    trigger: str,
    *,
    initial_action: str | None = None,
    targets: list[Key] | None = None,
) -> dict[Key, tuple[str, str]]:
    """Refresh in order at one shared data timestamp (reference 3.5)."""
    data_ts = engine.now()
    results: dict[Key, tuple[str, str]] = {}
    failed: set[Key] = set()
    for key in ordered:
        dt = engine.catalog.dynamic_tables[key]
        ups = [(i[0], i[1]) for i in dt.inputs if (i[0], i[1]) in engine.catalog.dynamic_tables]
        bad = [u for u in ups if u in failed]
        action = initial_action if (targets is None or key in targets) else None
        if bad:
            history.record_refresh(
                engine, dt, "UPSTREAM_FAILED", "NO_DATA", trigger, data_ts, engine.tick(),
                code="UPSTREAM_FAILURE", message="Skipped refreshing because an input DT failed.",  # the docs' words
            )  # fmt: skip
            failed.add(key)
            results[key] = ("UPSTREAM_FAILED", "NO_DATA")
            continue
        state, act = refresh_one(engine, dt, data_ts, trigger, action)
        results[key] = (state, act)
        if state != "SUCCEEDED":
            failed.add(key)
    return results


def _input_versions(engine: Session, dt: DynamicTableState) -> dict[str, int]:
    return {f"{s}.{n}": engine.catalog.versions.get((s, n), 0) for s, n in (tuple(i) for i in dt.inputs)}


def refresh_one(
    engine: Session,
    dt: DynamicTableState,
    data_ts: datetime,
    trigger: str,
    action: str | None = None,
) -> tuple[str, str]:
    """One refresh (3.5): NO_DATA if no input changed, else INCREMENTAL or FULL.

    An incremental table is refreshed from its inputs' changes since the last refresh
    (see ``ivm``), unless the changes cannot be used (an input was replaced, a joined
    input changed) or are so many that recomputing is cheaper; then it is FULL.
    """
    started = engine.tick()
    t0 = time.perf_counter()
    versions = _input_versions(engine, dt)
    if dt.initialized and action is None and dt.pending_reinit is not None:
        action = "REINITIALIZE"
    if dt.initialized and action is None and versions == dt.input_versions:
        with engine.transaction():
            dt.data_timestamp = data_ts
            dt.consecutive_failures = 0
            engine.catalog.save(dt)
            history.record_refresh(engine, dt, "SUCCEEDED", "NO_DATA", trigger, data_ts, started)
        return "SUCCEEDED", "NO_DATA"
    # the first refresh is a REINITIALIZE: Snowflake lists no INITIALIZE action
    act = action or ("REINITIALIZE" if not dt.initialized else "FULL")
    reason = ((dt.pending_reinit or DEFINITION_CHANGED) if action else NEW_TABLE) if act == "REINITIALIZE" else None
    try:
        with engine.transaction():
            read_at = engine.version
            stats, act, reason = _refresh(engine, dt, act, read_at, versions, incremental=action is None)
            faults.hit("refresh.recomputed")
            stats["executionTimeMs"] = int((time.perf_counter() - t0) * 1000)
            dt.data_timestamp = data_ts
            dt.input_versions = versions
            dt.refresh_version = read_at
            dt.initialized = True
            dt.consecutive_failures = 0
            dt.pending_reinit = dt.backfill = None
            engine.catalog.save(dt)
            history.record_refresh(
                engine, dt, "SUCCEEDED", act, trigger, data_ts, started, stats=stats, reinit_reason=reason
            )
        return "SUCCEEDED", act
    except MovieCdcError as exc:
        with engine.transaction():
            dt = engine.catalog.dynamic_tables.get(dt.key, dt)
            if trigger == "SCHEDULED":
                dt.consecutive_failures += 1
            engine.catalog.save(dt)
            history.record_refresh(
                engine, dt, "FAILED", act, trigger, data_ts, started,
                code=getattr(exc, "code", "100038"), message=exc.message, reinit_reason=reason,
            )  # fmt: skip
            if dt.consecutive_failures >= DT_FAILURES_BEFORE_SUSPEND:
                suspend_dynamic_table(engine, dt, "SUSPENDED_DUE_TO_ERRORS")
        return "FAILED", act


# An ADAPTIVE table whose inputs logged more changes than this fraction of their rows is
# reinitialised: past it, recomputing costs less than reading the changes
# (bench/bench_refresh.py). An INCREMENTAL table never is (release note 2026-11-20).
FULL_REFRESH_FRACTION = 0.25
_FROM_NOTHING = "FROM_NOTHING"  # (_incremental: an empty table's changes are the query's rows)


def _refresh(
    engine: Session, dt: DynamicTableState, act: str, read_at: int, versions: dict[str, int], *, incremental: bool
) -> tuple[dict[str, int], str, str | None]:
    """Bring the table up to date; returns the statistics, the action taken and, for a
    REINITIALIZE, its REINIT_REASON.

    ``incremental`` is False when the caller asked for a given action (REINITIALIZE or
    FULL). A table with a frozen region recomputes only its active region after its
    initialisation (``plans.frozen_sql``), whatever its mode: the engine does not
    maintain a frozen table from changes.
    """
    reason = None
    if act == "REINITIALIZE":
        reason = NEW_TABLE if incremental else (dt.pending_reinit or DEFINITION_CHANGED)
    comp: ivm.Compiled | None = None
    if dt.refresh_mode in INCREMENTAL_MODES and dt.frozen_where is None:
        try:
            comp = plans.compiler(engine, dt)
        except ivm.NotIncremental:
            comp = None
    write_at = engine.next_version()
    if dt.frozen_where is not None:
        sql = plans.frozen_sql(engine, dt)
        return storage.recompute(engine, dt, None, write_at, sql=sql), act, reason
    if comp is not None and incremental and dt.initialized:
        out = _incremental(engine, dt, comp, read_at, versions, write_at)
        if isinstance(out, dict):
            return out, "INCREMENTAL", None
        if out == _FROM_NOTHING:  # the same rows the changes would give, written in one pass
            return storage.recompute(engine, dt, comp, write_at), "INCREMENTAL", None
        if out in {ADAPTIVE_VOLUME, INPUT_REPLACED}:
            act, reason = "REINITIALIZE", out
    return storage.recompute(engine, dt, comp, write_at), act, reason


def _incremental(
    engine: Session,
    dt: DynamicTableState,
    comp: ivm.Compiled,
    read_at: int,
    versions: dict[str, int],
    write_at: int,
) -> dict[str, int] | str:
    """Refresh from the inputs' changes; else why the table must be recomputed instead:
    ADAPTIVE_VOLUME, INPUT_REPLACED (both a REINITIALIZE), or another reason (a FULL:
    the engine cannot derive these changes, though Snowflake would)."""
    cat = engine.catalog
    changed: set[Key] = set()
    logged = comp.delta_inputs
    entries = rows = 0
    inserts_only: set[Key] = set()  # inputs whose changes are all inserts
    for name, v in versions.items():
        if dt.input_versions.get(name) == v:
            continue
        schema, _, table = name.partition(".")
        key = (schema, table)
        changed.add(key)
        if key not in logged:
            return JOINED_CHANGED  # a joined (reference) table changed
        tt = cat.tracked.get(key)
        if tt is None:
            changelog.track(engine, key)  # e.g. an input dynamic table that was re-created
            return INPUT_REPLACED
        if tt.tracked_since > dt.refresh_version:
            return INPUT_REPLACED  # the change log does not reach back to the last refresh
        counts = streams.log_entries_sql(tt, dt.refresh_version, read_at)
        row = engine.con.execute(f"SELECT *, (SELECT count(*) FROM {tt.phys}) FROM ({counts})").fetchone()
        assert row is not None
        entries += int(row[0])
        rows += int(row[2])
        if not row[1]:
            inserts_only.add(key)
    many = entries > FULL_REFRESH_FRACTION * max(rows, 1) and entries > 1000
    if dt.refresh_mode == "ADAPTIVE" and many:
        return ADAPTIVE_VOLUME
    if many and storage.is_empty(engine, storage.storage_of(engine, dt)[0]):
        # nothing stored (a table initialised before its inputs were loaded): the query's
        # rows are what the changes would add, and reading them costs no more
        return _FROM_NOTHING
    storage.ensure_indexes(engine, dt, comp)
    first = comp.first_per_key if not dt.columns else None
    newest = (
        first is not None
        and first[0] in inserts_only
        and plans.sorts_first(engine, cat.tracked[first[0]], first[1], first[2], dt.refresh_version, read_at)
    )
    since = dt.refresh_version
    images = frozenset(k for k in changed if k in cat.dynamic_tables and plans.images_since(cat.tracked[k], since))
    plan = plans.delta_plan(engine, comp, dt, frozenset(changed), frozenset(inserts_only), newest, images)
    if plan is None:
        return "NEEDS_FULL"  # changes the compiled plan has no rule for
    marks = {plans.V0: str(int(dt.refresh_version)), plans.V1: str(int(read_at))}

    def bind(sql: str) -> str:
        for mark, value in marks.items():
            sql = sql.replace(mark, value)
        return sql

    con = engine.con
    try:
        # look touched keys up in the indexes when there are few of them for the table's size;
        # past that, reading the table is cheaper (bench/bench_refresh.py)
        con.execute(f"SET dynamic_or_filter_threshold = {max(50, rows // storage.ROWS_PER_LOOKUP)}")
        for stmt in plan.prelude:
            con.execute(bind(stmt))
        if plan.keys is not None and plan.rows is not None:
            return storage.replace_keyed(engine, dt, plan.keys, plan.key_columns, bind(plan.rows), write_at)
        if plan.delta is None:
            return {"numInsertedRows": 0, "numDeletedRows": 0}
        names = storage.storage_of(engine, dt)[1]
        cols = ", ".join(quote(c) for c in [*names, ivm.SIGN])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mc_net AS SELECT * EXCLUDE (_mc_sign), SUM(_mc_sign) AS _mc_n FROM"
            f" (SELECT * FROM ({bind(plan.delta)}) AS _d({cols})) GROUP BY ALL HAVING SUM(_mc_sign) <> 0"
        )
        return storage.apply_net(engine, dt, write_at)
    except duckdb.Error as exc:
        raise SqlError(str(exc).splitlines()[0]) from exc
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET dynamic_or_filter_threshold")
        with contextlib.suppress(duckdb.Error):  # an aborted refresh rolls them back anyway
            for i in range(1, plan.temps + 1):
                con.execute(f"DROP TABLE IF EXISTS _mc_ivm_{i}")
            con.execute("DROP TABLE IF EXISTS _mc_net")


def suspend_dynamic_table(engine: Session, dt: DynamicTableState, reason: str) -> None:
    """Suspend a table and everything downstream of it (reference 3.5)."""
    dt.scheduling_state = "SUSPENDED"
    dt.suspended_reason = reason
    dt.last_suspended_on = engine.now()
    engine.catalog.save(dt)
    dt_monitor.record(engine, dt, [dt_monitor.SUSPEND])
    for c in graph.consumers(engine, dt.key):
        if c.scheduling_state == "RUNNING":
            up_reason = "UPSTREAM_" + ("USER_SUSPENDED" if reason == "USER_SUSPENDED" else "SUSPENDED_DUE_TO_ERRORS")
            suspend_dynamic_table(engine, c, up_reason)


def resume_dynamic_table(engine: Session, dt: DynamicTableState) -> None:
    dt.scheduling_state = "RUNNING"
    dt.suspended_reason = None
    dt.consecutive_failures = 0
    engine.catalog.save(dt)
    dt_monitor.record(engine, dt, [dt_monitor.RESUME])
    for c in graph.consumers(engine, dt.key):
        if c.scheduling_state == "SUSPENDED" and (c.suspended_reason or "").startswith("UPSTREAM_"):
            resume_dynamic_table(engine, c)
