"""What the database holds, as Snowflake describes it: INFORMATION_SCHEMA views, SHOW
TABLES / VIEWS / SCHEMAS / COLUMNS / OBJECTS / DATABASES and DESCRIBE TABLE / VIEW.

The engine's own storage (the ``_moviecdc`` schema, temporary work tables) never shows;
a change-tracked table or a dynamic table, which DuckDB holds as a view over its
storage, shows as the table it is. Types are Snowflake's (``NUMBER(38,0)``, ``TEXT``,
``TIMESTAMP_NTZ``, ``VARIANT`` ...), mapped from the DuckDB type that holds them.

Not emulated: owners and roles (``SYSADMIN`` for all), creation times (the Unix epoch),
declared VARCHAR lengths (DuckDB keeps none: 16,777,216, Snowflake's default) and which
of ARRAY, OBJECT or VARIANT a semi-structured column was declared as (all VARIANT).
"""

from __future__ import annotations

import fnmatch
import re

from sqlglot import exp

from moviecdc.dialect.idents import fold, string
from moviecdc.emulator.catalog import SCHEMA as ENGINE_SCHEMA
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows

OWNER = "SYSADMIN"
EPOCH = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
TEXT_LENGTH = 16_777_216
_HIDDEN = f"('{ENGINE_SCHEMA}', 'information_schema', 'pg_catalog')"


def _type_sql(col: str = "c") -> tuple[str, str]:
    """SQL of (INFORMATION_SCHEMA data type, DESCRIBE type) of a duckdb_columns() row."""
    t = f"{col}.data_type"
    integer = f"{t} IN ('BIGINT', 'INTEGER', 'SMALLINT', 'TINYINT', 'HUGEINT', 'UBIGINT', 'UINTEGER', 'USMALLINT',"
    integer += " 'UTINYINT', 'UHUGEINT')"
    data_type = (
        f"CASE WHEN {integer} OR starts_with({t}, 'DECIMAL') THEN 'NUMBER'"
        f" WHEN {t} = 'VARCHAR' THEN 'TEXT' WHEN {t} IN ('DOUBLE', 'FLOAT', 'REAL') THEN 'FLOAT'"
        f" WHEN {t} IN ('TIMESTAMP', 'TIMESTAMP_NS', 'TIMESTAMP_MS', 'TIMESTAMP_S') THEN 'TIMESTAMP_NTZ'"
        f" WHEN {t} = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_TZ' WHEN {t} = 'JSON' THEN 'VARIANT'"
        f" WHEN {t} = 'BLOB' THEN 'BINARY' WHEN {t} = 'UUID' THEN 'TEXT' WHEN ends_with({t}, '[]') THEN 'ARRAY'"
        f" WHEN starts_with({t}, 'STRUCT') OR starts_with({t}, 'MAP') THEN 'OBJECT' ELSE {t} END"
    )
    describe = (
        f"CASE WHEN {integer} THEN 'NUMBER(38,0)'"
        f" WHEN starts_with({t}, 'DECIMAL') THEN 'NUMBER(' || {col}.numeric_precision || ',' || {col}.numeric_scale || ')'"
        f" WHEN {t} IN ('VARCHAR', 'UUID') THEN 'VARCHAR(' || coalesce(text_length, {TEXT_LENGTH}) || ')'"
        f" WHEN {t} IN ('TIMESTAMP', 'TIMESTAMP_NS') THEN 'TIMESTAMP_NTZ(9)'"
        f" WHEN {t} = 'TIMESTAMP WITH TIME ZONE' THEN 'TIMESTAMP_TZ(9)' WHEN {t} = 'TIME' THEN 'TIME(9)'"
        f" WHEN {t} = 'BLOB' THEN 'BINARY(8388608)' ELSE {data_type} END"
    )
    return data_type, describe


