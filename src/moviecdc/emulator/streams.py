"""Change tracking and standard/append-only streams on DuckDB (reference section 1).

A tracked table keeps its rows in ``_moviecdc.t<tid>`` with a hidden ``_row_id``;
the user's table name becomes a view without it. Every INSERT, UPDATE, DELETE or
TRUNCATE appends entries to ``_moviecdc.t<tid>_log``, stamped with the statement's
version: ``_is_insert = FALSE`` with the row's values before the statement (an
update or a delete), ``_is_insert = TRUE`` with only the row id (an insert or the
new side of an update). After-images are not copied: a row's values at any version
are the before-image of its next change, or the row as it is now. A stream is an
offset (a version); reading it nets the log between its offset and the reader's version
per row id (1.3), so reading costs in proportion to the changes, not to the table.

A dynamic table's log keeps the values of the rows a refresh inserts too, and in both
kinds of entry only the columns its readers use, unless a stream reads it (see
``plans.log_columns``).
"""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

from moviecdc.dialect.idents import quote
from moviecdc.emulator.catalog import SCHEMA, TrackedTable


def row_id_sql(tt: TrackedTable, col: str = "_row_id") -> str:
    """METADATA$ROW_ID: 40 hex digits, stable for the life of the row (1.2)."""
    return f"printf('%08x%032x', {tt.tid}, {col})"


def _image_sql(tt: TrackedTable, rows: str, after: str) -> tuple[str, str]:
    """Columns and FROM clause giving each row's values as of a version.

    The log keeps values only for before-images (``_is_insert = FALSE``); an after-image
    is the row as it was at version V: the before-image of the first later change
    to that row, if there is one, else the row as it is now in the table.
    ``rows`` is a relation with ``_row_id`` and ``after`` an SQL expression, over it,
    for V.
    """
    later = (
        f"SELECT g.* FROM {tt.log} AS g JOIN {rows} AS r ON g._row_id = r._row_id"
        f" WHERE g._version > {after} AND NOT g._is_insert"
        " QUALIFY row_number() OVER (PARTITION BY g._row_id ORDER BY g._version) = 1"
    )
    cols = ", ".join(
        f"CASE WHEN n._row_id IS NULL THEN p.{quote(c)} ELSE n.{quote(c)} END AS {quote(c)}" for c in tt.columns
    )
    source = (
        f"{rows} AS r LEFT JOIN ({later}) AS n ON n._row_id = r._row_id"
        f" LEFT JOIN {tt.phys} AS p ON p._row_id = r._row_id"
    )
    return cols, source


def _window_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """The log's entries between versions ``v0`` (exclusive) and ``v1``."""
    return f"SELECT * FROM {tt.log} WHERE _version > {int(v0)} AND _version <= {int(v1)}"


def _first_entries_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """Each row's first entry between the versions: a before-image if it existed at ``v0``."""
    return (
        f"SELECT * FROM ({_window_sql(tt, v0, v1)})"
        " QUALIFY row_number() OVER (PARTITION BY _row_id ORDER BY _version, _is_insert) = 1"
    )


def change_set_sql(
    tt: TrackedTable, v0: int, v1: int, append_only: bool = False, *, inserts_only: bool = False
) -> str:
    """DuckDB SQL of the change set between versions ``v0`` (exclusive) and ``v1``.

    Implements the net-change table of reference 1.3: per row id, the first entry
    in the interval says whether the row existed at ``v0`` (a before-image, logged
    with its values) and the last says whether it exists at ``v1``. Existed and
    exists → DELETE + INSERT pair with ISUPDATE; only existed → DELETE; only exists →
    INSERT; neither → nothing. Append-only streams return each row inserted in the
    interval with the values it was inserted with, even if later changed or deleted.

    ``inserts_only``: the caller checked that the log holds only inserts after ``v0`` and
    nothing after ``v1`` (``only_inserts_sql``): every row it names is an INSERT, as it
    is now, for both kinds of stream.
    """
    v0, v1 = int(v0), int(v1)
    meta = ('"METADATA$ACTION"', '"METADATA$ISUPDATE"', '"METADATA$ROW_ID"')
    if inserts_only:
        cols = ", ".join(quote(c) for c in tt.columns)
        return (
            f"SELECT {cols}, 'INSERT' AS {meta[0]}, FALSE AS {meta[1]}, {row_id_sql(tt)} AS {meta[2]}"
            f" FROM {tt.phys} WHERE _row_id IN ({logged_ids_sql(tt, v0, v1)})"
        )
    window = _window_sql(tt, v0, v1)
    first = _first_entries_sql(tt, v0, v1)
    if append_only:
        cols, source = _image_sql(tt, "inserted", "r._version")
        return (
            f"WITH inserted AS (SELECT _row_id, _version FROM ({first}) WHERE _is_insert)"
            f" SELECT {cols}, 'INSERT' AS {meta[0]}, FALSE AS {meta[1]}, {row_id_sql(tt, 'r._row_id')} AS {meta[2]}"
            f" FROM {source}"
        )
    before = ", ".join(f"f.{quote(c)}" for c in tt.columns)
    cols, source = _image_sql(tt, "ins", str(v1))
    return (
        f"WITH c AS ({window}),"
        f" f AS (SELECT * FROM c QUALIFY row_number() OVER (PARTITION BY _row_id ORDER BY _version, _is_insert) = 1),"
        " l AS (SELECT _row_id, _is_insert FROM c QUALIFY row_number() OVER"
        " (PARTITION BY _row_id ORDER BY _version DESC, _is_insert DESC) = 1),"
        " ins AS (SELECT l._row_id, NOT f._is_insert AS upd FROM l JOIN f ON f._row_id = l._row_id"
        " WHERE l._is_insert)"
        f" SELECT {before}, 'DELETE' AS {meta[0]}, l._is_insert AS {meta[1]},"
        f" {row_id_sql(tt, 'f._row_id')} AS {meta[2]}"
        " FROM f JOIN l ON f._row_id = l._row_id WHERE NOT f._is_insert"
        f" UNION ALL SELECT {cols}, 'INSERT' AS {meta[0]}, r.upd AS {meta[1]},"
        f" {row_id_sql(tt, 'r._row_id')} AS {meta[2]} FROM {source}"
    )


