"""Running the pipeline: task runs, dynamic-table refreshes and the scheduler.

Tasks follow reference section 2 (born suspended, WHEN → SKIPPED, history states,
auto-suspend after consecutive failures, graphs via AFTER). Dynamic tables follow
section 3 (TARGET_LAG incl. DOWNSTREAM, NO_DATA when no input changed, refresh in
dependency order at one shared data timestamp, UPSTREAM_FAILED, auto-suspend after
five failed scheduled refreshes). Everything reads time from the engine's clock.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import duckdb

from moviecdc.emulator import faults, history, ivm, streams
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import DynamicTableState, Key, StreamState, TaskState, TrackedTable
from moviecdc.emulator.schedule import parse_schedule
from moviecdc.errors import MovieCdcError, SqlError
from moviecdc.sqlsplit import split_statements

if TYPE_CHECKING:
    from moviecdc.emulator.engine import Engine

DT_FAILURES_BEFORE_SUSPEND = 5
TRIGGERED_MIN_INTERVAL = timedelta(seconds=30)
DEFAULT_RETENTION_DAYS = 1  # DATA_RETENTION_TIME_IN_DAYS
DEFAULT_MAX_EXTENSION_DAYS = 14  # MAX_DATA_EXTENSION_TIME_IN_DAYS


@dataclass
class PassReport:
    """What one scheduler pass did."""

    tasks: list[tuple[str, str]] = field(default_factory=list)  # (task, state)
    refreshes: list[tuple[str, str, str]] = field(default_factory=list)  # (dt, state, action)

    def as_dict(self) -> dict[str, object]:
        return {
            "tasks": [{"name": n, "state": s} for n, s in self.tasks],
            "refreshes": [{"name": n, "state": s, "action": a} for n, s, a in self.refreshes],
        }


# ---------------------------------------------------------------- streams
def stale_after(engine: Engine, st: StreamState) -> datetime:
    """Last consumption + max(DATA_RETENTION_TIME_IN_DAYS, MAX_DATA_EXTENSION_TIME_IN_DAYS) (1.7).

    Defaults 1 and 14 days; set them with ``ALTER TABLE <source> SET ...``.
    """
    base = st.last_consumed_on or st.created_on
    meta = engine.catalog.meta
    source = f"{st.source_schema}.{st.source_name}"
    retention = int(meta.get(f"DATA_RETENTION_TIME_IN_DAYS.{source}", DEFAULT_RETENTION_DAYS))
    extension = int(meta.get(f"MAX_DATA_EXTENSION_TIME_IN_DAYS.{source}", DEFAULT_MAX_EXTENSION_DAYS))
    return base + timedelta(days=max(retention, extension))


def is_stale(engine: Engine, st: StreamState) -> bool:
    return st.stale or engine.now() > stale_after(engine, st)


def trim_change_logs(engine: Engine) -> int:
    """Drop change-log entries every reader of the table has moved past; returns how many.

    A stream reads entries newer than its offset (and, for after-images, later ones), an
    incremental dynamic table those newer than its last refresh, so entries at or below
    the smallest of these are never read again. A table nothing reads keeps no entries.
    """
    dropped = 0
    for key, tt in engine.catalog.tracked.items():
        offsets = [
            st.offset
            for st in engine.catalog.streams.values()
            if (st.source_schema, st.source_name) == key and not st.stale
        ]
        offsets += [  # an incremental dynamic table reads the entries after its last refresh
            dt.refresh_version
            for dt in engine.catalog.dynamic_tables.values()
            if dt.refresh_mode == "INCREMENTAL" and dt.initialized and list(key) in dt.inputs
        ]
        below = min(offsets) if offsets else engine.version
        row = engine.con.execute(f"SELECT count(*) FROM {tt.log} WHERE _version <= ?", [below]).fetchone()
        if row and row[0]:
            engine.con.execute(f"DELETE FROM {tt.log} WHERE _version <= ?", [below])
            dropped += int(row[0])
    return dropped


def refresh_staleness(engine: Engine) -> None:
    """Mark streams whose offset fell out of the retention window as stale."""
    for st in list(engine.catalog.streams.values()):
        if not st.stale and is_stale(engine, st):
            st.stale = True
            engine.catalog.save(st)


# ------------------------------------------------------------------ tasks
def next_run(task: TaskState, after: datetime) -> datetime | None:
    if task.schedule is None or task.state != "started" or task.anchor is None:
        return None
    return parse_schedule(task.schedule).next_run(task.anchor, max(after, task.anchor))


def resume_task(engine: Engine, task: TaskState) -> None:
    """ALTER TASK RESUME: interval schedules count from now (reference 2.2)."""
    if task.state != "started":
        task.state = "started"
        task.anchor = engine.now()
        task.last_slot = None
        task.consecutive_failures = 0
    task.last_committed_on = engine.now()
    engine.catalog.save(task)
    history.set_scheduled_row(engine, task, next_run(task, engine.now()))


def suspend_task(engine: Engine, task: TaskState, reason: str) -> None:
    task.state = "suspended"
    task.last_suspended_on = engine.now()
    task.last_suspended_reason = reason
    engine.catalog.save(task)
    history.set_scheduled_row(engine, task, None)


def children(engine: Engine, task: TaskState) -> list[TaskState]:
    me = f"{task.schema}.{task.name}"
    return sorted((t for t in engine.catalog.tasks.values() if me in t.after), key=lambda t: t.name)


def run_graph(engine: Engine, root: TaskState, scheduled: datetime, source: str) -> str:
    """Run a root task, then every started child whose predecessors all succeeded."""
    group = engine.new_id()
    state = run_task(engine, root, scheduled, source, group, root)
    succeeded = {f"{root.schema}.{root.name}"} if state == "SUCCEEDED" else set()
    queue = children(engine, root) if state == "SUCCEEDED" else []
    seen: set[str] = set()
    while queue:
        child = queue.pop(0)
        fq = f"{child.schema}.{child.name}"
        if fq in seen or child.state != "started":
            continue
        if not all(p in succeeded for p in child.after):
            continue
        seen.add(fq)
        if run_task(engine, child, scheduled, source, group, root) == "SUCCEEDED":
            succeeded.add(fq)
            queue.extend(children(engine, child))
    return state


def run_task(
    engine: Engine,
    task: TaskState,
    scheduled: datetime,
    source: str,
    group: str,
    root: TaskState,
) -> str:
    """One task run: WHEN, then the body in one transaction with its history row.

    Names in the condition and the body resolve in the task's own schema.
    """
    from moviecdc.emulator.objects import in_schema

    run = history.TaskRun(task, root, scheduled, engine.tick(), source, group)
    with in_schema(engine, task.schema):
        if task.when:
            try:
                ok = bool(engine.execute(f"SELECT {task.when}").scalar())
            except MovieCdcError as exc:
                return _finish(engine, task, run, "FAILED", exc)
            if not ok:
                return _finish(engine, task, run, "SKIPPED", None)
        body = task.body.strip()
        try:
            if _is_block(body):
                for stmt in _block_statements(body):
                    engine.execute(stmt)
                return _finish(engine, task, run, "SUCCEEDED", None)
            with engine._txn():
                engine.execute(body)
                faults.hit("task.body_done")
                return _finish(engine, task, run, "SUCCEEDED", None)
        except MovieCdcError as exc:
            return _finish(engine, task, run, "FAILED", exc)


def _is_block(body: str) -> bool:
    head = body.split(None, 1)[0].upper() if body else ""
    return head in {"BEGIN", "DECLARE"} and not body.upper().startswith("BEGIN TRANSACTION")


def _block_statements(body: str) -> list[str]:
    """Statements of a simple Snowflake Scripting block (``BEGIN stmt; ... END``)."""
    text = body.strip().rstrip(";").strip()
    if not (text.upper().startswith("BEGIN") and text.upper().endswith("END")):
        raise SqlError("the local engine runs only BEGIN <statements> END scripting blocks")
    inner = text[len("BEGIN") : -len("END")]
    stmts = [s.sql for s in split_statements(inner)]
    for s in stmts:
        head = s.split(None, 1)[0].upper()
        if head in {"LET", "IF", "FOR", "WHILE", "LOOP", "REPEAT", "CASE", "RETURN", "DECLARE"} or ":=" in s:
            raise SqlError(f"the local engine cannot run Snowflake Scripting statement {head} in a task body")
    return stmts


def _finish(engine: Engine, task: TaskState, run: history.TaskRun, state: str, exc: MovieCdcError | None) -> str:
    """Record the run, count failures, auto-suspend, schedule the next slot."""
    with engine._txn():
        task = engine.catalog.tasks.get((task.schema, task.name), task)
        if state == "FAILED":
            task.consecutive_failures += 1
            limit = task.suspend_after
            if limit > 0 and task.consecutive_failures >= limit and task.state == "started":
                state = "FAILED_AND_AUTO_SUSPENDED"
        elif state == "SUCCEEDED":
            task.consecutive_failures = 0
        if run.source in {"SCHEDULE", "TRIGGER"}:
            task.last_slot = run.scheduled
        if state == "FAILED_AND_AUTO_SUSPENDED":
            suspend_task(engine, task, "SUSPENDED_DUE_TO_ERRORS")
        else:
            engine.catalog.save(task)
        nxt = next_run(task, engine.now())
        history.record_task_run(engine, run, state, exc, nxt)
        history.set_scheduled_row(engine, task, nxt)
    return state


# -------------------------------------------------------- dynamic tables
def consumers(engine: Engine, key: Key) -> list[DynamicTableState]:
    return [dt for dt in engine.catalog.dynamic_tables.values() if list(key) in dt.inputs]


def effective_lag(engine: Engine, dt: DynamicTableState, _seen: frozenset[Key] = frozenset()) -> int | None:
    """Seconds of lag this table must meet; DOWNSTREAM takes its consumers' (reference 3.2).

    None means nothing will ever refresh it on a schedule: a DOWNSTREAM table that
    no running dynamic table reads.
    """
    if dt.scheduling_state != "RUNNING":
        return None
    if dt.lag_seconds is not None:
        return dt.lag_seconds
    lags = [
        lag
        for c in consumers(engine, dt.key)
        if c.key not in _seen and (lag := effective_lag(engine, c, _seen | {dt.key})) is not None
    ]
    return min(lags) if lags else None


def upstream(engine: Engine, key: Key) -> list[Key]:
    """Dynamic tables ``key`` reads, directly or not, in dependency order."""
    out: list[Key] = []

    def visit(k: Key) -> None:
        for inp in engine.catalog.dynamic_tables[k].inputs:
            ik = (inp[0], inp[1])
            if ik in engine.catalog.dynamic_tables and ik not in out:
                visit(ik)
                out.append(ik)

    visit(key)
    return out


def topo_order(engine: Engine, keys: list[Key]) -> list[Key]:
    ordered: list[Key] = []
    for k in sorted(keys):
        for u in [*upstream(engine, k), k]:
            if u in keys and u not in ordered:
                ordered.append(u)
    return ordered


def is_due(engine: Engine, dt: DynamicTableState, now: datetime) -> bool:
    """Due when half the effective lag has passed since the data timestamp.

    Refreshing at half the target keeps the actual lag under it, as Snowflake's
    scheduler does by refreshing "somewhat more often" than the lag.
    """
    lag = effective_lag(engine, dt)
    if lag is None:
        return False
    if dt.data_timestamp is None:
        return True
    return now >= dt.data_timestamp + timedelta(seconds=lag / 2)


def refresh_now(
    engine: Engine,
    keys: list[Key],
    trigger: str,
    *,
    raise_on_failure: bool = False,
    initial_action: str | None = None,
) -> dict[Key, tuple[str, str]]:
    """Refresh ``keys`` and the dynamic tables upstream of them, in dependency order."""
    wanted: list[Key] = []
    for k in keys:
        for u in [*upstream(engine, k), k]:
            if u not in wanted:
                wanted.append(u)
    results = refresh_group(engine, topo_order(engine, wanted), trigger, initial_action=initial_action, targets=keys)
    if raise_on_failure:
        for k in keys:
            state, _ = results.get(k, ("SKIPPED", ""))
            if state not in {"SUCCEEDED"}:
                msg = history.last_refresh_error(engine, k) or state
                raise SqlError(f"Dynamic table {k[1]} refresh {state}: {msg}")
    return results


def refresh_group(
    engine: Engine,
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
                code="UPSTREAM_FAILURE", message="Skipped refreshing because an input dynamic table failed.",
            )  # fmt: skip
            failed.add(key)
            results[key] = ("UPSTREAM_FAILED", "NO_DATA")
            continue
        state, act = refresh_one(engine, dt, data_ts, trigger, action)
        results[key] = (state, act)
        if state != "SUCCEEDED":
            failed.add(key)
    return results


def _input_versions(engine: Engine, dt: DynamicTableState) -> dict[str, int]:
    return {f"{s}.{n}": engine.catalog.versions.get((s, n), 0) for s, n in (tuple(i) for i in dt.inputs)}


def refresh_one(
    engine: Engine,
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
    if dt.initialized and action is None and versions == dt.input_versions:
        with engine._txn():
            dt.data_timestamp = data_ts
            dt.consecutive_failures = 0
            engine.catalog.save(dt)
            history.record_refresh(engine, dt, "SUCCEEDED", "NO_DATA", trigger, data_ts, started)
        return "SUCCEEDED", "NO_DATA"
    act = action or ("INITIALIZE" if not dt.initialized else "FULL")
    try:
        with engine._txn():
            read_at = engine.version
            stats, act = _refresh(engine, dt, act, read_at, versions, incremental=action is None)
            faults.hit("refresh.recomputed")
            stats["executionTimeMs"] = int((time.perf_counter() - t0) * 1000)
            dt.data_timestamp = data_ts
            dt.input_versions = versions
            dt.refresh_version = read_at
            dt.initialized = True
            dt.consecutive_failures = 0
            engine.catalog.save(dt)
            history.record_refresh(engine, dt, "SUCCEEDED", act, trigger, data_ts, started, stats=stats)
        return "SUCCEEDED", act
    except MovieCdcError as exc:
        with engine._txn():
            dt = engine.catalog.dynamic_tables.get(dt.key, dt)
            if trigger == "SCHEDULED":
                dt.consecutive_failures += 1
            engine.catalog.save(dt)
            history.record_refresh(
                engine, dt, "FAILED", act, trigger, data_ts, started,
                code=getattr(exc, "code", "100038"), message=exc.message,
            )  # fmt: skip
            if dt.consecutive_failures >= DT_FAILURES_BEFORE_SUSPEND:
                suspend_dynamic_table(engine, dt, "SUSPENDED_DUE_TO_ERRORS")
        return "FAILED", act


# A refresh whose inputs logged more changes than this fraction of their rows is done in
# full: past it, recomputing costs less than reading the changes (bench/bench_refresh.py).
FULL_REFRESH_FRACTION = 0.25


def compiler(engine: Engine, dt: DynamicTableState) -> ivm.Compiler:
    """The incremental compiler for a dynamic table's query (cached per query text).

    Raises:
        ivm.NotIncremental: the query cannot be maintained from its inputs' changes.
    """
    cache_key = (dt.schema, dt.name, dt.query)
    comp = engine.ivm_cache.get(cache_key)
    if comp is not None:
        return comp
    sql, ctx = _translated(engine, dt)
    inputs = [(i[0], i[1]) for i in dt.inputs]
    # engines of one process (tests, the dashboard, `run` passes) share compiled plans for
    # the same query over the same storage
    comp = shared_compiler(engine, dt.key, sql, ctx.used_clock, inputs)
    engine.ivm_cache[cache_key] = comp
    return comp


def shared_compiler(engine: Engine, key: Key, sql: str, used_clock: bool, inputs: list[Key]) -> ivm.Compiler:
    """``build_compiler``, cached for the process: engines of one process (tests, the
    dashboard, `run` passes) share compiled plans for one query over the same storage."""
    shared_key = (key, sql, _storage_signature(engine, inputs))
    comp = _SHARED.get(shared_key)
    if comp is None:
        comp = build_compiler(engine, key, sql, used_clock, inputs)
        if len(_SHARED) >= 64:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[shared_key] = comp
    else:
        _bind(engine, comp)
    return comp


_SHARED: dict[tuple[Key, str, tuple[object, ...]], ivm.Compiler] = {}


def _storage_signature(engine: Engine, inputs: list[Key]) -> tuple[object, ...]:
    """What compiled plans depend on besides the query: each input's storage and columns."""
    cat = engine.catalog
    sig: list[object] = []
    for key in sorted(inputs):
        tt = cat.tracked.get(key)
        sig.append((key, tt.tid, tuple(tt.columns)) if tt else (key, None, None))
    return tuple(sig)


