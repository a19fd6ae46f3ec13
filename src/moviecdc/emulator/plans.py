"""Incremental refresh plans: the compiled query of each dynamic table (cached per engine and
per process) and the statements that bring it up to date from its inputs' changes."""

from __future__ import annotations

import functools
import hashlib
import weakref
from collections.abc import Callable
from pathlib import Path

import sqlglot

from moviecdc.dialect.idents import quote
from moviecdc.emulator import (
    ivm,
    resolver,
    streams,
)
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import DynamicTableState, Key, TrackedTable
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError


def compiler(engine: Session, dt: DynamicTableState) -> ivm.Compiled:
    """The incremental compiler for a dynamic table's query (cached per query text).

    Raises:
        ivm.NotIncremental: the query cannot be maintained from its inputs' changes.
    """
    cache_key = (dt.schema, dt.name, dt.query)
    comp = engine.ivm_cache.get(cache_key)
    if comp is not None:
        return comp
    sql, ctx = translated(engine, dt)
    inputs = [(i[0], i[1]) for i in dt.inputs]
    # engines of one process (tests, the dashboard, `run` passes) share compiled plans for
    # the same query over the same storage
    comp = shared_compiler(engine, dt.key, sql, ctx.used_clock, inputs)
    engine.ivm_cache[cache_key] = comp
    return comp


def shared_compiler(engine: Session, key: Key, sql: str, used_clock: bool, inputs: list[Key]) -> ivm.Compiled:
    """``build_compiler``, cached for the process: engines of one process (tests, the
    dashboard, `run` passes) share compiled plans for one query over the same storage.

    A compiled query holds nothing of the engine that built it: each refresh passes its
    own engine's callbacks in (``ivm.Inputs``)."""
    shared_key = (key, sql, _storage_signature(engine, inputs))
    comp = _SHARED.get(shared_key)
    if comp is None:
        comp = build_compiler(engine, key, sql, used_clock, inputs)
        if len(_SHARED) >= 64:
            _SHARED.pop(next(iter(_SHARED)))
        _SHARED[shared_key] = comp
    return comp


_SHARED: dict[tuple[Key, str, tuple[object, ...]], ivm.Compiled] = {}


def _storage_signature(engine: Session, inputs: list[Key]) -> tuple[object, ...]:
    """What compiled plans depend on besides the query: each input's storage and columns."""
    cat = engine.catalog
    sig: list[object] = []
    for key in sorted(inputs):
        tt = cat.tracked.get(key)
        sig.append((key, tt.tid, tuple(tt.columns)) if tt else (key, None, None))
    return tuple(sig)


def _columns_of(engine: Session) -> Callable[[str], list[str]]:
    """The compiler's callback: the column names of a query, asked of DuckDB."""

    def columns(text: str) -> list[str]:
        return [d[0] for d in engine.con.execute(f"SELECT * FROM ({text}) LIMIT 0").description]

    return columns


def build_compiler(engine: Session, key: Key, sql: str, used_clock: bool, inputs: list[Key]) -> ivm.Compiled:
    """Compile a translated query for incremental refresh, or raise ivm.NotIncremental."""
    if used_clock:
        raise ivm.NotIncremental("CURRENT_TIMESTAMP and other clock functions change results without any input change")
    cat = engine.catalog
    for inp in inputs:
        if inp not in cat.tracked and inp not in cat.dynamic_tables and not engine.table_exists(inp):
            raise ivm.NotIncremental(f"input {inp[1]} is a view; the local engine maintains only tables incrementally")

    return ivm.analyse(sql, key)


def translated(engine: Session, dt: DynamicTableState) -> tuple[str, tr.Context]:
    """The table's query in DuckDB SQL, cached per engine and, in the table's own state,
    across processes (saved with it at its next refresh), for the same query, schema and
    translator."""
    cache_key = (dt.schema, dt.query)
    cached = engine.dt_sql_cache.get(cache_key)
    if cached is not None:
        return cached, resolver.context(engine)
    stamp = _translation_stamp(engine, dt)
    kept = dt.translated.get("sql") if dt.translated.get("for") == stamp else None
    if kept is not None:
        engine.dt_sql_cache[cache_key] = kept
        return kept, resolver.context(engine)
    with engine.in_schema(dt.schema):
        sql, _, ctx = resolver.translate(engine, tr.parse(dt.query))
    if ctx.streams:
        raise SqlError(f"Dynamic table {dt.name} cannot read from a stream")
    if not ctx.used_clock:  # a query reading CURRENT_TIMESTAMP is translated per refresh
        engine.dt_sql_cache[cache_key] = sql
        dt.translated = {"for": stamp, "sql": sql}
    return sql, ctx


def _translation_stamp(engine: Session, dt: DynamicTableState) -> str:
    """What a translated query depends on: the query, its schema and database, and the
    translator's own code (so a changed engine translates it again)."""
    text = "\0".join([_translator_code(), engine.ctx.database, dt.schema, dt.query])
    return hashlib.sha256(text.encode()).hexdigest()