def objects_sql(session: Session) -> str:
    """SQL of every user table and view: database, schema, name, table_type ('BASE TABLE'
    or 'VIEW'), temporary, dynamic, change_tracking, row_count, bytes, comment, duck_schema
    and duck_name (where DuckDB holds the object)."""
    cat = session.catalog
    db, here = string(session.ctx.database), string(session.ctx.schema)
    tracked: list[tuple[tuple[str, str], str | None, bool]] = [
        (k, tt.phys, k in cat.dynamic_tables) for k, tt in cat.tracked.items()
    ]
    tracked += [(k, None, True) for k in cat.dynamic_tables if k not in cat.tracked]
    values = ", ".join(
        f"({string(k[0])}, {string(k[1])}, {string(phys) if phys else 'NULL'}, {str(dyn).upper()}, {str(phys is not None).upper()})"
        for k, phys, dyn in tracked
    )
    marks = (
        f"SELECT * FROM (VALUES {values}) AS m(s, n, phys, dynamic, tracked)"
        if values
        else (
            "SELECT NULL::VARCHAR AS s, NULL::VARCHAR AS n, NULL::VARCHAR AS phys, FALSE AS dynamic, FALSE AS tracked"
            " WHERE FALSE"
        )
    )
    internal = (
        "(starts_with(lower({0}), '__mcdc') OR starts_with(lower({0}), '_mc_') OR lower({0}) = 'merge_candidates')"
    )
    return (
        f"WITH marks AS ({marks}), storage AS (SELECT schema_name || '.' || table_name AS phys, estimated_size,"
        " estimated_size * column_count * 8 AS bytes FROM duckdb_tables() WHERE database_name = current_database()),"
        " objs AS ("
        f" SELECT {db} AS database, CASE WHEN t.temporary THEN {here} ELSE t.schema_name END AS schema,"
        " t.table_name AS name, 'BASE TABLE' AS table_type, t.temporary, coalesce(m.dynamic, FALSE) AS dynamic,"
        " FALSE AS change_tracking, t.estimated_size AS row_count, t.estimated_size * t.column_count * 8 AS bytes,"
        " t.comment, t.schema_name AS duck_schema, t.table_name AS duck_name, t.database_name AS duck_database"
        " FROM duckdb_tables() t LEFT JOIN marks m ON upper(m.s) = upper(t.schema_name) AND upper(m.n) = upper(t.table_name)"
        f" WHERE (t.database_name = current_database() AND t.schema_name NOT IN {_HIDDEN} OR t.temporary)"
        f" AND NOT {internal.format('t.table_name')}"
        " UNION ALL"
        f" SELECT {db}, CASE WHEN v.temporary THEN {here} ELSE v.schema_name END, v.view_name,"
        " CASE WHEN m.n IS NULL THEN 'VIEW' ELSE 'BASE TABLE' END, v.temporary, coalesce(m.dynamic, FALSE),"
        " coalesce(m.tracked, FALSE), s.estimated_size, s.bytes, v.comment, v.schema_name, v.view_name, v.database_name"
        " FROM duckdb_views() v LEFT JOIN marks m ON upper(m.s) = upper(v.schema_name) AND upper(m.n) = upper(v.view_name)"
        " LEFT JOIN storage s ON s.phys = replace(m.phys, '\"', '')"
        f" WHERE NOT v.internal AND (v.database_name = current_database() AND v.schema_name NOT IN {_HIDDEN}"
        f" OR v.temporary) AND NOT {internal.format('v.view_name')})"
        " SELECT * FROM objs"
    )