def _columns_of(engine: Engine) -> Callable[[str], list[str]]:
    """The compiler's callback: the column names of a query, asked of DuckDB."""

    def columns(text: str) -> list[str]:
        return [d[0] for d in engine.con.execute(f"SELECT * FROM ({text}) LIMIT 0").description]

    return columns


def _bind(engine: Engine, comp: ivm.Compiler) -> None:
    comp.resolve = engine.resolve  # type: ignore[assignment]
    comp.columns = _columns_of(engine)


def build_compiler(engine: Engine, key: Key, sql: str, used_clock: bool, inputs: list[Key]) -> ivm.Compiler:
    """Compile a translated query for incremental refresh, or raise ivm.NotIncremental."""
    if used_clock:
        raise ivm.NotIncremental("CURRENT_TIMESTAMP and other clock functions change results without any input change")
    cat = engine.catalog
    for inp in inputs:
        if inp not in cat.tracked and inp not in cat.dynamic_tables and not engine._table_exists(inp):
            raise ivm.NotIncremental(f"input {inp[1]} is a view; the local engine maintains only tables incrementally")

    comp = ivm.Compiler(ivm._parse(sql), engine.resolve, key, _columns_of(engine))  # type: ignore[arg-type]
    comp.build_states()
    return comp


def _translated(engine: Engine, dt: DynamicTableState) -> tuple[str, tr.Context]:
    from moviecdc.emulator.objects import in_schema

    cache_key = (dt.schema, dt.query)
    cached = engine.dt_sql_cache.get(cache_key)
    if cached is not None:
        return cached, tr.Context(resolver=engine)
    with in_schema(engine, dt.schema):
        sql, _, ctx = engine._translate(tr.parse(dt.query), None)
    if ctx.streams:
        raise SqlError(f"Dynamic table {dt.name} cannot read from a stream")
    if not ctx.used_clock:  # a query reading CURRENT_TIMESTAMP is translated per refresh
        engine.dt_sql_cache[cache_key] = sql
    return sql, ctx


