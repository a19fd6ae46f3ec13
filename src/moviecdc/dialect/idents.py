"""Identifiers: Snowflake's case folding and double-quoted rendering."""

from __future__ import annotations

from sqlglot import exp


def quote(name: str) -> str:
    """``name`` as a double-quoted identifier (the same in Snowflake and DuckDB)."""
    return '"' + name.replace('"', '""') + '"'


def string(value: str) -> str:
    """``value`` as a DuckDB string literal (a Snowflake one would also need its backslashes doubled)."""
    return "'" + value.replace("'", "''") + "'"


def fold(ident: exp.Identifier | str | None) -> str | None:
    """Snowflake's resolution of an identifier: unquoted folds to upper case."""
    if ident is None:
        return None
    if isinstance(ident, str):
        return ident.upper()
    return ident.this if ident.quoted else ident.this.upper()