def columns_sql(session: Session) -> str:
    """SQL of every column of every user table and view, with Snowflake's types."""
    data_type, describe = _type_sql("c")
    # a declared VARCHAR(n) is the CHECK constraint semantics.text_lengths gave the column
    lengths = (
        "SELECT database_name, schema_name, table_name, constraint_column_names[1] AS column_name,"
        r" max(TRY_CAST(regexp_extract(constraint_text, 'length\(.*\) <= (\d+)', 1, 'i') AS BIGINT)) AS text_length"
        " FROM duckdb_constraints() WHERE constraint_type = 'CHECK' AND len(constraint_column_names) = 1"
        r" AND regexp_matches(constraint_text, 'length\(.*\) <= \d+', 'i') GROUP BY ALL"
    )
    return (
        f"WITH o AS ({objects_sql(session)}), l AS ({lengths}) SELECT o.database, o.schema, o.name, o.table_type, c.column_name,"
        " c.column_index AS ordinal, c.column_default, CASE WHEN c.is_nullable THEN 'YES' ELSE 'NO' END AS is_nullable, "
        f"{data_type} AS data_type, {describe} AS describe_type, c.data_type AS duck_type,"
        " c.numeric_precision, c.numeric_scale, c.comment, l.text_length"
        " FROM o JOIN duckdb_columns() c ON c.database_name = o.duck_database AND c.schema_name = o.duck_schema"
        " AND c.table_name = o.duck_name LEFT JOIN l ON l.database_name = c.database_name"
        " AND l.schema_name = c.schema_name AND l.table_name = c.table_name AND l.column_name = c.column_name"
    )


def information_schema_sql(session: Session, view: str) -> str | None:
    """SQL of ``INFORMATION_SCHEMA.<view>`` (TABLES, COLUMNS, SCHEMATA, VIEWS, DATABASES),
    with Snowflake's columns; None for a view the engine does not have."""
    db = string(session.ctx.database)
    if view == "TABLES":
        return (
            f"SELECT database AS TABLE_CATALOG, schema AS TABLE_SCHEMA, name AS TABLE_NAME, '{OWNER}' AS TABLE_OWNER,"
            " CASE WHEN temporary THEN 'LOCAL TEMPORARY' ELSE table_type END AS TABLE_TYPE, 'NO' AS IS_TRANSIENT,"
            " NULL::VARCHAR AS CLUSTERING_KEY, CASE WHEN table_type = 'VIEW' THEN NULL ELSE row_count END AS ROW_COUNT,"
            " CASE WHEN table_type = 'VIEW' THEN NULL ELSE bytes END AS BYTES, 1 AS RETENTION_TIME,"
            f" {EPOCH} AS CREATED, {EPOCH} AS LAST_ALTERED, {EPOCH} AS LAST_DDL, '{OWNER}' AS LAST_DDL_BY,"
            " 'NO' AS AUTO_CLUSTERING_ON, comment AS COMMENT, CASE WHEN temporary THEN 'YES' ELSE 'NO' END AS IS_TEMPORARY,"
            " 'NO' AS IS_ICEBERG, CASE WHEN dynamic THEN 'YES' ELSE 'NO' END AS IS_DYNAMIC, 'NO' AS IS_IMMUTABLE,"
            f" 'NO' AS IS_HYBRID FROM ({objects_sql(session)})"
        )
    if view == "COLUMNS":
        return (
            "SELECT database AS TABLE_CATALOG, schema AS TABLE_SCHEMA, name AS TABLE_NAME, column_name AS COLUMN_NAME,"
            " ordinal AS ORDINAL_POSITION, column_default AS COLUMN_DEFAULT, is_nullable AS IS_NULLABLE,"
            f" data_type AS DATA_TYPE, CASE WHEN data_type = 'TEXT' THEN coalesce(text_length, {TEXT_LENGTH}) END"
            " AS CHARACTER_MAXIMUM_LENGTH, CASE WHEN data_type = 'TEXT' THEN"
            f" least(coalesce(text_length * 4, {TEXT_LENGTH}), {TEXT_LENGTH}) END AS CHARACTER_OCTET_LENGTH,"
            " CASE WHEN data_type = 'NUMBER' THEN coalesce(numeric_precision_of, 38) END AS NUMERIC_PRECISION,"
            " CASE WHEN data_type = 'NUMBER' THEN 10 END AS NUMERIC_PRECISION_RADIX,"
            " CASE WHEN data_type = 'NUMBER' THEN coalesce(numeric_scale_of, 0) END AS NUMERIC_SCALE,"
            " CASE WHEN data_type IN ('TIMESTAMP_NTZ', 'TIMESTAMP_TZ', 'TIME') THEN 9 END AS DATETIME_PRECISION,"
            " comment AS COMMENT FROM (SELECT *, CASE WHEN starts_with(duck_type, 'DECIMAL') THEN numeric_precision END"
            " AS numeric_precision_of, CASE WHEN starts_with(duck_type, 'DECIMAL') THEN numeric_scale END"
            f" AS numeric_scale_of FROM ({columns_sql(session)}))"
        )
    if view == "SCHEMATA":
        return (
            f"SELECT {db} AS CATALOG_NAME, schema_name AS SCHEMA_NAME, '{OWNER}' AS SCHEMA_OWNER, 'NO' AS IS_TRANSIENT,"
            f" 'NO' AS IS_MANAGED_ACCESS, 1 AS RETENTION_TIME, {EPOCH} AS CREATED, {EPOCH} AS LAST_ALTERED,"
            " comment AS COMMENT FROM duckdb_schemas() WHERE database_name = current_database()"
            f" AND schema_name NOT IN {_HIDDEN} UNION ALL SELECT {db}, 'INFORMATION_SCHEMA', '{OWNER}', 'NO', 'NO', 1,"
            f" {EPOCH}, {EPOCH}, 'Views describing the contents of schemas in this database'"
        )
    if view == "VIEWS":
        return (
            f"SELECT o.database AS TABLE_CATALOG, o.schema AS TABLE_SCHEMA, o.name AS TABLE_NAME, '{OWNER}' AS TABLE_OWNER,"
            " v.sql AS VIEW_DEFINITION, 'NONE' AS CHECK_OPTION, 'NO' AS IS_UPDATABLE, 'NO' AS INSERTABLE_INTO,"
            f" 'NO' AS IS_SECURE, {EPOCH} AS CREATED, {EPOCH} AS LAST_ALTERED, {EPOCH} AS LAST_DDL,"
            f" '{OWNER}' AS LAST_DDL_BY, o.comment AS COMMENT FROM ({objects_sql(session)}) o JOIN duckdb_views() v"
            " ON v.database_name = o.duck_database AND v.schema_name = o.duck_schema AND v.view_name = o.duck_name"
            " WHERE o.table_type = 'VIEW'"
        )
    if view == "DATABASES":
        return (
            f"SELECT {db} AS DATABASE_NAME, '{OWNER}' AS DATABASE_OWNER, 'NO' AS IS_TRANSIENT, NULL::VARCHAR AS COMMENT,"
            f" {EPOCH} AS CREATED, {EPOCH} AS LAST_ALTERED, 1 AS RETENTION_TIME, 'STANDARD' AS TYPE"
        )
    return None