def _refresh(
    engine: Engine, dt: DynamicTableState, act: str, read_at: int, versions: dict[str, int], *, incremental: bool
) -> tuple[dict[str, int], str]:
    """Bring the table up to date; returns the statistics and the action taken.

    ``incremental`` is False when the caller asked for a given action (INITIALIZE,
    REINITIALIZE or FULL).
    """
    comp: ivm.Compiler | None = None
    if dt.refresh_mode == "INCREMENTAL":
        try:
            comp = compiler(engine, dt)
        except ivm.NotIncremental:
            comp = None
    write_at = engine._next_version()
    if comp is not None and incremental and dt.initialized:
        stats = _incremental(engine, dt, comp, read_at, versions, write_at)
        if stats is not None:
            return stats, "INCREMENTAL"
    return _recompute(engine, dt, comp, write_at), act


def _incremental(
    engine: Engine,
    dt: DynamicTableState,
    comp: ivm.Compiler,
    read_at: int,
    versions: dict[str, int],
    write_at: int,
) -> dict[str, int] | None:
    """Refresh from the inputs' changes; None when a full refresh is needed instead."""
    cat = engine.catalog
    changed: set[Key] = set()
    logged = comp.delta_inputs()
    entries = rows = 0
    inserts_only: set[Key] = set()  # inputs whose changes are all inserts
    for name, v in versions.items():
        if dt.input_versions.get(name) == v:
            continue
        schema, _, table = name.partition(".")
        key = (schema, table)
        changed.add(key)
        if key not in logged:
            return None  # a joined (reference) table changed
        tt = cat.tracked.get(key)
        if tt is None:
            engine._track(key)  # e.g. an input dynamic table that was re-created
            return None
        if tt.tracked_since > dt.refresh_version:
            return None  # the change log does not reach back to the last refresh
        counts = streams.log_entries_sql(tt, dt.refresh_version, read_at)
        row = engine.con.execute(f"SELECT *, (SELECT count(*) FROM {tt.phys}) FROM ({counts})").fetchone()
        assert row is not None
        entries += int(row[0])
        rows += int(row[2])
        if not row[1]:
            inserts_only.add(key)
    if entries > FULL_REFRESH_FRACTION * max(rows, 1) and entries > 1000:
        return None
    _ensure_indexes(engine, dt, comp)
    first = comp.first_per_key() if not dt.columns else None
    newest = (
        first is not None
        and first[0] in inserts_only
        and _sorts_first(engine, cat.tracked[first[0]], first[1], first[2], dt.refresh_version, read_at)
    )
    since = dt.refresh_version
    images = frozenset(k for k in changed if k in cat.dynamic_tables and _images_since(cat.tracked[k], since))
    plan = _delta_plan(engine, comp, dt, frozenset(changed), frozenset(inserts_only), newest, images)
    if plan is None:
        return None
    marks = {_V0: str(int(dt.refresh_version)), _V1: str(int(read_at))}

    def bind(sql: str) -> str:
        for mark, value in marks.items():
            sql = sql.replace(mark, value)
        return sql

    con = engine.con
    try:
        # look touched keys up in the indexes when there are few of them for the table's size;
        # past that, reading the table is cheaper (bench/bench_refresh.py)
        con.execute(f"SET dynamic_or_filter_threshold = {max(50, rows // ROWS_PER_LOOKUP)}")
        for stmt in plan.prelude:
            con.execute(bind(stmt))
        if plan.keys is not None and plan.rows is not None:
            return _replace_keyed(engine, dt, plan.keys, plan.key_columns, bind(plan.rows), write_at)
        if plan.delta is None:
            return {"numInsertedRows": 0, "numDeletedRows": 0}
        names = _storage(engine, dt)[1]
        cols = ", ".join(streams.q(c) for c in [*names, ivm.SIGN])
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mc_net AS SELECT * EXCLUDE (_mc_sign), SUM(_mc_sign) AS _mc_n FROM"
            f" (SELECT * FROM ({bind(plan.delta)}) AS _d({cols})) GROUP BY ALL HAVING SUM(_mc_sign) <> 0"
        )
        return _apply_net(engine, dt, write_at)
    except duckdb.Error as exc:
        raise SqlError(str(exc).splitlines()[0]) from exc
    finally:
        with contextlib.suppress(duckdb.Error):
            con.execute("RESET dynamic_or_filter_threshold")
        with contextlib.suppress(duckdb.Error):  # an aborted refresh rolls them back anyway
            for i in range(1, plan.temps + 1):
                con.execute(f"DROP TABLE IF EXISTS _mc_ivm_{i}")
            con.execute("DROP TABLE IF EXISTS _mc_net")


