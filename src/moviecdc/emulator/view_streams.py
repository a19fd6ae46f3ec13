"""The sources of change sets beyond a table's own log: streams on views, streams with
``SHOW_INITIAL_ROWS = TRUE``, and the ``CHANGES`` clause.

A view's rows at a version are its query over its base tables' rows at that version, so
its change set is the difference between two such states (:mod:`moviecdc.emulator.viewdelta`).
A view is read from DuckDB's own definition of it; views it reads are expanded in turn.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlglot
from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.dialect.idents import fold, quote
from moviecdc.emulator import streams, viewdelta
from moviecdc.emulator.catalog import SCHEMA, Key, TrackedTable
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError, UnsupportedSqlError

NO_TRACKING = "Change tracking is not enabled or has been missing for the time range requested."
Evaluate = Callable[[exp.Expr], object]  # the value of a constant Snowflake expression


def view_definition(session: Session, key: Key) -> str | None:
    """DuckDB's CREATE VIEW statement of a user view (not a tracked table's own view)."""
    return None if key in session.catalog.tracked else session.object_ddl("views", key)


def view_columns(session: Session, key: Key) -> list[str]:
    rows = session.con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database()"
        " AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?) ORDER BY column_index",
        list(key),
    ).fetchall()
    return [str(r[0]) for r in rows]


@functools.lru_cache(maxsize=256)
def _query(definition: str, view: str) -> exp.Expr:
    """A view's query, checked (cached: the caller must not change it)."""
    create = sqlglot.parse_one(definition.rstrip().rstrip(";"), read="duckdb")
    query = create.expression if isinstance(create, exp.Create) else None
    if not isinstance(query, exp.Query):
        raise UnsupportedSqlError(f"the local engine cannot read the definition of view {view}")
    query.pop()  # on its own: the checks look at what contains each SELECT
    viewdelta.check(query, view)
    return query


_MARK = "\x01"  # around the number of a table in a template: never in generated SQL


@functools.lru_cache(maxsize=256)
def _template(definition: str, view: str, columns: tuple[str, ...]) -> tuple[str, tuple[tuple[str | None, str], ...]]:
    """A view's state SQL with a numbered marker for each table it reads, and those tables
    (schema or None, name), in marker order: one state differs from another only there."""
    refs: list[tuple[str | None, str]] = []

    def source(table: exp.Table) -> str:
        name = fold(table.this if isinstance(table.this, exp.Identifier) else table.name)
        assert name is not None
        refs.append((fold(table.args.get("db")), name))
        return f"{_MARK}{len(refs) - 1}{_MARK}"

    return viewdelta.state_sql(_query(definition, view), list(columns), source), tuple(refs)


def _table_key(session: Session, table: exp.Table) -> Key:
    name = fold(table.this if isinstance(table.this, exp.Identifier) else table.name)
    assert name is not None
    return (fold(table.args.get("db")) or session.ctx.schema, name)


def base_tables(session: Session, key: Key, seen: tuple[Key, ...] = ()) -> tuple[list[Key], str]:
    """The tables a view reads (through the views it reads), and a fingerprint of the
    definitions involved (a replaced view makes its streams stale).

    Raises:
        SqlError / UnsupportedSqlError: the view (or one it reads) cannot be tracked.
    """
    definition = view_definition(session, key)
    if definition is None:
        raise SqlError(f"View '{key[1]}' does not exist or not authorized.")
    query = _query(definition, key[1])
    tables: list[Key] = []
    texts = [definition]
    for table in query.find_all(exp.Table):
        if not isinstance(table.parent, exp.From | exp.Join) and not isinstance(table.parent, exp.Subquery):
            continue
        found = _table_key(session, table)
        if found in seen or found == key:
            raise SqlError(f"view {key[1]} reads itself")
        if found in session.catalog.dynamic_tables:
            raise UnsupportedSqlError(
                f"streams on views over dynamic tables are not supported by the local engine ({found[1]})"
            )
        if view_definition(session, found) is not None:
            inner, text = base_tables(session, found, (*seen, key))
            tables += [t for t in inner if t not in tables]
            texts.append(text)
        elif found in session.catalog.tracked or session.table_exists(found):
            if found not in tables:
                tables.append(found)
        else:
            raise SqlError(f"Object '{found[1]}' does not exist or not authorized (read by view {key[1]}).")
    return tables, hashlib.sha256("\n".join(texts).encode()).hexdigest()


