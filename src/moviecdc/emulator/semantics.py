"""Snowflake's meaning for ordinary statements on DuckDB, from fakesnow.

sqlglot turns Snowflake syntax into DuckDB syntax; where the two engines then disagree
on what a statement *means* (a JSON path's quotes, which NULLs OBJECT_CONSTRUCT keeps,
DATEADD's result type on a DATE, VALUES' column names, FLATTEN, sequences, MERGE ...),
fakesnow's ``fakesnow.transforms`` module holds a pure sqlglot rewrite for each. This
module applies them, in the order fakesnow's own cursor does, and creates the DuckDB
macros some of them call. Rewrites that depend on fakesnow's own layout of databases,
stages and result caches (``USE``, ``SHOW``, ``INFORMATION_SCHEMA``, ``DESCRIBE``,
``RESULT_SCAN``, stages and users) are left out: the engine has its own.

Why a dependency and not our own rules: docs/decisions/0001-sql-translation.md.
"""

from __future__ import annotations

from collections.abc import Callable

from fakesnow import macros
from fakesnow import transforms as fs
from sqlglot import exp

Transform = Callable[[exp.Expr], exp.Expr]

# In fakesnow's order (fakesnow/cursor.py, FakeSnowflakeCursor._transform): some depend on
# others having run first (trim_cast_varchar before json_extract_cast_as_varchar,
# indices_to_json_extract before regex_substr).
TRANSFORMS: tuple[Transform, ...] = (
    lambda e: fs.identifier(e, None),
    fs.upper_case_unquoted_identifiers,
    fs.current_version,
    fs.extract_comment_on_table,  # the comment goes in the "table_comment" arg, for the engine to keep
    lambda e: _column_comments(e),  # ... and column comments in "col_comments"
    fs.drop_schema_cascade,
    fs.tag,
    fs.semi_structured_types,
    fs.try_parse_json,
    fs.split,
    fs.trim_cast_varchar,
    fs.indices_to_json_extract,
    fs.json_extract_cast_as_varchar,
    fs.json_extract_cased_as_varchar,
    fs.json_extract_precedence,
    fs.flatten_value_cast_as_varchar,
    fs.flatten,
    fs.regex_replace,
    fs.regex_substr,
    fs.sequence_nextval,
    fs.values_columns,
    fs.to_date,
    fs.timestamp_offsets,
    fs.to_decimal,
    fs.to_timestamp,
    fs.to_variant,
    fs.object_construct,
    fs.timestamp_ntz,
    fs.float_to_double,
    fs.integer_precision,
    fs.extract_text_length,
    fs.sample,
    fs.array_size,
    fs.random,
    fs.array_agg_within_group,
    fs.array_agg,
    fs.object_agg,
    fs.array_construct_etc,
    fs.dateadd_date_cast,
    fs.dateadd_string_literal_timestamp_cast,
    fs.datediff_string_literal_timestamp_cast,
    fs.haversine,
    fs.hex_string,
    fs.sha256,
    fs.create_clone,
    fs.alias_in_join,
    fs.alias_in_where,
    fs.alter_table_strip_cluster_by,
    # not fs.numeric_agg_implicit_cast: it makes every SUM / AVG a DOUBLE, so the sum of a
    # NUMBER(10, 2) column comes back as a float (Snowflake's is exact); without it DuckDB
    # refuses SUM of a VARCHAR instead of answering wrongly
)

# Statements that become several (fakesnow's _transform_explode), in its order.
EXPLODERS: tuple[Callable[[exp.Expr], list[exp.Expr]], ...] = (
    fs.create_table_autoincrement,
    fs.merge,
    fs.alter_table_add_multiple_columns,
    fs.insert_overwrite,
)

def _column_comments(expr: exp.Expr) -> exp.Expr:
    """fakesnow's ``extract_comment_on_columns``, keeping the table the comments are on
    (in "comment_table"): an ALTER that only comments becomes a no-op without it."""
    table = expr.this if isinstance(expr, exp.Alter) else None
    out = fs.extract_comment_on_columns(expr)
    if out.args.get("col_comments") and isinstance(table, exp.Table):
        out.args["comment_table"] = table.copy()
    return out