# An index lookup of one key, fetching its row, costs about as much as reading this many
# rows of a table; finding a stored row to delete by its key, about this many.
ROWS_PER_LOOKUP = 2_000
ROWS_PER_KEY_DELETE = 200
# Stand-ins for the versions a refresh reads between, so one compiled plan serves every
# refresh with the same changed inputs; bound to the real versions as each one runs.
_V0, _V1 = "9000000000000000001", "9000000000000000002"


@dataclass
class DeltaPlan:
    """The statements that bring one dynamic table up to date from given changed inputs."""

    prelude: list[str]  # setup statements (temp tables)
    temps: int  # temp tables the prelude makes
    delta: str | None = None  # the table's signed delta; None: nothing can have changed
    keys: str | None = None  # keyed tables: the temp table of touched keys ...
    key_columns: list[str] = field(default_factory=list)  # ... the columns holding them ...
    rows: str | None = None  # ... and the table's rows for those keys now


def _images_since(tt: TrackedTable, version: int) -> bool:
    """Whether every insert the log holds after ``version`` carries its values."""
    return tt.insert_images is not None and tt.insert_images <= version


def _sorts_first(engine: Engine, tt: TrackedTable, column: str, desc: bool, v0: int, v1: int) -> bool:
    """Whether each row inserted between the versions sorts before every older row of the
    table on ``column`` (descending or not), with no NULL anywhere in it.

    Rows inserted with an increasing timestamp do; the older side is checked through
    the column's min/max statistics, so this reads little more than the new rows.
    """
    ids = streams.logged_ids_sql(tt, v0, v1)
    c = streams.q(column)
    con = engine.con
    row = con.execute(
        f"SELECT min({c}), max({c}), count(*) - count({c}) FROM {tt.phys} WHERE _row_id IN ({ids})"
    ).fetchone()
    if row is None or row[0] is None or row[2]:
        return False
    bound, op = (row[0], ">=") if desc else (row[1], "<=")
    older = con.execute(
        f"SELECT EXISTS (SELECT 1 FROM {tt.phys} WHERE {c} IS NULL),"
        f" EXISTS (SELECT 1 FROM {tt.phys} WHERE {c} {op} ? AND _row_id NOT IN ({ids}))",
        [bound],
    ).fetchone()
    return older is not None and not older[0] and not older[1]