# ------------------------------------------------------------------ SHOW
def _like(pattern: str | None, name: str) -> bool:
    if pattern is None:
        return True
    glob = re.sub(r"[%_*?\[]", lambda m: {"%": "*", "_": "?"}.get(m.group(), f"[{m.group()}]"), pattern)
    return fnmatch.fnmatchcase(name.upper(), glob.upper())


SHOW_TABLE_COLUMNS = [
    "created_on", "name", "database_name", "schema_name", "kind", "comment", "cluster_by", "rows", "bytes",
    "owner", "retention_time", "automatic_clustering", "change_tracking", "is_external", "enable_schema_evolution",
    "owner_role_type", "is_event", "is_hybrid", "is_iceberg", "is_dynamic", "is_immutable",
]  # fmt: skip
SHOW_VIEW_COLUMNS = [
    "created_on", "name", "reserved", "database_name", "schema_name", "owner", "comment", "text", "is_secure",
    "is_materialized", "owner_role_type", "change_tracking",
]  # fmt: skip
SHOW_SCHEMA_COLUMNS = [
    "created_on", "name", "is_default", "is_current", "database_name", "owner", "comment", "options",
    "retention_time", "owner_role_type",
]  # fmt: skip
SHOW_COLUMN_COLUMNS = [
    "table_name", "schema_name", "column_name", "data_type", "null?", "default", "kind", "expression", "comment",
    "database_name", "autoincrement",
]  # fmt: skip
SHOW_OBJECT_COLUMNS = [
    "created_on", "name", "database_name", "schema_name", "kind", "comment", "cluster_by", "rows", "bytes", "owner",
    "retention_time", "owner_role_type",
]  # fmt: skip
SHOW_DATABASE_COLUMNS = [
    "created_on", "name", "is_default", "is_current", "origin", "owner", "comment", "options", "retention_time",
    "kind", "owner_role_type",
]  # fmt: skip
TERSE_COLUMNS = ["created_on", "name", "kind", "database_name", "schema_name"]
# in the connector's order (it differs from the other SHOW commands: the name comes first)
SHOW_SEQUENCE_COLUMNS = [
    "name", "database_name", "schema_name", "next_value", "interval", "created_on", "owner", "comment",
    "owner_role_type", "ordered",
]  # fmt: skip
SHOW_KEY_COLUMNS = [
    "created_on", "database_name", "schema_name", "table_name", "column_name", "key_sequence", "constraint_name",
    "rely", "comment",
]  # fmt: skip
SHOW_PARAMETER_COLUMNS = ["key", "value", "default", "level", "description", "type"]
SHOW_FUNCTION_COLUMNS = [
    "created_on", "name", "schema_name", "is_builtin", "is_aggregate", "is_ansi", "min_num_arguments",
    "max_num_arguments", "arguments", "description", "catalog_name", "is_table_function", "valid_for_clustering",
    "is_secure", "secrets", "external_access_integrations", "is_external_function", "language", "is_memoizable",
    "is_data_metric",
]  # fmt: skip