class _States:
    """Each base table's rows in one state: at a version, or at ``v0`` plus what was
    inserted up to ``v1`` (append-only), flagged when changed in ``(v0, v1]``."""

    def __init__(
        self,
        session: Session,
        version: int,
        views: dict[Key, tuple[str, tuple[str, ...]]],
        *,
        since: int | None = None,
        appended_to: int | None = None,
    ):
        self.session, self.version, self.since, self.appended_to = session, version, since, appended_to
        self.views = views  # definition and columns of each view read, shared by the states of one read

    def table_sql(self, tt: TrackedTable) -> str:
        cols = ", ".join(quote(c) for c in tt.columns)
        # the version of its newest change (unknown: assume it is newer)
        last = self.session.catalog.versions.get((tt.schema, tt.name), self.version + 1)
        # unchanged since the version: the rows are as they are now
        rows = (
            f"SELECT _row_id, {cols} FROM {tt.phys}" if last <= self.version else streams.rows_at_sql(tt, self.version)
        )
        if self.appended_to is not None and last > self.version:
            rows += f" UNION ALL SELECT * FROM ({streams.inserted_rows_sql(tt, self.version, self.appended_to)})"
        flag = "FALSE"
        if self.since is not None and last > self.since:
            flag = f"_row_id IN ({streams.logged_ids_sql(tt, self.since, self.version)})"
        rid = streams.row_id_sql(tt)
        return f"SELECT {cols}, {rid} AS {viewdelta.RID}, {flag} AS {viewdelta.TOUCHED} FROM ({rows})"

    def view_sql(self, key: Key) -> str:
        if key not in self.views:
            definition = view_definition(self.session, key)
            if definition is None:
                raise SqlError(f"View '{key[1]}' does not exist or not authorized.")
            self.views[key] = (definition, tuple(view_columns(self.session, key)))
        definition, columns = self.views[key]
        template, refs = _template(definition, key[1], columns)
        parts = template.split(_MARK)
        for i in range(1, len(parts), 2):
            schema, name = refs[int(parts[i])]
            found = (schema or key[0], name)
            tt = self.session.catalog.tracked.get(found)
            parts[i] = self.table_sql(tt) if tt is not None else self.view_sql(found)
        return "".join(parts)


def change_set_sql(
    session: Session, key: Key, v0: int, v1: int, *, append_only: bool = False, initial: bool = False
) -> str:
    """The change set of a table or view between versions ``v0`` and ``v1``; with
    ``initial``, every row at ``v0`` counts as inserted (SHOW_INITIAL_ROWS)."""
    tt = session.catalog.tracked.get(key)
    if tt is not None and not initial:
        return streams.change_set_sql(tt, v0, v1, append_only, inserts_only=_only_inserts(session, tt, v0, v1))
    views: dict[Key, tuple[str, tuple[str, ...]]] = {}
    if append_only:
        new = _States(session, v0, views, appended_to=v1)
        old = _States(session, v0, views)
    else:
        new, old = _States(session, v1, views, since=v0), _States(session, v0, views)
    if tt is not None:
        columns = tt.columns
        new_sql, old_sql = new.table_sql(tt), old.table_sql(tt)
    else:
        new_sql, old_sql = new.view_sql(key), old.view_sql(key)
        columns = list(views[key][1])
    if initial:
        old_sql = f"SELECT * FROM ({old_sql}) WHERE FALSE"
    if append_only:
        return viewdelta.appended_sql(old_sql, new_sql, columns)
    return viewdelta.diff_sql(old_sql, new_sql, columns)


def _only_inserts(session: Session, tt: TrackedTable, v0: int, v1: int) -> bool:
    """Whether the log holds only inserts after ``v0``, none after ``v1``: then the change
    set is those rows as they are now, read without netting the log (an append workload)."""
    row = session.con.execute(streams.only_inserts_sql(tt, v0, v1)).fetchone()
    return bool(row and row[0])


def has_changes(session: Session, tables: list[Key], v0: int, v1: int) -> bool:
    """SYSTEM$STREAM_HAS_DATA of a view: any change to a base table (1.6: may say TRUE
    for changes the view does not show)."""
    for key in tables:
        tt = session.catalog.tracked.get(key)
        row = session.con.execute(streams.has_changes_sql(tt, v0, v1)).fetchone() if tt else None
        if row and row[0]:
            return True
    return False