def rows_at_sql(tt: TrackedTable, version: int) -> str:
    """The table's rows (``_row_id`` and every column) as they were at ``version``.

    Rows the log does not name after the version are as they are now; a row it does name
    existed then exactly when its first later entry is a before-image, which holds its
    values. Reads the log from ``version`` on, so it needs the entries a reader of the
    table at that version keeps (see ``retention.trim_change_logs``).
    """
    v = int(version)
    cols = ", ".join(quote(c) for c in tt.columns)
    later = f"SELECT _row_id FROM {tt.log} WHERE _version > {v}"
    firsts = (
        f"SELECT * FROM {tt.log} WHERE _version > {v}"
        " QUALIFY row_number() OVER (PARTITION BY _row_id ORDER BY _version, _is_insert) = 1"
    )
    return (
        f"SELECT _row_id, {cols} FROM {tt.phys} WHERE _row_id NOT IN ({later})"
        f" UNION ALL SELECT _row_id, {cols} FROM ({firsts}) WHERE NOT _is_insert"
    )


def inserted_rows_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """The rows inserted between the versions (``_row_id`` and every column), with the
    values they were inserted with, even if changed or deleted since (append-only, 1.1)."""
    cols, source = _image_sql(tt, "inserted", "r._version")
    return (
        f"WITH inserted AS (SELECT _row_id, _version FROM ({_first_entries_sql(tt, v0, v1)}) WHERE _is_insert)"
        f" SELECT r._row_id, {cols} FROM {source}"
    )


def has_changes_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """SYSTEM$STREAM_HAS_DATA: any logged change in the interval (1.6).

    Like Snowflake it may say TRUE when the changes net to nothing (a row inserted
    and deleted again), and never says FALSE when there is data.
    """
    return f"SELECT EXISTS (SELECT 1 FROM {tt.log} WHERE _version > {int(v0)} AND _version <= {int(v1)})"


def physical_ddl(table_ddl: str, tt: TrackedTable) -> tuple[str, list[str], list[str]]:
    """From DuckDB's CREATE TABLE of a user table, the DDL of its tracked twin.

    Returns (ddl, all column names, insertable column names).
    """
    create = sqlglot.parse_one(table_ddl, read="duckdb")
    assert isinstance(create, exp.Create) and isinstance(create.this, exp.Schema)
    schema = create.this
    columns: list[str] = []
    insertable: list[str] = []
    for coldef in schema.expressions:
        if not isinstance(coldef, exp.ColumnDef):
            continue  # table constraints are not carried over
        columns.append(coldef.name)
        generated = any(
            isinstance(c.kind, exp.GeneratedAsIdentityColumnConstraint | exp.ComputedColumnConstraint)
            for c in coldef.constraints
        )
        if not generated:
            insertable.append(coldef.name)
        # uniqueness is not enforced by Snowflake; keep DuckDB from enforcing it either
        coldef.set(
            "constraints",
            [
                c
                for c in coldef.constraints
                if not isinstance(c.kind, exp.PrimaryKeyColumnConstraint | exp.UniqueColumnConstraint)
            ],
        )
    schema.set(
        "expressions",
        [
            exp.ColumnDef(
                this=exp.to_identifier("_row_id"),
                kind=exp.DataType.build("BIGINT"),
                constraints=[
                    exp.ColumnConstraint(
                        kind=exp.DefaultColumnConstraint(
                            this=sqlglot.parse_one(f"nextval('{SCHEMA}.row_ids')", read="duckdb")
                        )
                    )
                ],
            ),
            *[e for e in schema.expressions if isinstance(e, exp.ColumnDef)],
        ],
    )
    schema.set("this", exp.to_table(f'{SCHEMA}."t{tt.tid}"', dialect="duckdb"))
    create.set("exists", False)
    create.set("replace", False)
    return create.sql(dialect="duckdb"), columns, insertable