# Session parameters SHOW PARAMETERS lists: (name, Snowflake's default, type, description). The
# engine behaves as the default says, except where ``ENGINE_VALUES`` says otherwise.
PARAMETERS: tuple[tuple[str, str, str, str], ...] = (
    ("ABORT_DETACHED_QUERY", "false", "BOOLEAN", "If true, a query is aborted when its client disconnects"),
    ("AUTOCOMMIT", "true", "BOOLEAN", "If true, each statement is committed when it succeeds"),
    ("BINARY_INPUT_FORMAT", "HEX", "STRING", "Input format for binary values"),
    ("BINARY_OUTPUT_FORMAT", "HEX", "STRING", "Display format for binary values"),
    ("DATE_INPUT_FORMAT", "AUTO", "STRING", "Input format for dates"),
    ("DATE_OUTPUT_FORMAT", "YYYY-MM-DD", "STRING", "Display format for dates"),
    ("LOCK_TIMEOUT", "43200", "NUMBER", "Seconds a statement waits for a lock"),
    ("QUERY_TAG", "", "STRING", "A label attached to the session's queries"),
    ("QUOTED_IDENTIFIERS_IGNORE_CASE", "false", "BOOLEAN", "If true, the case of quoted identifiers is ignored"),
    ("STATEMENT_TIMEOUT_IN_SECONDS", "172800", "NUMBER", "Seconds after which a running statement is cancelled"),
    ("TIMESTAMP_INPUT_FORMAT", "AUTO", "STRING", "Input format for timestamps"),
    ("TIMESTAMP_OUTPUT_FORMAT", "YYYY-MM-DD HH24:MI:SS.FF3 TZHTZM", "STRING", "Display format for timestamps"),
    ("TIMESTAMP_TYPE_MAPPING", "TIMESTAMP_NTZ", "STRING", "The TIMESTAMP_* type TIMESTAMP means"),
    ("TIMEZONE", "America/Los_Angeles", "STRING", "The session's time zone"),
    ("TRANSACTION_DEFAULT_ISOLATION_LEVEL", "READ COMMITTED", "STRING", "Isolation level of transactions"),
    ("USE_CACHED_RESULT", "true", "BOOLEAN", "If true, repeated queries may reuse earlier results"),
    ("WEEK_OF_YEAR_POLICY", "0", "NUMBER", "How the first week of a year is counted"),
    ("WEEK_START", "0", "NUMBER", "The first day of the week (0: legacy Sunday-like behaviour)"),
)
#: What the local engine runs with where it differs from Snowflake's default.
ENGINE_VALUES = {"TIMEZONE": "UTC"}


