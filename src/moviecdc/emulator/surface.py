"""Snowflake's SQL surface: what a user's statement may use on the local engine.

The local engine runs on DuckDB, which has statements and functions Snowflake does not,
some of them reaching outside the database: ``COPY ... TO '/a/file'``,
``read_csv('/etc/passwd')``, ``ATTACH``, ``INSTALL``, ``PRAGMA``, ``SET memory_limit``, a
file path in ``FROM``. Snowflake has none of these, and a tool that teaches Snowflake
must not run them. :func:`check` looks at a statement as Snowflake parsed it, before the
engine turns it into DuckDB SQL, and refuses, in one line naming the construct:

- statements other than Snowflake's own (a bare expression, ``PRAGMA``, ``INSTALL``,
  ``ATTACH``, ``CHECKPOINT``...), and Snowflake's file statements the engine does not
  emulate (stages, ``PUT``, ``GET``, ``COPY INTO``, file formats, pipes, external tables);
- table functions in ``FROM`` other than Snowflake's (``FLATTEN``; ``TABLE(...)`` forms
  are resolved by the engine and refuse what they do not know);
- DuckDB's functions for its settings, files, logs, catalog and SQL-in-a-string;
- the engine's own storage (schema ``_moviecdc``, DuckDB's ``pg_catalog``), and the
  engine's placeholder names (:func:`check_tokens`).

The engine's own statements do not pass through here, and the connection is opened with
DuckDB's external access switched off as a second line of defence
(:mod:`moviecdc.emulator.session`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlglot import exp

from moviecdc.errors import UnsupportedSqlError
from moviecdc.names import ENGINE_SCHEMA

_STATEMENTS: tuple[type[exp.Expr], ...] = (
    exp.Query,  # SELECT, UNION / INTERSECT / EXCEPT, a parenthesised query
    exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable,
    exp.Create, exp.Drop, exp.Alter, exp.Use, exp.Comment,
    exp.Transaction, exp.Commit, exp.Rollback,
    exp.Show, exp.Describe, exp.Grant, exp.Revoke,
    exp.Set,  # session variables (emulator/variables.py; DuckDB's settings are refused there)
    exp.Command,  # SHOW / GRANT forms sqlglot keeps as text; the engine refuses the rest by name
)  # fmt: skip

_FILES = "the local engine has no stages or files"
_NAMED: dict[type[exp.Expr], str] = {
    exp.Copy: f"COPY is not supported by the local engine ({_FILES}); load rows with INSERT",
    exp.Put: f"PUT is not supported by the local engine ({_FILES})",
    exp.ListStage: f"LIST is not supported by the local engine ({_FILES})",
    exp.Undrop: "UNDROP is not supported by the local engine (it keeps no Time Travel)",
}
_FILE_COMMANDS = frozenset({"GET", "REMOVE", "RM"})
_CREATE_KINDS = frozenset({"TABLE", "VIEW", "SEQUENCE", "SCHEMA", "DATABASE"})
_FILE_OBJECTS = frozenset({"STAGE", "FILE FORMAT", "PIPE", "EXTERNAL TABLE", "STORAGE INTEGRATION"})

# DuckDB functions with no Snowflake counterpart that read the engine's settings, files,
# logs or catalog, or run SQL held in a string.
_DUCKDB_FUNCTIONS = frozenset({
    "current_setting", "current_query", "current_query_id", "current_connection_id", "current_transaction_id",
    "current_schemas", "current_catalog", "getvariable", "getenv", "sleep_ms", "write_log", "error", "stats",
    "version", "query", "query_table", "glob", "sniff_csv", "which_secret", "checkpoint", "force_checkpoint",
    "enable_profiling", "disable_profiling", "enable_logging", "disable_logging", "has_database_privilege",
    "has_schema_privilege", "has_table_privilege", "has_column_privilege", "test_all_types", "test_vector_types",
    "json_serialize_sql", "json_deserialize_sql", "json_execute_serialized_sql", "parse_duckdb_log_message",
})  # fmt: skip
_DUCKDB_PREFIXES = ("duckdb_", "pragma_", "pg_", "parquet_", "read_", "iceberg_", "delta_", "sqlite_", "postgres_")
_RESERVED_SCHEMAS = frozenset({ENGINE_SCHEMA.upper(), "PG_CATALOG"})
MARKER_RE = re.compile(r'"?__mcdc_(?:obj_|p)\d+__"?', re.IGNORECASE)  # the engine's placeholders (translate)


# Statements DuckDB has and Snowflake does not (some do not even parse as Snowflake SQL).
_DUCKDB_STATEMENTS = frozenset(
    {"ATTACH", "DETACH", "INSTALL", "LOAD", "FORCE", "PRAGMA", "CHECKPOINT", "VACUUM", "SUMMARIZE", "EXPORT",
     "IMPORT", "RESET"}
)  # fmt: skip


def check_first_word(word: str) -> None:
    """Refuse a statement that starts with a DuckDB-only keyword (``ATTACH``, ``INSTALL``...).

    Raises:
        UnsupportedSqlError: naming the keyword.
    """
    if word.upper() in _DUCKDB_STATEMENTS:
        raise UnsupportedSqlError(f"{word.upper()} is DuckDB's, not Snowflake SQL: the local engine does not run it")


def check_tokens(texts: Iterable[str]) -> None:
    """Refuse a statement that names one of the engine's placeholders (``__mcdc_obj_<n>__``,
    ``__mcdc_p<n>__``): translation would replace them.

    Raises:
        UnsupportedSqlError: a token is such a name.
    """
    for text in texts:
        if MARKER_RE.fullmatch(text):
            raise UnsupportedSqlError(f"{text} is a name reserved by the local engine")


def check(statement: exp.Expr) -> None:
    """Refuse ``statement`` if it is not Snowflake SQL the local engine means to run.

    Raises:
        UnsupportedSqlError: one line naming the construct.
    """
    kind = type(statement)
    if kind in _NAMED:
        raise UnsupportedSqlError(_NAMED[kind])
    if not isinstance(statement, _STATEMENTS):
        word = statement.sql(dialect="snowflake").split(" ", 1)[0].upper()[:40]
        raise UnsupportedSqlError(f"{word or kind.__name__} is not a Snowflake statement the local engine runs")
    if isinstance(statement, exp.Command) and statement.name.upper() in _FILE_COMMANDS:
        raise UnsupportedSqlError(f"{statement.name.upper()} is not supported by the local engine ({_FILES})")
    if isinstance(statement, exp.Create | exp.Command):
        _check_create(statement)
    for node in statement.walk():
        _check_node(node)


def _check_create(statement: exp.Create | exp.Command) -> None:
    if isinstance(statement, exp.Command):
        if statement.name.upper() != "CREATE":
            return
        words = str(statement.expression or "").upper().replace("OR REPLACE", "").split()
        words = [w for w in words if w not in {"TEMP", "TEMPORARY", "TRANSIENT", "VOLATILE"}]
        kind = " ".join(words[:2]) if words[:1] in (["FILE"], ["EXTERNAL"], ["STORAGE"]) else " ".join(words[:1])
    else:
        kind = (statement.args.get("kind") or "").upper()
        props = statement.args.get("properties")
        if kind == "TABLE" and props and any(isinstance(p, exp.ExternalProperty) for p in props.expressions):
            kind = "EXTERNAL TABLE"
    if kind in _FILE_OBJECTS:
        raise UnsupportedSqlError(f"CREATE {kind} is not supported by the local engine ({_FILES})")
    if kind in {"FUNCTION", "PROCEDURE"}:  # DuckDB would make a macro of the body's text, not of its SQL
        raise UnsupportedSqlError(f"CREATE {kind} (user-defined {kind.lower()}s) is not supported by the local engine")
    if isinstance(statement, exp.Create) and kind not in _CREATE_KINDS:
        raise UnsupportedSqlError(f"CREATE {kind or '...'} is not supported by the local engine")
    if isinstance(statement, exp.Command) and kind in {"MACRO", "SECRET"}:
        raise UnsupportedSqlError(f"CREATE {kind} is DuckDB's, not Snowflake SQL: the local engine does not run it")


def _check_node(node: exp.Expr) -> None:
    if isinstance(node, exp.Table):
        source = node.this
        if isinstance(source, exp.Literal):
            raise UnsupportedSqlError(f"a file path as a table ({source.sql()}) is not Snowflake SQL")
        if isinstance(source, exp.Var) and source.name.startswith("@"):
            raise UnsupportedSqlError(f"reading stage {source.name} is not supported by the local engine ({_FILES})")
        # FLATTEN parses as Explode, IDENTIFIER(...) as DynamicIdentifier
        if isinstance(source, exp.Func) and not isinstance(source, exp.Explode | exp.DynamicIdentifier):
            raise UnsupportedSqlError(
                f"table function {_name(source).upper()} is not a Snowflake table function the local engine runs"
            )
        for part in ("catalog", "db"):
            ident = node.args.get(part)
            if isinstance(ident, exp.Identifier) and ident.name.upper() in _RESERVED_SCHEMAS:
                raise UnsupportedSqlError(f"schema {ident.name} belongs to the local engine: user SQL cannot use it")
    elif isinstance(node, exp.Func):
        name = _name(node).lower()
        if name in _DUCKDB_FUNCTIONS or name.startswith(_DUCKDB_PREFIXES):
            raise UnsupportedSqlError(
                f"{name.upper()} is DuckDB's, not a Snowflake function: the local engine does not run it"
            )


def _name(fn: exp.Func) -> str:
    return str(fn.this) if isinstance(fn, exp.Anonymous) else fn.sql_name()