def logged_ids_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """The row ids the log names between versions ``v0`` (exclusive) and ``v1``."""
    return f"SELECT _row_id FROM {tt.log} WHERE _version > {int(v0)} AND _version <= {int(v1)}"


def delta_sql(tt: TrackedTable, v0: int, v1: int, sign: str = "_mc_sign", *, inserts_only: bool = False) -> str:
    """The net change set as a signed multiset: before-images -1, after-images +1.

    ``inserts_only``: the caller knows the log holds only inserts between the versions
    (and ``v1`` is the current version), so the change set is those rows as they are now.
    """
    cols = ", ".join(quote(c) for c in tt.columns)
    if inserts_only:
        return f"SELECT {cols}, 1 AS {sign} FROM {tt.phys} WHERE _row_id IN ({logged_ids_sql(tt, v0, v1)})"
    return (
        f"SELECT {cols}, CASE WHEN \"METADATA$ACTION\" = 'INSERT' THEN 1 ELSE -1 END AS {sign}"
        f" FROM ({change_set_sql(tt, v0, v1)})"
    )


def logged_delta_sql(tt: TrackedTable, v0: int, v1: int, sign: str = "_mc_sign") -> str:
    """The changes between the versions as a signed multiset, read from the log alone: for
    a dynamic table's log, whose insert entries carry the values too. Not netted: a row
    added and removed in between appears once each way."""
    cols = ", ".join(quote(c) for c in tt.columns)
    return (
        f"SELECT {cols}, CASE WHEN _is_insert THEN 1 ELSE -1 END AS {sign} FROM {tt.log}"
        f" WHERE _version > {int(v0)} AND _version <= {int(v1)}"
    )


def old_state_sql(tt: TrackedTable, v0: int, v1: int, *, inserts_only: bool = False) -> str:
    """The table as it was at version ``v0``, read at ``v1`` (the current version).

    Rows the log does not mention in between are as they are now; a row it does
    mention existed at ``v0`` exactly when its first entry is a before-image, which
    holds its values. With ``inserts_only`` (see ``delta_sql``) it is the rows not inserted since.
    """
    v0, v1 = int(v0), int(v1)
    cols = ", ".join(quote(c) for c in tt.columns)
    unchanged = f"SELECT {cols} FROM {tt.phys} WHERE _row_id NOT IN ({logged_ids_sql(tt, v0, v1)})"
    if inserts_only:
        return unchanged
    return f"{unchanged} UNION ALL SELECT {cols} FROM ({_first_entries_sql(tt, v0, v1)}) WHERE NOT _is_insert"


def only_inserts_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """TRUE when the log holds only inserts after ``v0`` and no entry after ``v1``."""
    return (
        f"SELECT count(*) FILTER (WHERE NOT _is_insert OR _version > {int(v1)}) = 0 FROM {tt.log}"
        f" WHERE _version > {int(v0)}"
    )


def log_entries_sql(tt: TrackedTable, v0: int, v1: int) -> str:
    """Two counts: the log's entries between the versions, and how many are not inserts."""
    return (
        f"SELECT count(*), count(*) FILTER (WHERE NOT _is_insert) FROM {tt.log}"
        f" WHERE _version > {int(v0)} AND _version <= {int(v1)}"
    )


def restricted_states(
    tt: TrackedTable,
    v0: int,
    v1: int,
    alias: str,
    cond: str,
    temp: Callable[[str], str],
    used: set[str] | None = None,
    *,
    inserts_only: bool = False,
) -> tuple[str, str]:
    """The rows meeting ``cond`` now and as they were at ``v0``, reading the table once.

    Those rows now are materialised with their row ids; at ``v0`` they are the same
    rows less those changed since, plus the before-images (meeting ``cond``) of rows
    that existed then.
    """
    v0, v1 = int(v0), int(v1)
    cols = ", ".join(quote(c) for c in tt.columns if used is None or c.lower() in used)
    a = quote(alias)
    rows = temp(f"SELECT {a}._row_id, {cols} FROM {tt.phys} AS {a} WHERE {cond}")
    now = f"SELECT {cols} FROM {rows}"
    before = f"SELECT {cols} FROM {rows} WHERE _row_id NOT IN ({logged_ids_sql(tt, v0, v1)})"
    if not inserts_only:  # (see delta_sql)
        firsts = _first_entries_sql(tt, v0, v1)
        before += f" UNION ALL SELECT {cols} FROM ({firsts}) AS {a} WHERE NOT {a}._is_insert AND {cond}"
    return now, before