def show(session: Session, expr: exp.Show, text: str) -> Rows:
    """SHOW TABLES / VIEWS / OBJECTS / SCHEMAS / COLUMNS / DATABASES."""
    what = str(expr.this).upper()
    like_node = expr.args.get("like")
    like = like_node.this if isinstance(like_node, exp.Literal) else None
    scope_kind = str(expr.args.get("scope_kind") or "").upper()
    scope = expr.args.get("scope")
    schema: str | None = session.ctx.schema
    table: str | None = None
    if scope_kind in {"ACCOUNT", "DATABASE"}:
        schema = None
    elif scope_kind == "SCHEMA" and isinstance(scope, exp.Table):
        schema = fold(scope.this)
    elif scope_kind in {"TABLE", "VIEW"} and isinstance(scope, exp.Table):
        schema = fold(scope.args.get("db")) or session.ctx.schema
        table = fold(scope.this)
    epoch = _epoch(session)
    db = session.ctx.database
    rows: list[tuple[object, ...]]
    if what == "DATABASES":
        rows = [(epoch, db, "Y", "Y", "", OWNER, "", "", "1", "STANDARD", "ROLE")] if _like(like, db) else []
        return Rows(columns=SHOW_DATABASE_COLUMNS, rows=rows)
    if what == "SCHEMAS":
        names = [r[0] for r in session.con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
            f" AND schema_name NOT IN {_HIDDEN} ORDER BY schema_name"
        ).fetchall()] + ["INFORMATION_SCHEMA"]  # fmt: skip
        rows = [
            (epoch, n, "N", "Y" if n == session.ctx.schema else "N", db, OWNER, "", "", "1", "ROLE")
            for n in sorted(names)
            if _like(like, n)
        ]
        return Rows(columns=SHOW_SCHEMA_COLUMNS, rows=rows)
    if what == "COLUMNS":
        where = [] if schema is None else [f"schema = {string(schema)}"]
        if table is not None:
            where.append(f"upper(name) = upper({string(table)})")
        cond = f" WHERE {' AND '.join(where)}" if where else ""
        found = session.con.execute(
            f"SELECT name, schema, column_name, describe_type, is_nullable, column_default, database FROM"
            f" ({columns_sql(session)}){cond} ORDER BY schema, name, ordinal"
        ).fetchall()
        if table is not None and not found and not _exists(session, schema, table):
            raise SqlError(f"Table '{table}' does not exist or not authorized.", statement=text)
        rows = [
            (t, s, c, _show_type(dt), "true" if n == "YES" else "false", d or "", "COLUMN", "", "", dbn, "")
            for t, s, c, dt, n, d, dbn in found
            if _like(like, c)
        ]
        return Rows(columns=SHOW_COLUMN_COLUMNS, rows=rows)
    if what == "SEQUENCES":
        cond = "" if schema is None else f" AND upper(schema_name) = upper({string(schema)})"
        found = session.con.execute(
            "SELECT sequence_name, schema_name, coalesce(last_value + increment_by, start_value), increment_by,"
            f" comment FROM duckdb_sequences() WHERE database_name = current_database() AND schema_name NOT IN {_HIDDEN}"
            f"{cond} ORDER BY schema_name, sequence_name"
        ).fetchall()
        rows = [
            (n, db, sch, nxt, inc, epoch, OWNER, c or "", "ROLE", "N")
            for n, sch, nxt, inc, c in found
            if _like(like, n)
        ]
        return Rows(columns=SHOW_SEQUENCE_COLUMNS, rows=rows)
    if what in {"PRIMARY KEYS", "UNIQUE KEYS"}:
        kind = what.split()[0]
        where = [
            f"constraint_type = '{kind} KEY'",
            "database_name = current_database()",
            f"schema_name NOT IN {_HIDDEN}",
        ]
        if schema is not None:
            where.append(f"upper(schema_name) = upper({string(schema)})")
        if table is not None:
            where.append(f"upper(table_name) = upper({string(table)})")
        found = session.con.execute(
            "SELECT schema_name, table_name, unnest(constraint_column_names) AS column_name,"
            f" generate_subscripts(constraint_column_names, 1) AS position FROM duckdb_constraints() WHERE"
            f" {' AND '.join(where)} ORDER BY schema_name, table_name, position"
        ).fetchall()
        rows = [(epoch, db, sch, t, c, pos, f"{kind}_KEY_{t}".upper(), "false", None) for sch, t, c, pos in found]
        return Rows(columns=SHOW_KEY_COLUMNS, rows=rows)
    if what not in {"TABLES", "VIEWS", "OBJECTS"}:
        raise UnsupportedSqlError(f"SHOW {what} is not supported by the local engine", statement=text)
    cond = "" if schema is None else f" WHERE schema = {string(schema)}"
    objs = session.con.execute(
        "SELECT name, schema, table_type, temporary, dynamic, change_tracking, row_count, bytes, comment,"
        f" duck_schema, duck_name, duck_database FROM ({objects_sql(session)}){cond} ORDER BY schema, name"
    ).fetchall()
    objs = [o for o in objs if _like(like, o[0])]
    if what == "TABLES":
        objs = [o for o in objs if o[2] == "BASE TABLE"]
    elif what == "VIEWS":
        objs = [o for o in objs if o[2] == "VIEW"]
    rows = []
    for name, sch, table_type, temporary, dynamic, tracked, count, size, comment, *_ in objs:
        kind = "VIEW" if table_type == "VIEW" else "TEMPORARY" if temporary else "TABLE"
        if expr.args.get("terse"):
            rows.append((epoch, name, kind, db, sch))
        elif what == "TABLES":
            rows.append((epoch, name, db, sch, kind, comment or "", "", count, size, OWNER, "1", "OFF",
                         "ON" if tracked else "OFF", "N", "N", "ROLE", "N", "N", "N", "Y" if dynamic else "N", "N"))  # fmt: skip
        elif what == "VIEWS":
            rows.append((epoch, name, "", db, sch, OWNER, comment or "", "", "false", "false", "ROLE", "OFF"))
        else:
            rows.append((epoch, name, db, sch, kind, comment or "", "", count, size, OWNER, "1", "ROLE"))
    columns = TERSE_COLUMNS if expr.args.get("terse") else {
        "TABLES": SHOW_TABLE_COLUMNS, "VIEWS": SHOW_VIEW_COLUMNS, "OBJECTS": SHOW_OBJECT_COLUMNS
    }[what]  # fmt: skip
    return Rows(columns=columns, rows=rows)