# ------------------------------------------------------------------ CHANGES
def changes_sql(session: Session, table: exp.Table, evaluate: Evaluate) -> str:
    """``t CHANGES (INFORMATION => ...) AT (...) [END (...)]``: the change set of a table or
    view between two points, read-only (no offset moves)."""
    ch = table.args["changes"]
    key = session.resolve(table)
    info = ch.args["information"].name.upper()
    if info not in ("DEFAULT", "APPEND_ONLY"):
        raise SqlError(f"CHANGES (INFORMATION => {info}): DEFAULT or APPEND_ONLY")
    start, end = ch.args.get("at_before"), ch.args.get("end")
    if start is None:
        raise SqlError("SQL compilation error: CHANGES needs AT (...) or BEFORE (...)")
    if key in session.catalog.dynamic_tables:
        raise UnsupportedSqlError("CHANGES on a dynamic table is not supported by the local engine")
    is_view = key not in session.catalog.tracked and view_definition(session, key) is not None
    bases = base_tables(session, key)[0] if is_view else [key]
    tracked = [session.catalog.tracked.get(b) for b in bases]
    v0 = _point(session, key, start, evaluate)
    v1 = session.read_version if end is None else _point(session, key, end, evaluate)
    for tt in tracked:
        if tt is None or v0 is None or v0 < tt.tracked_since:
            raise SqlError(NO_TRACKING, errno=91930)
        if v0 < tt.trimmed_to:
            raise UnsupportedSqlError(
                f"CHANGES reaching back before the local engine trimmed the change log of {tt.name}"
                " (it keeps changes only as far back as its streams and dynamic tables need)"
            )
    assert v0 is not None and v1 is not None
    return change_set_sql(session, key, v0, max(v0, v1), append_only=info == "APPEND_ONLY")


def _point(session: Session, key: Key, point: exp.Expr, evaluate: Evaluate) -> int | None:
    """The version an AT / BEFORE / END point names."""
    which, kind = point.name.upper(), str(point.args.get("kind") or "").upper()
    value = point.args.get("expression")
    if kind == "STATEMENT":
        raise UnsupportedSqlError(f"{which} (STATEMENT => ...): the local engine has no query ids")
    if which == "BEFORE":
        raise SqlError(f"SQL compilation error: CHANGES accepts BEFORE (STATEMENT => ...) only, not BEFORE ({kind})")
    if kind == "STREAM":
        if which == "END" or not isinstance(value, exp.Literal):
            raise SqlError("SQL compilation error: AT (STREAM => '<name>') takes a stream name")
        st = session.catalog.streams.get(session.resolve(ddl.parse_name(value.this)))
        if st is None or (st.source_schema, st.source_name) != key:
            raise SqlError(f"AT (STREAM => '{value.this}'): no stream on {key[1]} with that name")
        return st.offset
    if kind not in ("TIMESTAMP", "OFFSET") or value is None:
        raise SqlError(f"SQL compilation error: {which} ({kind} => ...) is not a point in time")
    now = session.statement_time()
    if kind == "OFFSET":
        seconds = evaluate(exp.cast(value.copy(), "DOUBLE"))
        if not isinstance(seconds, int | float):
            raise SqlError(f"{which} (OFFSET => ...) takes a number of seconds")
        when = now + timedelta(seconds=float(seconds))
    else:
        found = evaluate(exp.cast(value.copy(), "TIMESTAMPTZ"))
        if not isinstance(found, datetime):
            raise SqlError(f"{which} (TIMESTAMP => ...) takes a timestamp")
        when = found
    if when > now:
        raise SqlError(
            f"Time travel data is not available for table {key[1]}. The requested time is either"
            " beyond the allowed time travel period or before the object creation time."
        )
    return version_at(session, when)


def version_at(session: Session, when: datetime) -> int | None:
    """The version the tracked tables were at at time ``when``: the newest change made at or
    before it (None: none is known, as before change tracking began)."""
    sql = f"SELECT max(version) FROM {SCHEMA}.version_times WHERE changed_at <= ?"
    row = session.con.execute(sql, [when]).fetchone()
    return None if not row or row[0] is None else int(row[0])