#: What a statement that has no effect locally (``ALTER TABLE ... SET TAG``) became.
NOP = fs.SUCCESS_NOP


def division_by_zero(expr: exp.Expr) -> exp.Expr:
    """``a / b`` raises "Division by zero" when ``b`` is 0, as in Snowflake (DuckDB
    answers NULL). A divisor that is a non-zero literal is left alone."""
    if isinstance(expr, exp.Div):
        divisor = expr.expression
        if isinstance(divisor, exp.Literal) and not divisor.is_string and divisor.to_py() != 0:
            return expr
        return exp.Anonymous(this="_mc_div", expressions=[expr.this, divisor])
    return expr


_TEXT_TYPES = (exp.DType.VARCHAR, exp.DType.CHAR, exp.DType.NVARCHAR, exp.DType.NCHAR, exp.DType.TEXT)


def text_lengths(expr: exp.Expr) -> exp.Expr:
    """``VARCHAR(n)`` / ``CHAR(n)`` columns of a CREATE TABLE keep their length as a CHECK
    constraint: a longer string is refused, as in Snowflake (DuckDB ignores the length),
    and INFORMATION_SCHEMA, SHOW and DESCRIBE read the length back from it."""
    if not isinstance(expr, exp.ColumnDef) or not isinstance(expr.parent, exp.Schema):
        return expr
    if not isinstance(expr.parent.parent, exp.Create):
        return expr
    kind = expr.args.get("kind")
    if not isinstance(kind, exp.DataType) or kind.this not in _TEXT_TYPES or not kind.expressions:
        return expr
    length = kind.expressions[0]
    value = length.this if isinstance(length, exp.DataTypeParam) else length
    if not isinstance(value, exp.Literal) or value.is_string:
        return expr
    check = exp.ColumnConstraint(
        kind=exp.CheckColumnConstraint(
            this=exp.LTE(this=exp.Length(this=exp.column(expr.this.copy())), expression=value.copy())
        )
    )
    expr.append("constraints", check)
    return expr


# Ours, after fakesnow's: where DuckDB and Snowflake still differ.
OWN_TRANSFORMS: tuple[Transform, ...] = (division_by_zero, text_lengths)

_OWN_MACROS = """
CREATE OR REPLACE TEMP MACRO temp._mc_div(a, b) AS
    CASE WHEN b = 0 AND a IS NOT NULL THEN error('Division by zero') ELSE a / b END;
"""


def apply(expr: exp.Expr) -> exp.Expr:
    """``expr`` (a parsed Snowflake statement) with Snowflake's meaning, in DuckDB terms."""
    for transform in (*TRANSFORMS, *OWN_TRANSFORMS):
        expr = expr.transform(transform, copy=False)
    return expr


def explode(expr: exp.Expr) -> list[exp.Expr]:
    """The statements ``expr`` runs as (one, unless it is a MERGE, an ALTER TABLE adding
    several columns, an INSERT OVERWRITE or a CREATE TABLE with AUTOINCREMENT)."""
    for exploder in EXPLODERS:
        parts = exploder(expr)
        if len(parts) > 1:
            if isinstance(expr, exp.Alter) and any(a.args.get("exists") for a in expr.args.get("actions") or []):
                # ADD COLUMN IF NOT EXISTS a INT, b INT: the IF NOT EXISTS is for every column
                for part in parts:
                    for action in part.args.get("actions") or []:
                        if isinstance(action, exp.ColumnDef):
                            action.set("exists", True)
            return parts
    return [expr]


def macros_sql() -> str:
    """The DuckDB macros the rewrites call, as temporary macros: nothing is written to the
    database file, and a read-only connection gets them too."""
    fakesnow = macros.creation_sql("temp").replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO")
    return fakesnow + _OWN_MACROS