def _delta_plan(
    engine: Engine,
    comp: ivm.Compiler,
    dt: DynamicTableState,
    changed: frozenset[Key],
    inserts: frozenset[Key],
    newest: bool = False,
    images: frozenset[Key] = frozenset(),
) -> DeltaPlan | None:
    """How to refresh ``dt`` from the changes of ``changed`` (cached per compiler).

    ``inserts`` are the changed inputs whose changes are all inserts (an append-only
    events table): their change sets are read more simply. ``newest``: a keyed table
    keeping the first row per key whose new rows all sort first (``_sorts_first``).
    ``images``: changed dynamic tables whose log has every row's values since the last
    refresh. None when such changes need a full refresh.
    """
    cat = engine.catalog
    # a re-created input gets a new log
    cache_key = (frozenset((k, cat.tracked[k].tid, k in inserts, k in images) for k in changed), newest)
    if cache_key in comp.plans:
        return comp.plans[cache_key]

    def input_delta(k: Key) -> str:
        if k in images and k not in inserts:
            return streams.logged_delta_sql(cat.tracked[k], int(_V0), int(_V1))
        return streams.delta_sql(cat.tracked[k], int(_V0), int(_V1), inserts_only=k in inserts)

    env = ivm.Inputs(
        changed=set(changed),
        delta=input_delta,
        old=lambda k: streams.old_state_sql(cat.tracked[k], int(_V0), int(_V1), inserts_only=k in inserts),
        restricted=lambda k, alias, cond, temp, used: streams.restricted_states(
            cat.tracked[k], int(_V0), int(_V1), alias, cond, temp, used, inserts_only=k in inserts
        ),
    )
    comp.reset()
    plan: DeltaPlan | None
    shape = comp.keyed() if not dt.columns else None  # named columns would rename the keys
    try:
        if shape is not None:
            keyed = comp.keyed_delta(env, shape, newest_only=newest)
            plan = DeltaPlan(list(comp.prelude), comp._tmp)
            if keyed is not None:
                plan.keys, plan.rows, plan.key_columns = keyed[0], keyed[1], shape.outputs
        else:
            rows = comp.delta(comp.root, env)
            plan = DeltaPlan(list(comp.prelude), comp._tmp, delta=rows)
    except ivm.NeedsFull:
        plan = None
    comp.plans[cache_key] = plan
    return plan