@functools.cache
def _translator_code() -> str:
    """A digest of the engine's and the dialect's source files and of sqlglot's version."""
    digest = hashlib.sha256(sqlglot.__version__.encode())
    here = Path(__file__).parent
    for path in sorted([*here.rglob("*.py"), *(here.parent / "dialect").rglob("*.py")]):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def frozen_sql(engine: Session, dt: DynamicTableState) -> str | None:
    """The rows of a refresh of a table with a frozen region (DuckDB SQL), or None for
    the query's own: its rows matching the FROZEN WHERE predicate stay as stored and only
    the active region (the rest) is recomputed. The initialisation ignores the predicate
    and computes every row, unless BACKFILL FROM gives the frozen region's rows.
    Snowflake: Frozen regions and backfill (user-guide/dynamic-tables/frozen-regions).
    """
    pred = dt.frozen_where
    if pred is None or (dt.initialized is False and dt.backfill is None):
        return None
    cols = dt.columns or [d[0] for d in engine.con.execute(f"SELECT * FROM {engine.fq(dt.key)} LIMIT 0").description]
    alias = ", ".join(quote(c) for c in cols)
    if not dt.initialized and dt.backfill is not None:
        frozen = f"SELECT * FROM {'.'.join(quote(p) for p in dt.backfill)} AS _mc_b({alias})"
    else:
        frozen = f"SELECT * FROM {quote(dt.schema)}.{quote(dt.name)} AS _mc_b"
    text = (
        f"SELECT * FROM ({frozen}) AS _mc_f WHERE COALESCE(({pred}), FALSE) UNION ALL"
        f" SELECT * FROM ({dt.query}) AS _mc_q({alias}) WHERE NOT COALESCE(({pred}), FALSE)"
    )
    with engine.in_schema(dt.schema):
        sql, _, ctx = resolver.translate(engine, tr.parse(text))
    if ctx.streams:
        raise SqlError(f"Dynamic table {dt.name} cannot read from a stream")
    return sql


# Stand-ins for the versions a refresh reads between, so one compiled plan serves every
# refresh with the same changed inputs; bound to the real versions as each one runs.
V0, V1 = "9000000000000000001", "9000000000000000002"


def images_since(tt: TrackedTable, version: int) -> bool:
    """Whether every insert the log holds after ``version`` carries its values."""
    return tt.insert_images is not None and tt.insert_images <= version


def sorts_first(engine: Session, tt: TrackedTable, column: str, desc: bool, v0: int, v1: int) -> bool:
    """Whether each row inserted between the versions sorts before every older row of the
    table on ``column`` (descending or not), with no NULL anywhere in it.

    Rows inserted with an increasing timestamp do; the older side is checked through
    the column's min/max statistics, so this reads little more than the new rows.
    """
    ids = streams.logged_ids_sql(tt, v0, v1)
    c = quote(column)
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


def delta_plan(
    engine: Session,
    comp: ivm.Compiled,
    dt: DynamicTableState,
    changed: frozenset[Key],
    inserts: frozenset[Key],
    newest: bool = False,
    images: frozenset[Key] = frozenset(),
) -> ivm.Plan | None:
    """How to refresh ``dt`` from the changes of ``changed`` (cached per compiled query).

    ``inserts`` are the changed inputs whose changes are all inserts (an append-only
    events table): their change sets are read more simply. ``newest``: a keyed table
    keeping the first row per key whose new rows all sort first (``sorts_first``).
    ``images``: changed dynamic tables whose log has every row's values since the last
    refresh. None when such changes need a full refresh.
    """
    cat = engine.catalog
    # a re-created input gets a new log
    shape = comp.keyed if not dt.columns else None  # named columns would rename the keys
    cache_key = (frozenset((k, cat.tracked[k].tid, k in inserts, k in images) for k in changed), newest, shape is None)
    cached = _PLANS.setdefault(comp, {})
    if cache_key in cached:
        return cached[cache_key]

    def input_delta(k: Key) -> str:
        if k in images and k not in inserts:
            return streams.logged_delta_sql(cat.tracked[k], int(V0), int(V1))
        return streams.delta_sql(cat.tracked[k], int(V0), int(V1), inserts_only=k in inserts)

    env = ivm.Inputs(
        changed=frozenset(changed),
        delta=input_delta,
        old=lambda k: streams.old_state_sql(cat.tracked[k], int(V0), int(V1), inserts_only=k in inserts),
        restricted=lambda k, alias, cond, temp, used: streams.restricted_states(
            cat.tracked[k], int(V0), int(V1), alias, cond, temp, used, inserts_only=k in inserts
        ),
        columns=_columns_of(engine),
    )
    plan: ivm.Plan | None
    try:
        plan = ivm.plan_delta(comp, env, keyed=shape, newest_only=newest)
    except ivm.NeedsFull:
        plan = None
    cached[cache_key] = plan
    return plan


# The plans made for each compiled query, by their changed inputs: they go with it.
_PLANS: weakref.WeakKeyDictionary[ivm.Compiled, dict[object, ivm.Plan | None]] = weakref.WeakKeyDictionary()
_FULL: weakref.WeakKeyDictionary[ivm.Compiled, ivm.FullPlan] = weakref.WeakKeyDictionary()


def full_plan(comp: ivm.Compiled) -> ivm.FullPlan:
    """The statements of a full refresh of a compiled query (they depend on nothing else)."""
    plan = _FULL.get(comp)
    if plan is None:
        plan = _FULL[comp] = ivm.plan_full(comp)
    return plan


def log_columns(engine: Session, key: Key) -> list[str] | None:
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
        if dt.refresh_mode not in ("INCREMENTAL", "ADAPTIVE") or list(key) not in dt.inputs:
            continue
        try:
            comp = compiler(engine, dt)
        except (ivm.NotIncremental, SqlError):
            continue  # refreshed in full: reads no log
        if key not in comp.delta_inputs:
            continue
        cols = comp.columns_read(key)
        if cols is None:
            return None
        used |= cols
    tt = cat.tracked[key]
    return [c for c in tt.columns if c.lower() in used]
