"""Writing refresh results into a dynamic table's storage, logging what changes for its readers."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Sequence

import duckdb

from moviecdc.dialect.idents import quote
from moviecdc.emulator import (
    changelog,
    ivm,
    plans,
)
from moviecdc.emulator.catalog import SCHEMA, DynamicTableState
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError

# An index lookup of one key, fetching its row, costs about as much as reading this many
# rows of a table; finding a stored row to delete by its key, about this many.
ROWS_PER_LOOKUP = 2_000


ROWS_PER_KEY_DELETE = 200


def replace_keyed(
    engine: Session, dt: DynamicTableState, keys: str, columns: Sequence[str], rows: str, version: int
) -> dict[str, int]:
    """Replace the stored rows of the touched keys by the query's rows for them now."""
    con = engine.con
    target, names = storage_of(engine, dt)
    tt = engine.catalog.tracked.get(dt.key)
    cond = " AND ".join(f"k._mc_k{i} IS NOT DISTINCT FROM t.{quote(c)}" for i, c in enumerate(columns))
    delete = f"DELETE FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {keys} AS k WHERE {cond})"
    row = con.execute(f"SELECT (SELECT count(*) FROM {target}), (SELECT count(*) FROM {keys})").fetchone()
    size, touched = (int(row[0]), int(row[1])) if row else (0, 0)
    # through the key column's index, unless so many keys changed that reading the table is cheaper
    threshold = max(50, size // ROWS_PER_KEY_DELETE)
    con.execute(f"SET dynamic_or_filter_threshold = {threshold}")
    if tt is not None and touched > threshold:
        # reading the whole table anyway: the before-images (the columns readers use) are
        # logged from one pass over it and deleted by a second, never sent to Python
        logged = plans.log_columns(engine, dt.key)
        gone = f"(SELECT * FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {keys} AS k WHERE {cond}))"
        n_del = changelog.log_images(engine, tt, version, gone, logged)
        if n_del:
            con.execute(delete)
    elif tt is not None:
        # the before-images, with only the columns readers use: fetching a column of rows
        # spread over the table costs about as much as the delete (DELETE ... RETURNING
        # fetches them all)
        logged = plans.log_columns(engine, dt.key)
        picked = ", ".join(quote(c) for c in (tt.columns if logged is None else logged))
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE _mc_gone AS SELECT rowid AS _mc_rid, _row_id{', ' if picked else ''}{picked}"
            f" FROM {target} AS t WHERE EXISTS (SELECT 1 FROM {keys} AS k WHERE {cond})"
        )
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT _mc_rid FROM _mc_gone)")
        n_del = changelog.log_images(engine, tt, version, "_mc_gone", logged)
        con.execute("DROP TABLE _mc_gone")
    else:
        row = con.execute(delete).fetchone()
        n_del = int(row[0]) if row else 0
    con.execute("RESET dynamic_or_filter_threshold")
    qn = ", ".join(quote(c) for c in names)
    insert = f"INSERT INTO {target} ({qn}) SELECT * FROM ({rows})"
    if tt is not None:
        n_ins = insert_logged(engine, dt, version, insert)
    else:
        row = con.execute(insert).fetchone()
        n_ins = int(row[0]) if row else 0
    if n_ins or n_del:
        engine.catalog.set_version(dt.key, version, engine.now())
    return {"numInsertedRows": n_ins, "numDeletedRows": n_del}


def insert_logged(engine: Session, dt: DynamicTableState, version: int, insert: str) -> int:
    """Run ``insert`` into a dynamic table's storage and log the rows it added, with the
    values its readers use (unlike a source table's log, which keeps only row ids)."""
    tt = engine.catalog.tracked[dt.key]
    logged = plans.log_columns(engine, dt.key)
    added = changelog.insert_logged(engine, tt, version, insert, [], tt.columns if logged is None else logged)
    if tt.insert_images is None:
        tt.insert_images = version
        engine.catalog.save(tt)
    return added


def ensure_indexes(engine: Session, dt: DynamicTableState, comp: ivm.Compiled) -> None:
    """Index what an incremental refresh looks rows up by (created once, kept by DuckDB).

    That is each one-column window key of an input table, and the first column of the
    table's own storage, which finds the stored copies of rows a refresh removes.
    """
    wanted = [(engine.catalog.tracked[k].phys, col) for k, col in comp.lookup_columns if k in engine.catalog.tracked]
    target, names = storage_of(engine, dt)
    shape = comp.keyed if not dt.columns else None
    if shape is not None:  # keyed refreshes delete by the key
        wanted.append((target, shape.outputs[0]))
    elif names:  # the others find stored rows by their first column
        wanted.append((target, names[0]))
    for table, col in sorted(wanted):
        ident = hashlib.sha1(f"{table}.{col}".encode()).hexdigest()[:12]
        engine.con.execute(f'CREATE INDEX IF NOT EXISTS "mc_ix_{ident}" ON {table} ({quote(col)})')


def storage_of(engine: Session, dt: DynamicTableState) -> tuple[str, list[str]]:
    """Where a dynamic table's rows live, and its column names."""
    tt = engine.catalog.tracked.get(dt.key)
    if tt is not None:
        return tt.phys, list(tt.columns)
    fq = engine.fq(dt.key)
    return fq, [d[0] for d in engine.con.execute(f"SELECT * FROM {fq} LIMIT 0").description]