def _replace_keyed(
    engine: Engine, dt: DynamicTableState, keys: str, columns: list[str], rows: str, version: int
) -> dict[str, int]:
    """Replace the stored rows of the touched keys by the query's rows for them now."""
    con = engine.con
    target, names = _storage(engine, dt)
    tt = engine.catalog.tracked.get(dt.key)
    cond = " AND ".join(f"k._mc_k{i} IS NOT DISTINCT FROM t.{streams.q(c)}" for i, c in enumerate(columns))
    delete = f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {keys} AS k WHERE {cond})"
    row = con.execute(f"SELECT (SELECT count(*) FROM {target}), (SELECT count(*) FROM {keys})").fetchone()
    size, touched = (int(row[0]), int(row[1])) if row else (0, 0)
    # through the key column's index, unless so many keys changed that reading the table is cheaper
    threshold = max(50, size // ROWS_PER_KEY_DELETE)
    con.execute(f"SET dynamic_or_filter_threshold = {threshold}")
    if tt is not None and touched > threshold:
        # reading the whole table anyway: one pass deletes and returns the before-images
        n_del = engine._log(tt, version, con.execute(delete + " RETURNING *"))
    elif tt is not None:
        # the before-images, with only the columns readers use: fetching a column of rows
        # spread over the table costs about as much as the delete (DELETE ... RETURNING
        # fetches them all)
        logged = log_columns(engine, dt.key)
        picked = ", ".join(streams.q(c) for c in (tt.columns if logged is None else logged))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _mc_gone AS SELECT rowid AS _mc_rid, _row_id{', ' if picked else ''}{picked}"
            f" FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {keys} AS k WHERE {cond})"
        )
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT _mc_rid FROM _mc_gone)")
        n_del = engine._log_images(tt, version, "_mc_gone", logged)
        con.execute("DROP TABLE _mc_gone")
    else:
        row = con.execute(delete).fetchone()
        n_del = int(row[0]) if row else 0
    con.execute("RESET dynamic_or_filter_threshold")
    qn = ", ".join(streams.q(c) for c in names)
    insert = f"INSERT INTO {target} ({qn}) SELECT * FROM ({rows})"
    if tt is not None:
        n_ins = _insert_logged(engine, dt, version, insert)
    else:
        row = con.execute(insert).fetchone()
        n_ins = int(row[0]) if row else 0
    if n_ins or n_del:
        engine.catalog.set_version(dt.key, version, engine.now())
    return {"numInsertedRows": n_ins, "numDeletedRows": n_del}


def log_columns(engine: Engine, key: Key) -> list[str] | None:
    """The columns a dynamic table's change log must hold in its before-images: those its
    readers use. None: all of them (a stream reads it, or a reader may read any column).

    A reader created later starts from a full refresh (a stream from its creation), so it
    never reads entries logged before it existed.
    """
    cat = engine.catalog
    if any((st.source_schema, st.source_name) == key for st in cat.streams.values()):
        return None
    used: set[str] = set()
    for dt in list(cat.dynamic_tables.values()):
        if dt.refresh_mode != "INCREMENTAL" or list(key) not in dt.inputs:
            continue
        try:
            comp = compiler(engine, dt)
        except (ivm.NotIncremental, SqlError):
            continue  # refreshed in full: reads no log
        if key not in comp.delta_inputs():
            continue
        cols = comp.columns_read(key)
        if cols is None:
            return None
        used |= cols
    tt = cat.tracked[key]
    return [c for c in tt.columns if c.lower() in used]


def _insert_logged(engine: Engine, dt: DynamicTableState, version: int, insert: str) -> int:
    """Run ``insert`` into a dynamic table's storage and log the rows it added, with the
    values its readers use (unlike a source table's log, which keeps only row ids)."""
    tt = engine.catalog.tracked[dt.key]
    logged = log_columns(engine, dt.key)
    added = engine._insert_logged(tt, version, insert, [], tt.columns if logged is None else logged)
    if tt.insert_images is None:
        tt.insert_images = version
        engine.catalog.save(tt)
    return added


def _ensure_indexes(engine: Engine, dt: DynamicTableState, comp: ivm.Compiler) -> None:
    """Index what an incremental refresh looks rows up by (created once, kept by DuckDB).

    That is each one-column window key of an input table, and the first column of the
    table's own storage, which finds the stored copies of rows a refresh removes.
    """
    wanted = [(engine.catalog.tracked[k].phys, col) for k, col in comp.lookup_columns() if k in engine.catalog.tracked]
    target, names = _storage(engine, dt)
    shape = comp.keyed() if not dt.columns else None
    if shape is not None:  # keyed refreshes delete by the key
        wanted.append((target, shape.outputs[0]))
    elif names:  # the others find stored rows by their first column
        wanted.append((target, names[0]))
    for table, col in sorted(wanted):
        ident = hashlib.sha1(f"{table}.{col}".encode()).hexdigest()[:12]
        engine.con.execute(f'CREATE INDEX IF NOT EXISTS "mc_ix_{ident}" ON {table} ({streams.q(col)})')


