"""Change-tracking storage: a tracked table's rows with row ids, and its change log.

``track`` moves a table's rows into storage with a row id per row and puts a view with
the table's name over it; every change to it is then logged here, at the change
version of the statement that made it (reference 1.3). Streams and incremental
refreshes read the log (:mod:`moviecdc.emulator.streams` builds their SQL).
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Sequence
from typing import Any

import duckdb

from moviecdc.dialect.idents import quote
from moviecdc.emulator import faults, streams
from moviecdc.emulator.catalog import SCHEMA, Key, TrackedTable
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError


def track(session: Session, key: Key) -> TrackedTable:
    """Turn on change tracking (``ALTER TABLE ... SET CHANGE_TRACKING = TRUE``)."""
    cat = session.catalog
    if key in cat.tracked:
        return cat.tracked[key]
    table_ddl = session.table_ddl(key)
    if table_ddl is None:
        raise SqlError(f"Table '{key[0]}.{key[1]}' does not exist or not authorized.")
    tid = int(cat.meta.get("next_tid", "1"))
    cat.set_meta("next_tid", str(tid + 1))
    tt = TrackedTable(schema=key[0], name=key[1], tid=tid, columns=[], insert_columns=[])
    phys_ddl, columns, insertable = streams.physical_ddl(table_ddl, tt)
    tt.columns, tt.insert_columns = columns, insertable
    tt.tracked_since = session.version
    if key in cat.dynamic_tables:  # refreshes log what they insert with its values
        tt.insert_images = session.version
    con = session.con
    con.execute(phys_ddl)
    ins = ", ".join(quote(c) for c in insertable)
    con.execute(f"INSERT INTO {tt.phys} ({ins}) SELECT {ins} FROM {session.fq(key)}")
    con.execute(f"DROP TABLE {session.fq(key)}")
    cols = ", ".join(quote(c) for c in columns)
    con.execute(f"CREATE VIEW {session.fq(key)} AS SELECT {cols} FROM {tt.phys}")
    con.execute(f"CREATE TABLE {tt.log} AS SELECT 0::BIGINT AS _version, TRUE AS _is_insert, * FROM {tt.phys} LIMIT 0")
    cat.save(tt)
    record_version_time(session, tt.tracked_since)
    return tt


def record_version_time(session: Session, version: int) -> None:
    """Note when a change to a tracked table was made (or tracking began), for CHANGES ... AT."""
    session.con.execute(f"INSERT INTO {SCHEMA}.version_times VALUES (?, ?)", [int(version), session.now()])


def untrack(session: Session, key: Key, *, reason: str) -> None:
    """Drop a tracked table's storage; its streams go stale (reference 1.7).

    ``reason`` says why at the call site only: as in Snowflake, SHOW STREAMS shows the
    staleness in ``stale`` and keeps ``comment`` as the user set it."""
    cat = session.catalog
    tt = cat.tracked[key]
    session.con.execute(f"DROP VIEW IF EXISTS {session.fq(key)}")
    session.con.execute(f"DROP TABLE IF EXISTS {tt.phys}")
    session.con.execute(f"DROP TABLE IF EXISTS {tt.log}")
    cat.delete("TRACKED", key)
    for st in cat.streams.values():
        if (st.source_schema, st.source_name) == key or list(key) in st.base_tables:
            st.stale = True
            cat.save(st)


def insert_logged(
    session: Session, tt: TrackedTable, version: int, sql: str, bound: Sequence[object], columns: list[str]
) -> int:
    """Run the INSERT ``sql`` into ``tt`` and log the rows it added (``_row_id`` and
    ``columns``); returns how many.

    Row ids come from one sequence, so the rows one statement adds are those with ids
    above a value drawn just before it: the log takes them from the table, through its
    min/max statistics, instead of a copy of every id (or row) sent back to Python.
    """
    con = session.con
    mark = con.execute(f"SELECT nextval('{SCHEMA}.row_ids')").fetchone()
    row = con.execute(sql, list(bound) if bound else None).fetchone()
    added = int(row[0]) if row else 0
    if added:
        new_rows = f"(SELECT * FROM {tt.phys} WHERE _row_id > {int(mark[0] if mark else 0)})"
        log_images(session, tt, version, new_rows, columns, inserted=True)
    return added


def log_images(
    session: Session,
    tt: TrackedTable,
    version: int,
    relation: str,
    columns: list[str] | None,
    *,
    inserted: bool = False,
) -> int:
    """Log the rows in ``relation`` (``_row_id`` and ``columns``; None: all) as before-images,
    or with ``inserted`` as inserts with their values; returns how many. Columns left out
    are NULL in the log."""
    faults.hit("capture.between")
    cols = "".join(", " + quote(c) for c in (tt.columns if columns is None else columns))
    row = session.con.execute(
        f"INSERT INTO {tt.log} (_version, _is_insert, _row_id{cols})"
        f" SELECT {int(version)}, {'TRUE' if inserted else 'FALSE'}, _row_id{cols} FROM {relation}"
    ).fetchone()
    return int(row[0]) if row else 0


def log_update(session: Session, tt: TrackedTable, version: int, relation: str) -> None:
    """An update pair for each row of ``relation`` (the before-images), in one statement."""
    faults.hit("capture.between")
    cols = ", ".join(["_version", "_is_insert", "_row_id", *(quote(c) for c in tt.columns)])
    nulls = ", ".join("NULL" for _ in tt.columns)
    session.con.execute(
        f"INSERT INTO {tt.log} ({cols}) SELECT {int(version)}, FALSE, * FROM {relation}"
        f" UNION ALL SELECT {int(version)}, TRUE, _row_id, {nulls} FROM {relation}"
    )


def log_returned(session: Session, tt: TrackedTable, version: int, cur: duckdb.DuckDBPyConnection) -> int:
    """Log the rows a DELETE ... RETURNING * gave back as before-images; returns how many."""
    table = returned_rows(cur)
    if table is None or table.num_rows == 0:
        return 0
    name = f"_mcdc_ret_{uuid.uuid4().hex}"
    session.con.register(name, table)
    try:
        return log_images(session, tt, version, name, None)
    finally:
        session.con.unregister(name)


def returned_rows(cur: duckdb.DuckDBPyConnection) -> Any:
    """The rows a statement's RETURNING clause gave back, as an Arrow table (or None)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the extra copy is only of the changed rows
        return cur.to_arrow_table()