def _show_type(describe_type: str) -> str:
    """SHOW COLUMNS' data_type: a JSON description of the type, as Snowflake gives it."""
    m = re.fullmatch(r"NUMBER\((\d+),(\d+)\)", describe_type)
    if m:
        return f'{{"type":"FIXED","precision":{m.group(1)},"scale":{m.group(2)},"nullable":true}}'
    m = re.fullmatch(r"VARCHAR\((\d+)\)", describe_type)
    if m:
        n = int(m.group(1))
        return f'{{"type":"TEXT","length":{n},"byteLength":{min(n * 4, TEXT_LENGTH)},"nullable":true,"fixed":false}}'
    base = describe_type.split("(")[0]
    if base in {"TIME", "TIMESTAMP_NTZ", "TIMESTAMP_TZ", "TIMESTAMP_LTZ"}:
        return f'{{"type":"{base}","precision":0,"scale":9,"nullable":true}}'
    if base == "BINARY":
        return '{"type":"BINARY","length":8388608,"byteLength":8388608,"nullable":true,"fixed":true}'
    kind = {"FLOAT": "REAL"}.get(base, base)
    return f'{{"type":"{kind}","nullable":true}}'


def _epoch(session: Session) -> object:
    row = session.con.execute(f"SELECT {EPOCH}").fetchone()
    return row[0] if row else None