def _storage(engine: Engine, dt: DynamicTableState) -> tuple[str, list[str]]:
    """Where a dynamic table's rows live, and its column names."""
    tt = engine.catalog.tracked.get(dt.key)
    if tt is not None:
        return tt.phys, list(tt.columns)
    fq = engine._fq(dt.key)
    return fq, [d[0] for d in engine.con.execute(f"SELECT * FROM {fq} LIMIT 0").description]


def _apply_net(engine: Engine, dt: DynamicTableState, version: int) -> dict[str, int]:
    """Apply ``_mc_net`` (each distinct row with its net count ``_mc_n``) to the storage.

    A negative count removes that many copies of the row, a positive one adds copies.
    A tracked table (one that a stream or an incremental dynamic table reads) logs both.
    """
    con = engine.con
    target, names = _storage(engine, dt)
    tt = engine.catalog.tracked.get(dt.key)
    qn = [streams.q(c) for c in names]
    row = con.execute(
        "SELECT COALESCE(SUM(_mc_n) FILTER (WHERE _mc_n > 0), 0),"
        " COALESCE(-SUM(_mc_n) FILTER (WHERE _mc_n < 0), 0) FROM _mc_net"
    ).fetchone()
    n_ins, n_del = (int(row[0]), int(row[1])) if row else (0, 0)
    if n_del:
        first = qn[0]
        # stored copies are found through the (indexed) first column, then matched on all
        size = con.execute(f"SELECT count(*) FROM {target}").fetchone()
        con.execute(f"SET dynamic_or_filter_threshold = {max(50, int(size[0] if size else 0) // ROWS_PER_LOOKUP)}")
        # (with the row ids of a tracked table: the candidates are its before-images)
        picked = ", ".join(["rowid AS _mc_rid", *(["_row_id"] if tt is not None else []), *qn])
        cand = f"SELECT {picked} FROM {target} WHERE {first} IN (SELECT {first} FROM _mc_net WHERE _mc_n < 0)"
        null_key = con.execute(f"SELECT count(*) FROM _mc_net WHERE _mc_n < 0 AND {first} IS NULL").fetchone()
        if null_key and null_key[0]:
            cand += f" UNION ALL SELECT {picked} FROM {target} WHERE {first} IS NULL"
        con.execute(f"CREATE OR REPLACE TEMP TABLE _mc_cand AS {cand}")
        con.execute("RESET dynamic_or_filter_threshold")
        match = " AND ".join(f"p.{c} IS NOT DISTINCT FROM d.{c}" for c in qn)
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _mc_gone AS SELECT p.* EXCLUDE (_mc_rn) FROM ("
            f" SELECT *, row_number() OVER (PARTITION BY {', '.join(qn)} ORDER BY _mc_rid) AS _mc_rn FROM _mc_cand"
            f") AS p JOIN _mc_net AS d ON d._mc_n < 0 AND {match} AND p._mc_rn <= -d._mc_n"
        )
        if tt is not None:
            engine._log_images(tt, version, "_mc_gone", log_columns(engine, dt.key))
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT _mc_rid FROM _mc_gone)")
        con.execute("DROP TABLE _mc_gone")
        con.execute("DROP TABLE _mc_cand")
    if n_ins:
        sql = (
            f"INSERT INTO {target} ({', '.join(qn)}) SELECT {', '.join(qn)} FROM"
            f" (SELECT *, UNNEST(range(_mc_n::BIGINT)) FROM _mc_net WHERE _mc_n > 0)"
        )
        if tt is not None:
            _insert_logged(engine, dt, version, sql)
        else:
            con.execute(sql)
    if n_ins or n_del:
        engine.catalog.set_version(dt.key, version, engine.now())
    return {"numInsertedRows": n_ins, "numDeletedRows": n_del}


