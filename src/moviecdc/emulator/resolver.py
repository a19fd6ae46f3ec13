"""What translation asks of the engine: a stream's change set, SYSTEM$STREAM_HAS_DATA,
the INFORMATION_SCHEMA table functions and the statement time; and moving the offsets
of the streams a committed statement read."""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.emulator import history, metadata, retention, streams
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import StreamState, TrackedTable
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError


class SessionResolver:
    """:class:`moviecdc.emulator.translate.Resolver` over one session."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def stream_sql(self, table: exp.Table) -> str | None:
        s = self.session
        st = s.catalog.streams.get(s.resolve(table))
        if st is None:
            return None
        return streams.change_set_sql(stream_source(s, st), st.offset, s.read_version, st.mode == "APPEND_ONLY")

    def stream_has_data(self, name: str) -> bool:
        s = self.session
        st = s.catalog.streams.get(s.resolve(ddl.parse_name(name)))
        if st is None:
            raise SqlError(f"Stream '{name}' does not exist or not authorized.")
        row = s.con.execute(streams.has_changes_sql(stream_source(s, st), st.offset, s.read_version)).fetchone()
        if not (row and row[0]):
            # an empty stream checked by SYSTEM$STREAM_HAS_DATA restarts its staleness clock (1.6)
            if not s.read_only:
                st.last_consumed_on = s.now()
                s.catalog.save(st)
            return False
        return True

    def table_function_sql(self, name: str, kwargs: dict[str, object]) -> str:
        return history.table_function_sql(self.session, name, kwargs)

    def statement_time_sql(self) -> str:
        return f"CAST('{self.session.statement_time().isoformat()}' AS TIMESTAMPTZ)"

    def information_schema_sql(self, view: str) -> str | None:
        return metadata.information_schema_sql(self.session, view)

    def schema_in_other_case(self, schema: str) -> str | None:
        names = self.session.schema_names()
        if schema in names:
            return None
        return next((n for n in names if n.upper() == schema.upper()), None)


def context(session: Session) -> tr.Context:
    """A fresh translation context in the session's current schema."""
    return tr.Context(
        resolver=SessionResolver(session),
        schema=session.ctx.schema,
        database=session.ctx.database,
        temp_tables=frozenset(session.temp_tables),
    )


def translate(
    session: Session, expr: exp.Expr, params: Sequence[object] | None = None, *, clock: bool = True
) -> tuple[str, list[object], tr.Context]:
    """Translate a statement in the session's schema; returns (sql, bound, its context)."""
    ctx = context(session)
    sql, bound = tr.translate(expr, ctx, params, clock=clock)
    return sql, bound, ctx


def stream_source(session: Session, st: StreamState) -> TrackedTable:
    """The tracked table a stream reads; a stale stream cannot be read (reference 1.7)."""
    tt = session.catalog.tracked.get((st.source_schema, st.source_name))
    if tt is None or retention.is_stale(session, st):
        raise SqlError(
            f"Stream {st.database}.{st.schema}.{st.name} has become stale. Recreate it"
            " (CREATE OR REPLACE STREAM): unconsumed changes are lost."
        )
    return tt


def consume(session: Session, ctx: tr.Context) -> None:
    """Advance the offset of every stream a committed DML statement read (reference 1.4)."""
    read_at = session.read_version
    for table in ctx.streams:
        key = session.resolve(table)
        if session.in_user_transaction:
            # every read in an explicit transaction sees the same change set:
            # the offset moves when the transaction commits (reference 1.5)
            session.pending_offsets[key] = read_at
            continue
        st = session.catalog.streams[key]
        st.offset = read_at
        st.last_consumed_on = session.now()
        session.catalog.save(st)
