"""Snowflake's error code and SQLSTATE for what DuckDB reports.

A DuckDB error becomes the error Snowflake raises for the same mistake: its code, its
SQLSTATE and its wording ("Object 'T' does not exist or not authorized."), so that
code written against the connector's ``errno`` / ``sqlstate`` reads the same on both
targets. An error without a Snowflake counterpart keeps DuckDB's message and gets
Snowflake's generic code for a failed statement (100000 for execution errors, 001003
for SQL that does not compile).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb


@dataclass(frozen=True)
class SnowflakeError:
    errno: int
    sqlstate: str
    message: str
    unsupported: bool = False  # Snowflake would run it: the engine refuses what it cannot emulate

    def __str__(self) -> str:
        return f"{self.errno:06d} ({self.sqlstate}): {self.message}"


_COMPILE = "SQL compilation error: "

# (DuckDB message pattern, code, SQLSTATE, Snowflake's message with \1... from the match)
_RULES: tuple[tuple[re.Pattern[str], int, str, str], ...] = tuple(
    (re.compile(p, re.IGNORECASE | re.DOTALL), code, state, msg)
    for p, code, state, msg in [
        # "Table with name X does not exist [because schema Y does not exist]", views, sequences
        (r'(?:Table|View|Sequence) with name "?([^" !]+)"? does not exist', 2003, "42S02",
         _COMPILE + r"Object '\1' does not exist or not authorized."),
        # a missing table whose name looks like a file: DuckDB tries to read the file, which the
        # engine's connection forbids (no file is reachable from SQL)
        (r'Cannot access file "([^"]+)" - file system operations are disabled', 2003, "42S02",
         _COMPILE + r"Object '\1' does not exist or not authorized."),
        (r'Schema with name "?([^" !]+)"? does not exist', 2003, "02000",
         _COMPILE + r"Schema '\1' does not exist or not authorized."),
        (r'Referenced column "?([^" ]+)"? not found', 904, "42000",
         _COMPILE + r"error line 0 at position 0 invalid identifier '\1'"),
        (r'Values list "?([^" ]+)"? does not have a column named "?([^" ]+)"?', 904, "42000",
         _COMPILE + r"error line 0 at position 0 invalid identifier '\1.\2'"),
        (r'Table "?([^" ]+)"? does not have a column named "?([^" ]+)"?', 904, "42000",
         _COMPILE + r"error line 0 at position 0 invalid identifier '\2'"),
        (r'Table with name "?([^" ]+)"? already exists', 2002, "42710", _COMPILE + r"Object '\1' already exists."),
        (r'(?:Scalar|Aggregate|Table) Function with name "?([^" !]+)"? does not exist', 2140, "42601",
         _COMPILE + r"Unknown function \1"),
        (r"Could not convert string '([^']*)' to (?:INT|BIGINT|DECIMAL|DOUBLE|HUGEINT|SMALLINT|TINYINT|FLOAT)", 100038,
         "22018", r"Numeric value '\1' is not recognized"),
        (r"invalid date field format: \"([^\"]*)\"", 100040, "22007", r"Date '\1' is not recognized"),
        (r"invalid timestamp field format: \"([^\"]*)\"", 100035, "22007", r"Timestamp '\1' is not recognized"),
        (r"Division by zero", 100051, "22012", "Division by zero"),
        (r"NOT NULL constraint failed: ([^\s]+)", 100072, "22000", r"NULL result in a non-nullable column"),
        (r"Duplicate key", 100116, "22000", "Duplicate key value violates unique constraint"),
        # the CHECK that semantics.text_lengths gives a VARCHAR(n) column
        (r"CHECK constraint failed on table .* with expression CHECK\(\(length\(\"?([^\")]+)\"?\) <= (\d+)\)\)", 100074,
         "22001", r"String is too long and would be truncated (column \1 is VARCHAR(\2))"),
        (r"No function matches the given name and argument types '(\w+)\(([^)]*)\)'", 1044, "42P13",
         _COMPILE + r"Invalid argument types for function '\1': (\2) (the local engine casts no VARCHAR implicitly"
         r" here; cast the argument)"),
        # $name left in SQL the engine runs outside the session (a task body, a dynamic table)
        (r"Values were not provided for the following parameters: ([A-Za-z_]\w*)", 2211, "02000",
         _COMPILE + r"Session variable '$\1' does not exist"),
        (r"Parser Error: (.*)", 1003, "42000", _COMPILE + r"\1"),
    ]
)  # fmt: skip


def translate(exc: duckdb.Error) -> SnowflakeError:
    """The Snowflake error for a DuckDB error."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    implicit = re.search(r"No function matches the given name and argument types '(\w+)\(([^)]*VARCHAR[^)]*)\)'", first)
    if implicit:  # Snowflake casts a VARCHAR to the type a function needs; DuckDB does not
        fn, args = implicit.groups()
        return SnowflakeError(
            1044, "42P13",
            f"not supported by the local engine: the implicit cast of a VARCHAR argument in {fn.upper()}({args})"
            " (cast it explicitly)",
            unsupported=True,
        )  # fmt: skip
    for pattern, code, state, template in _RULES:
        m = pattern.search(first)
        if m:
            return SnowflakeError(code, state, m.expand(template))
    if isinstance(exc, duckdb.ParserException | duckdb.BinderException | duckdb.CatalogException):
        return SnowflakeError(2043 if isinstance(exc, duckdb.CatalogException) else 1003, "42000", _COMPILE + first)
    return SnowflakeError(100000, "22000", first)


# Errors the engine raises itself, already in Snowflake's words: their code by wording.
_OWN: tuple[tuple[re.Pattern[str], int, str], ...] = (
    (re.compile(r"already exists\.$"), 2002, "42710"),
    (re.compile(r"does not exist or not authorized\.$"), 2003, "02000"),
    (re.compile(r"^SQL compilation error"), 1003, "42000"),
)


def classify(message: str) -> tuple[int, str] | None:
    """Snowflake's (code, SQLSTATE) for an error the engine words as Snowflake does."""
    for pattern, code, state in _OWN:
        if pattern.search(message):
            return code, state
    return None