def _recompute(engine: Engine, dt: DynamicTableState, comp: ivm.Compiler | None, version: int) -> dict[str, int]:
    """Full refresh: recompute the query and apply the difference to the stored rows.

    An incremental table also rebuilds its GROUP BY state here, and reads its
    aggregates from it, so the query runs once.
    """
    con = engine.con
    target, names = _storage(engine, dt)
    tt = engine.catalog.tracked.get(dt.key)
    qn = ", ".join(streams.q(c) for c in names)
    try:
        if comp is not None:
            comp.reset()
            _ensure_indexes(engine, dt, comp)
            for block, st in ((b, comp.states[id(b)]) for b in comp.group_blocks()):
                con.execute(f"CREATE OR REPLACE TABLE {st.table} AS {comp.state_sql(block, st, None, delta=False)}")
            sql = comp.render(comp.root, None, from_state=True)
        else:
            sql = _translated(engine, dt)[0]
        con.execute(f"CREATE OR REPLACE TEMP TABLE _mc_new AS SELECT * FROM ({sql}) AS _q({qn})")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _mc_net AS SELECT * EXCLUDE (_mc_s), SUM(_mc_s) AS _mc_n FROM"
            f" (SELECT *, 1 AS _mc_s FROM _mc_new UNION ALL SELECT {qn}, -1 FROM {target})"
            " GROUP BY ALL HAVING SUM(_mc_s) <> 0"
        )
        row = con.execute(
            "SELECT COALESCE(SUM(_mc_n) FILTER (WHERE _mc_n > 0), 0),"
            f" COALESCE(-SUM(_mc_n) FILTER (WHERE _mc_n < 0), 0), (SELECT count(*) FROM {target}) FROM _mc_net"
        ).fetchone()
        n_ins, n_del, size = (int(row[0]), int(row[1]), int(row[2])) if row else (0, 0, 0)
        if n_del and n_del * 4 < size:
            stats = _apply_net(engine, dt, version)
        elif n_ins or n_del:
            if tt is not None:
                # every row goes: logged straight from the table (the columns readers use),
                # not sent back to Python by DELETE ... RETURNING
                engine._log_images(tt, version, target, log_columns(engine, dt.key))
                con.execute(f"DELETE FROM {target}")
                _insert_logged(engine, dt, version, f"INSERT INTO {target} ({qn}) SELECT * FROM _mc_new")
            else:
                con.execute(f"DELETE FROM {target}")
                con.execute(f"INSERT INTO {target} SELECT * FROM _mc_new")
            engine.catalog.set_version(dt.key, version, engine.now())
            stats = {"numInsertedRows": n_ins, "numDeletedRows": n_del}
        else:
            stats = {"numInsertedRows": 0, "numDeletedRows": 0}
        if not dt.initialized:
            engine.catalog.set_version(dt.key, version, engine.now())
        return stats
    except duckdb.Error as exc:
        raise SqlError(str(exc).splitlines()[0]) from exc
    finally:
        with contextlib.suppress(duckdb.Error):  # an aborted refresh rolls them back anyway
            con.execute("DROP TABLE IF EXISTS _mc_new")
            con.execute("DROP TABLE IF EXISTS _mc_net")


def suspend_dynamic_table(engine: Engine, dt: DynamicTableState, reason: str) -> None:
    """Suspend a table and everything downstream of it (reference 3.5)."""
    dt.scheduling_state = "SUSPENDED"
    dt.suspended_reason = reason
    dt.last_suspended_on = engine.now()
    engine.catalog.save(dt)
    for c in consumers(engine, dt.key):
        if c.scheduling_state == "RUNNING":
            up_reason = "UPSTREAM_" + ("USER_SUSPENDED" if reason == "USER_SUSPENDED" else "SUSPENDED_DUE_TO_ERRORS")
            suspend_dynamic_table(engine, c, up_reason)


def resume_dynamic_table(engine: Engine, dt: DynamicTableState) -> None:
    dt.scheduling_state = "RUNNING"
    dt.suspended_reason = None
    dt.consecutive_failures = 0
    engine.catalog.save(dt)
    for c in consumers(engine, dt.key):
        if c.scheduling_state == "SUSPENDED" and (c.suspended_reason or "").startswith("UPSTREAM_"):
            resume_dynamic_table(engine, c)


# -------------------------------------------------------------- scheduler
def run_pending(engine: Engine, *, catch_up: bool = False) -> PassReport:
    """One scheduler pass: due task runs, then due refreshes in dependency order.

    With ``catch_up`` (``moviecdc run --once``) it is as if enough time had passed
    for every schedule and lag: every started root task runs now (its WHEN is
    evaluated), then every dynamic table that would refresh on its own refreshes.
    A DOWNSTREAM table that no dynamic table reads is left alone, as on Snowflake.
    """
    if engine._user_txn:
        # tasks and refreshes run in sessions of their own on Snowflake; here they share the
        # connection, so never inside a transaction someone left open
        raise SqlError("the scheduler cannot run while a transaction is open: COMMIT or ROLLBACK first")
    report = PassReport()
    now = engine.now()
    with engine._txn():
        refresh_staleness(engine)
        trim_change_logs(engine)
    roots = sorted(
        (t for t in engine.catalog.tasks.values() if t.state == "started" and not t.after),
        key=lambda t: (t.schema, t.name),
    )
    for task in roots:
        slot: datetime | None
        source = "SCHEDULE"
        if catch_up:
            slot = now
        elif task.schedule is not None and task.anchor is not None:
            after = max(task.anchor, task.last_slot or task.anchor)
            slot = parse_schedule(task.schedule).latest_slot(task.anchor, after, now)
        elif task.when and "STREAM_HAS_DATA" in task.when.upper():
            last = task.last_slot or task.anchor or now
            slot = now if now - last >= TRIGGERED_MIN_INTERVAL or task.last_slot is None else None
            source = "TRIGGER"
        else:
            slot = None
        if slot is None:
            continue
        state = run_graph(engine, task, slot, source)
        report.tasks.append((f"{task.schema}.{task.name}", state))
    dts = engine.catalog.dynamic_tables
    if catch_up:
        due = [k for k, dt in dts.items() if effective_lag(engine, dt) is not None]
    else:
        due = [k for k, dt in dts.items() if is_due(engine, dt, now)]
    if due:
        wanted: list[Key] = []
        for k in due:
            for u in [*upstream(engine, k), k]:
                if u not in wanted and dts[u].scheduling_state == "RUNNING":
                    wanted.append(u)
        results = refresh_group(engine, topo_order(engine, wanted), "SCHEDULED")
        for k, (state, act) in results.items():
            report.refreshes.append((f"{k[0]}.{k[1]}", state, act))
    return report