def _exists(session: Session, schema: str | None, name: str) -> bool:
    cond = f" AND schema = {string(schema)}" if schema else ""
    row = session.con.execute(
        f"SELECT count(*) FROM ({objects_sql(session)}) WHERE upper(name) = upper({string(name)}){cond}"
    ).fetchone()
    return bool(row and row[0])


def show_command(session: Session, text: str) -> Rows | None:
    """SHOW PARAMETERS and SHOW [USER] FUNCTIONS, which sqlglot leaves as raw commands;
    None for another command."""
    body = re.sub(r"/\*.*?\*/|--[^\n]*", " ", text, flags=re.DOTALL).strip()
    m = re.match(r"(?is)SHOW\s+(PARAMETERS|USER\s+FUNCTIONS|FUNCTIONS)\b\s*(.*)$", body)
    if m is None:
        return None
    what, rest = re.sub(r"\s+", " ", m.group(1).upper()), m.group(2)
    like_m = re.match(r"(?is)LIKE\s+(?:'((?:[^']|'')*)'|\$\$(.*?)\$\$)", rest.strip())
    like = (like_m.group(1).replace("''", "'") if like_m.group(1) is not None else like_m.group(2)) if like_m else None
    scope = rest[like_m.end() :].strip() if like_m else rest.strip()
    scopes = r"(?is)(IN\s+(SESSION|ACCOUNT|USER(\s+\S+)?|(WAREHOUSE|DATABASE|SCHEMA|TASK|TABLE)(\s+\S+)?))?"
    if not re.fullmatch(scopes, scope):
        raise SqlError(
            f"SQL compilation error: syntax error: unexpected '{scope.split()[-1]}'.", errno=1003, sqlstate="42000"
        )
    if what != "PARAMETERS":
        return Rows(columns=SHOW_FUNCTION_COLUMNS, rows=[])  # the engine has no user functions
    rows: list[tuple[object, ...]] = []
    for name, default, kind, description in PARAMETERS:
        if not _like(like, name):
            continue
        value, level = default, ""
        if name in session.session_parameters:
            value, level = str(session.session_parameters[name]), "SESSION"
        elif name in ENGINE_VALUES:
            value, level = ENGINE_VALUES[name], "ACCOUNT"
        rows.append((name, value, default, level, description, kind))
    return Rows(columns=SHOW_PARAMETER_COLUMNS, rows=rows)


# --------------------------------------------------------------- DESCRIBE
DESCRIBE_COLUMNS = [
    "name", "type", "kind", "null?", "default", "primary key", "unique key", "check", "expression", "comment",
    "policy name", "privacy domain",
]  # fmt: skip


def describe(session: Session, expr: exp.Describe, text: str) -> Rows:
    """DESCRIBE TABLE / VIEW with Snowflake's columns and types."""
    target = expr.this
    if not isinstance(target, exp.Table) or not isinstance(target.this, exp.Identifier):
        raise UnsupportedSqlError("DESCRIBE of a query is not supported by the local engine", statement=text)
    schema = fold(target.args.get("db")) or session.ctx.schema
    name = fold(target.this)
    assert name is not None
    return describe_columns(session, schema, name, text)


def describe_columns(session: Session, schema: str, name: str, text: str) -> Rows:
    """The DESCRIBE TABLE rows of one table, view or dynamic table (DESCRIBE DYNAMIC TABLE
    describes its columns too)."""
    found = session.con.execute(
        f"SELECT column_name, describe_type, is_nullable, column_default, comment, table_type FROM"
        f" ({columns_sql(session)}) WHERE upper(schema) = upper(?) AND upper(name) = upper(?) ORDER BY ordinal",
        [schema, name],
    ).fetchall()
    if not found:
        raise SqlError(f"Object '{name}' does not exist or not authorized.", statement=text)
    kind = "COLUMN"
    return Rows(
        columns=DESCRIBE_COLUMNS,
        rows=[
            (c, t, kind, "Y" if n == "YES" else "N", d, "N", "N", None, None, comment, None, None)
            for c, t, n, d, comment, _ in found
        ],
    )
