"""CREATE STREAM (reference 1.8)."""

from __future__ import annotations

import dataclasses

from moviecdc.dialect import ddl
from moviecdc.emulator import (
    changelog,
    view_streams,
)
from moviecdc.emulator.catalog import StreamState
from moviecdc.emulator.core import Core
from moviecdc.emulator.statements.common import ok
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows


# ------------------------------------------------------------------ streams
def alter_stream(engine: Core, stmt: ddl.AlterStream, text: str) -> Rows:
    """ALTER STREAM ... SET / UNSET COMMENT (SET / UNSET TAG: parsed, no effect)."""
    key = engine.resolve(stmt.name)
    with engine.transaction():
        st = engine.catalog.streams.get(key)
        if st is None:
            if stmt.if_exists:
                return ok()
            raise SqlError(f"Stream '{key[1]}' does not exist or not authorized.", statement=text)
        if stmt.comment is not None or stmt.unset_comment:
            st.comment = None if stmt.unset_comment else stmt.comment
            engine.catalog.save(st)
    return ok()


def clone_stream(engine: Core, stmt: ddl.CreateStream, text: str) -> Rows:
    """CREATE [OR REPLACE] STREAM [IF NOT EXISTS] s2 CLONE s1: the same source, mode and
    comment, and s1's current offset; from then on each has its own offset."""
    key, src = engine.resolve(stmt.name), engine.resolve(stmt.source)
    cat = engine.catalog
    with engine.transaction():
        source = cat.streams.get(src)
        if source is None:
            raise SqlError(f"Stream '{src[1]}' does not exist or not authorized.", statement=text)
        if key in cat.streams:
            if stmt.if_not_exists:
                return ok(f"{key[1]} already exists, statement succeeded.")
            if not stmt.or_replace:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
        if key != src:
            cat.save(
                dataclasses.replace(
                    source,
                    database=engine.ctx.database if stmt.name.database is None else stmt.name.database,
                    schema=key[0],
                    name=key[1],
                    created_on=engine.now(),
                    base_tables=[list(b) for b in source.base_tables],
                )
            )
    return ok(f"Stream {key[1]} successfully created.")


def create_stream(engine: Core, stmt: ddl.CreateStream, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] STREAM [IF NOT EXISTS] (reference 1.8)."""
    if stmt.clone:
        return clone_stream(engine, stmt, text)
    key = engine.resolve(stmt.name)
    src = engine.resolve(stmt.source)
    cat = engine.catalog
    with engine.transaction():
        existing = cat.streams.get(key)
        if existing is not None:
            if stmt.if_not_exists:
                return ok(f"{key[1]} already exists, statement succeeded.")
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
                return ok(f"Stream {key[1]} successfully altered.")
            if not stmt.or_replace:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
        on_dt = src in cat.dynamic_tables
        bases: list[list[str]] = []
        fingerprint = None
        if stmt.source_kind == "VIEW":
            tables, fingerprint = view_streams.base_tables(engine, src)
            for base in tables:  # a stream on a view turns change tracking on for the tables it reads
                if base not in cat.tracked:
                    changelog.track(engine, base)
            bases = [list(b) for b in tables]
        elif (stmt.source_kind == "DYNAMIC TABLE") != on_dt:
            what = "a dynamic table: use ON DYNAMIC TABLE" if on_dt else "not a dynamic table: use ON TABLE"
            raise SqlError(f"{src[1]} is {what}", statement=text)
        if stmt.show_initial_rows and on_dt:
            raise UnsupportedSqlError(
                "SHOW_INITIAL_ROWS = TRUE on a dynamic table is not supported by the local engine", statement=text
            )
        if stmt.source_kind != "VIEW" and src not in cat.tracked:
            changelog.track(engine, src)  # creating the first stream turns change tracking on
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
                source_kind="View" if stmt.source_kind == "VIEW" else "Dynamic Table" if on_dt else "Table",
                mode="APPEND_ONLY" if stmt.append_only else "DEFAULT",
                offset=offset,
                created_on=engine.now(),
                comment=stmt.comment,
                last_consumed_on=engine.now(),
                base_tables=bases,
                view_fingerprint=fingerprint,
                initial_rows=stmt.show_initial_rows,
            )
        )
        if stmt.source_kind == "VIEW":  # the view's query runs: an error shows now, not at the first read
            engine.con.execute(f"SELECT * FROM ({view_streams.change_set_sql(engine, src, offset, offset)}) LIMIT 0")
    return ok(f"Stream {key[1]} successfully created.")