def apply_net(engine: Session, dt: DynamicTableState, version: int) -> dict[str, int]:
    """Apply ``_mc_net`` (each distinct row with its net count ``_mc_n``) to the storage.

    A negative count removes that many copies of the row, a positive one adds copies.
    A tracked table (one that a stream or an incremental dynamic table reads) logs both.
    """
    con = engine.con
    target, names = storage_of(engine, dt)
    tt = engine.catalog.tracked.get(dt.key)
    qn = [quote(c) for c in names]
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
            changelog.log_images(engine, tt, version, "_mc_gone", plans.log_columns(engine, dt.key))
        con.execute(f"DELETE FROM {target} WHERE rowid IN (SELECT _mc_rid FROM _mc_gone)")
        con.execute("DROP TABLE _mc_gone")
        con.execute("DROP TABLE _mc_cand")
    if n_ins:
        sql = (
            f"INSERT INTO {target} ({', '.join(qn)}) SELECT {', '.join(qn)} FROM"
            f" (SELECT *, UNNEST(range(_mc_n::BIGINT)) FROM _mc_net WHERE _mc_n > 0)"
        )
        if tt is not None:
            insert_logged(engine, dt, version, sql)
        else:
            con.execute(sql)
    if n_ins or n_del:
        engine.catalog.set_version(dt.key, version, engine.now())
    return {"numInsertedRows": n_ins, "numDeletedRows": n_del}


def recompute(
    engine: Session, dt: DynamicTableState, comp: ivm.Compiled | None, version: int, *, sql: str | None = None
) -> dict[str, int]:
    """Full refresh: recompute the query and apply the difference to the stored rows.

    An incremental table also rebuilds its GROUP BY state here, and reads its
    aggregates from it, so the query runs once. ``sql`` (DuckDB) gives the rows instead
    of the query: a frozen region's (``plans.frozen_sql``).
    """
    con = engine.con
    target, names = storage_of(engine, dt)
    tt = engine.catalog.tracked.get(dt.key)
    qn = ", ".join(quote(c) for c in names)
    try:
        if sql is None and comp is not None:
            ensure_indexes(engine, dt, comp)
            full = plans.full_plan(comp)
            for table, rows in full.states:
                con.execute(f"CREATE OR REPLACE TABLE {table} AS {rows}")
            sql = full.query
        elif sql is None:
            sql = plans.translated(engine, dt)[0]
        if is_empty(engine, target):
            return _fill(engine, dt, sql, version)
        con.execute(f"CREATE OR REPLACE TEMP TABLE _mc_new AS SELECT * FROM ({sql}) AS quote({qn})")
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
            stats = apply_net(engine, dt, version)
        elif n_ins or n_del:
            if tt is not None:
                # every row goes: logged straight from the table (the columns readers use),
                # not sent back to Python by DELETE ... RETURNING
                changelog.log_images(engine, tt, version, target, plans.log_columns(engine, dt.key))
                con.execute(f"DELETE FROM {target}")
                insert_logged(engine, dt, version, f"INSERT INTO {target} ({qn}) SELECT * FROM _mc_new")
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


def is_empty(engine: Session, target: str) -> bool:
    """Whether a table holds no row (read from its first row, not a count)."""
    return engine.con.execute(f"SELECT NOT EXISTS (SELECT 1 FROM {target})").fetchone() == (True,)


def _fill(engine: Session, dt: DynamicTableState, sql: str, version: int) -> dict[str, int]:
    """Write the rows of ``sql`` into a dynamic table that holds none: straight from the
    query, with no copy of them and no difference to compute."""
    target, names = storage_of(engine, dt)
    qn = ", ".join(quote(c) for c in names)
    tt = engine.catalog.tracked.get(dt.key)
    if tt is None:
        row = engine.con.execute(f"INSERT INTO {target} ({qn}) SELECT * FROM ({sql})").fetchone()
        n_ins = int(row[0]) if row else 0
    else:
        # row ids drawn by the insert itself (the column's default) would make it run on
        # one thread: the rows go in without, and get theirs in a second, cheap pass
        con = engine.con
        mark = con.execute(f"SELECT nextval('{SCHEMA}.row_ids')").fetchone()
        row = con.execute(f"INSERT INTO {target} (_row_id, {qn}) SELECT NULL, * FROM ({sql})").fetchone()
        n_ins = int(row[0]) if row else 0
        if n_ins:
            con.execute(f"UPDATE {target} SET _row_id = nextval('{SCHEMA}.row_ids') WHERE _row_id IS NULL")
            logged = plans.log_columns(engine, dt.key)
            new_rows = f"(SELECT * FROM {target} WHERE _row_id > {int(mark[0] if mark else 0)})"
            changelog.log_images(engine, tt, version, new_rows, tt.columns if logged is None else logged, inserted=True)
        if tt.insert_images is None:
            tt.insert_images = version
            engine.catalog.save(tt)
    if n_ins or not dt.initialized:
        engine.catalog.set_version(dt.key, version, engine.now())
    return {"numInsertedRows": n_ins, "numDeletedRows": 0}
