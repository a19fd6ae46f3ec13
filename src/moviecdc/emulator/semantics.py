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

import importlib
import importlib.util
import sys
from collections.abc import Callable
from datetime import datetime
from types import ModuleType

from sqlglot import exp

Transform = Callable[[exp.Expr], exp.Expr]


class _NoFileUtil:
    """Stands in for the connector's ``SnowflakeFileUtil`` in fakesnow's stage rewrites
    (PUT), which the engine does not use."""


def _package(name: str) -> ModuleType:
    """A stand-in for the package ``name`` whose ``__init__`` is not run: its submodules
    load from its directory as usual."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(name)
    module = ModuleType(name)
    module.__path__ = list(spec.submodule_search_locations)
    return module


def _load_rewrites() -> tuple[ModuleType, ModuleType]:
    """fakesnow's rewrites and macros without its connector: ``fakesnow/__init__.py``
    imports the Snowflake connector, whose package imports pandas, pyarrow and boto3 (half
    a second for every process that opens the engine). The rewrites are pure sqlglot and
    need only the connector's small error modules and, for the stage rewrites left out
    here, its file utilities. So they load under stand-ins for the two packages and the
    file utilities, and what the load put in ``sys.modules`` under either package is taken
    out again: a later ``import fakesnow`` or ``import snowflake.connector`` runs the real
    ones. When either is already imported, or this load fails, the ordinary import.
    """
    if "fakesnow" in sys.modules or "snowflake.connector" in sys.modules:
        return importlib.import_module("fakesnow.transforms"), importlib.import_module("fakesnow.macros")
    packages = ("fakesnow", "snowflake.connector")

    def added() -> list[str]:
        return [n for n in sys.modules if n not in before and any(n == p or n.startswith(p + ".") for p in packages)]

    before = set(sys.modules)
    loaded: tuple[ModuleType, ModuleType] | None = None
    try:
        file_util = ModuleType("snowflake.connector.file_util")
        file_util.SnowflakeFileUtil = _NoFileUtil  # type: ignore[attr-defined]
        sys.modules.update({p: _package(p) for p in packages})
        sys.modules[file_util.__name__] = file_util
        loaded = importlib.import_module("fakesnow.transforms"), importlib.import_module("fakesnow.macros")
    except Exception:  # a fakesnow or connector that does not load this way: the ordinary import
        loaded = None
    finally:
        for name in added():
            del sys.modules[name]
    if loaded is None:
        return importlib.import_module("fakesnow.transforms"), importlib.import_module("fakesnow.macros")
    return loaded


fs, macros = _load_rewrites()


def _column_comments(expr: exp.Expr) -> exp.Expr:
    """fakesnow's ``extract_comment_on_columns``, keeping the table the comments are on
    (in "comment_table"): an ALTER that only comments becomes a no-op without it."""
    table = expr.this if isinstance(expr, exp.Alter) else None
    out = fs.extract_comment_on_columns(expr)
    if out.args.get("col_comments") and isinstance(table, exp.Table):
        out.args["comment_table"] = table.copy()
    return out


def _create_column_comments(expr: exp.Expr) -> exp.Expr:
    """``CREATE TABLE t (a INT COMMENT '...')``: the column comments move to "col_comments"
    for the engine to keep (DuckDB takes none in a column definition)."""
    if not (isinstance(expr, exp.Create) and isinstance(expr.this, exp.Schema)):
        return expr
    notes: list[tuple[str, str]] = []
    for col in expr.this.expressions:
        if not isinstance(col, exp.ColumnDef):
            continue
        for constraint in list(col.args.get("constraints") or []):
            kind = constraint.args.get("kind")
            if isinstance(kind, exp.CommentColumnConstraint) and isinstance(kind.this, exp.Literal):
                notes.append((col.name, kind.this.this))
                constraint.pop()
    if notes and isinstance(expr.this.this, exp.Table):
        expr.args["col_comments"] = notes
        expr.args["comment_table"] = expr.this.this.copy()
    return expr


def _sequence_nextval(expr: exp.Expr) -> exp.Expr:
    """fakesnow's ``sequence_nextval`` (``seq.NEXTVAL`` -> ``nextval('seq')``), naming the
    result NEXTVAL only as a column of a SELECT: in a DEFAULT or a VALUES row the alias
    is a syntax error."""
    out = fs.sequence_nextval(expr)
    if isinstance(out, exp.Alias) and out is not expr and not isinstance(expr.parent, exp.Select):
        return out.this
    return out


def _names_a_variable(expr: exp.Expr) -> bool:
    """IDENTIFIER($name): the session variable gives the name (emulator/variables.py)."""
    return (
        isinstance(expr, exp.Table)
        and isinstance(expr.this, exp.DynamicIdentifier)
        and isinstance(expr.this.this, exp.Parameter)
    )


_NUMBER_38_0 = ("38", "0")
_INTEGERS = (exp.DType.INT, exp.DType.BIGINT, exp.DType.SMALLINT, exp.DType.TINYINT, exp.DType.UTINYINT)


def integer_precision(expr: exp.Expr) -> exp.Expr:
    """INT, INTEGER, BIGINT, SMALLINT, TINYINT, BYTEINT, NUMBER and NUMBER(38, 0) are one
    type in Snowflake, NUMBER(38, 0): 38 digits. DuckDB's HUGEINT (128 bits) holds every
    such value and reads back as a Python int, as the connector returns it. (fakesnow
    maps them to BIGINT, which refuses 2**63 and up.)"""
    if not isinstance(expr, exp.DataType):
        return expr
    if expr.this == exp.DType.DECIMAL:
        params = tuple(p.name for p in expr.expressions)
        if params not in ((), _NUMBER_38_0):
            return expr
    elif expr.this not in _INTEGERS:
        return expr
    return exp.DataType(this=exp.DType.INT128, nested=False, prefix=False)


# In fakesnow's order (fakesnow/cursor.py, FakeSnowflakeCursor._transform): some depend on
# others having run first (trim_cast_varchar before json_extract_cast_as_varchar,
# indices_to_json_extract before regex_substr).
TRANSFORMS: tuple[Transform, ...] = (
    lambda e: e if _names_a_variable(e) else fs.identifier(e, None),
    fs.upper_case_unquoted_identifiers,
    fs.current_version,
    fs.extract_comment_on_table,  # the comment goes in the "table_comment" arg, for the engine to keep
    _column_comments,  # ... and column comments in "col_comments"
    _create_column_comments,
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
    _sequence_nextval,
    fs.values_columns,
    fs.to_date,
    fs.timestamp_offsets,
    fs.to_decimal,
    fs.to_timestamp,
    fs.to_variant,
    fs.object_construct,
    fs.timestamp_ntz,
    fs.float_to_double,
    integer_precision,
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


# Snowflake's date and time format elements (case-insensitive), longest first, as strftime.
_FORMAT_ELEMENTS: tuple[tuple[str, str], ...] = (
    ("YYYY", "%Y"), ("MMMM", "%B"), ("HH24", "%H"), ("HH12", "%I"), ("FF9", "%n"), ("FF6", "%f"), ("FF3", "%g"),
    ("MON", "%b"), ("YY", "%y"), ("MM", "%m"), ("DD", "%d"), ("DY", "%a"), ("HH", "%H"), ("MI", "%M"),
    ("SS", "%S"), ("AM", "%p"), ("PM", "%p"), ("FF", "%n"),
)  # fmt: skip


def strftime_format(snowflake: str) -> str:
    """A Snowflake date/time format (``'mm/dd/yyyy'``, ``'YYYY-MM-DD HH24:MI'``) as a
    strftime format; NotImplementedError naming what has no exact equivalent."""
    out, i = [], 0
    while i < len(snowflake):
        if snowflake[i] == '"':  # quoted literal text
            end = snowflake.find('"', i + 1)
            if end < 0:
                raise NotImplementedError("an unterminated quoted text in a date format")
            out.append(snowflake[i + 1 : end].replace("%", "%%"))
            i = end + 1
            continue
        for element, code in _FORMAT_ELEMENTS:
            if snowflake[i : i + len(element)].upper() == element:
                out.append(code)
                i += len(element)
                break
        else:
            ch = snowflake[i]
            if ch.isalnum():
                raise NotImplementedError(f"the date format element at '{snowflake[i:]}' in '{snowflake}'")
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def date_formats(expr: exp.Expr) -> exp.Expr:
    """TO_VARCHAR / TO_CHAR of a date or time with a format write it in that format (sqlglot
    drops the format when it cannot see the argument's type); a numeric format, which the
    engine does not emulate, is refused. Formats sqlglot already converted get Snowflake's
    meaning for lower-case elements (``dd`` is the zero-padded day, ``dy`` the day's name)."""
    if isinstance(expr, exp.ToChar):
        fmt = expr.args.get("format")
        if fmt is None:
            return expr
        if not (isinstance(fmt, exp.Literal) and fmt.is_string):
            raise NotImplementedError("TO_VARCHAR with a format that is not a string literal")
        if any(c in fmt.this for c in "90") or fmt.this.strip().upper().startswith(("$", "S9", "X", "TM")):
            raise NotImplementedError(f"TO_VARCHAR with a numeric format ('{fmt.this}')")
        return exp.Anonymous(this="strftime", expressions=[expr.this, exp.Literal.string(strftime_format(fmt.this))])
    if isinstance(expr, exp.TimeToStr | exp.StrToTime | exp.StrToDate | exp.TsOrDsToDate):
        fmt = expr.args.get("format")
        if isinstance(expr, exp.TimeToStr) and isinstance(fmt, exp.Literal) and "z" in fmt.this.replace("%%", ""):
            # DuckDB writes the offset as +00, Snowflake's TZH:TZM as +00:00
            raise NotImplementedError("the date format element TZH / TZM (a time zone offset)")
        if isinstance(fmt, exp.Literal) and fmt.is_string and ("%-d" in fmt.this or "%w" in fmt.this):
            expr.set("format", exp.Literal.string(fmt.this.replace("%-d", "%d").replace("%w", "%a")))
    return expr


# DATE_INPUT_FORMAT = AUTO: the forms a date string may take (DuckDB's cast takes ISO only)
_AUTO_DATES = ("%Y-%m-%d", "%d-%b-%Y", "%d-%B-%Y", "%m/%d/%Y")


def date_literals(expr: exp.Expr) -> exp.Expr:
    """A string literal cast to DATE is read in any of the forms Snowflake's AUTO date
    input format accepts (``'03-Apr-2024'``, ``'04/03/2024'``), not only ISO."""
    if not (isinstance(expr, exp.Cast | exp.TryCast) and expr.to.is_type(exp.DType.DATE)):
        return expr
    value = expr.this
    if not (isinstance(value, exp.Literal) and value.is_string):
        return expr
    text = value.this.strip()
    for form in _AUTO_DATES:
        try:
            parsed = datetime.strptime(text, form).date()
        except ValueError:
            continue
        return exp.cast(exp.Literal.string(parsed.isoformat()), exp.DType.DATE)
    return expr


_SEQS = (exp.Seq1, exp.Seq2, exp.Seq4, exp.Seq8)


def generator_row_numbers(expr: exp.Expr) -> exp.Expr:
    """``ROW_NUMBER() OVER (ORDER BY SEQ8())`` in a SELECT that reads only a GENERATOR is
    DuckDB's ``range + 1``: the engine's sequence has no gaps, so the numbering (which on
    Snowflake closes them) is the counter itself, without sorting every row."""
    if not isinstance(expr, exp.Select) or not isinstance(
        (expr.args.get("from_") or exp.From()).this, exp.TableFromRows
    ):
        return expr
    if not isinstance(expr.args["from_"].this.this, exp.Generator) or any(
        expr.args.get(k) for k in ("joins", "where", "group", "having", "qualify", "distinct")
    ):
        return expr
    for win in list(expr.find_all(exp.Window)):
        order = win.args.get("order")
        keys = order.expressions if order else []
        if (
            isinstance(win.this, exp.RowNumber)
            and not win.args.get("partition_by")
            and len(keys) == 1
            and isinstance(keys[0].this, _SEQS)
            and not keys[0].args.get("desc")
            and not keys[0].this.args.get("this")
            and win.find_ancestor(exp.Select) is expr
        ):
            win.replace(exp.Paren(this=exp.Add(this=exp.column("range"), expression=exp.Literal.number(1))))
    return expr


# Ours, after fakesnow's: where DuckDB and Snowflake still differ.
OWN_TRANSFORMS: tuple[Transform, ...] = (
    division_by_zero,
    text_lengths,
    date_formats,
    date_literals,
    generator_row_numbers,
)

_OWN_MACROS = """
CREATE OR REPLACE TEMP MACRO temp._mc_div(a, b) AS
    CASE WHEN b = 0 AND a IS NOT NULL THEN error('Division by zero') ELSE a / b END;
"""


def apply(expr: exp.Expr) -> exp.Expr:
    """``expr`` (a parsed Snowflake statement) with Snowflake's meaning, in DuckDB terms.

    Long lists of plain values (a ``VALUES`` of bound rows, an ``IN (?, ?, ...)``) are set
    aside while the rewrites run and put back after: no rewrite changes a bare literal or
    parameter, and walking thousands of them fifty times cost more than running the
    statement (250 ms for a 1,000-row ``UPDATE ... FROM (VALUES ...)``).
    """
    tails = set_aside_values(expr)
    for transform in (*TRANSFORMS, *OWN_TRANSFORMS):
        expr = expr.transform(transform, copy=False)
    if tails:
        put_back_values(expr, tails)
    return expr


_LONG = 16  # lists at least this long are set aside


def _atom(node: exp.Expr) -> bool:
    if isinstance(node, exp.Literal | exp.Null | exp.Boolean | exp.Placeholder):
        return True
    if isinstance(node, exp.Neg):
        return isinstance(node.this, exp.Literal)
    if isinstance(node, exp.Column):  # a bound parameter's marker, __mcdc_p<n>__
        return not node.table and node.name.lower().startswith("__mcdc_p")
    return False


def set_aside_values(expr: exp.Expr) -> list[tuple[exp.Expr, list[exp.Expr]]]:
    """Detach the tails of long lists of literals and bound parameters (``VALUES`` rows,
    ``IN`` lists) from ``expr``, for a pass that changes none of them; `put_back_values`
    re-attaches them."""
    tails: list[tuple[exp.Expr, list[exp.Expr]]] = []
    for node in expr.find_all(exp.Values, exp.In):
        items = node.expressions
        if len(items) < _LONG:
            continue
        if not all(_atom(v) for r in items for v in (r.expressions if isinstance(r, exp.Tuple) else [r])):
            continue
        node.meta["mc_tail"] = len(tails)
        tails.append((node, items[1:]))
        node.set("expressions", items[:1])  # the first stays: rewrites may read its shape
    return tails


def put_back_values(expr: exp.Expr, tails: list[tuple[exp.Expr, list[exp.Expr]]]) -> None:
    moved: dict[int, exp.Expr] | None = None
    for i, (node, tail) in enumerate(tails):
        if node.root() is not expr:  # a rewrite copied the statement around it: find the copy
            if moved is None:
                moved = {n.meta["mc_tail"]: n for n in expr.find_all(exp.Values, exp.In) if "mc_tail" in n.meta}
            if i not in moved:
                raise NotImplementedError("a statement whose value lists the rewrites replaced")
            node = moved[i]
        node.meta.pop("mc_tail", None)
        node.set("expressions", [*node.expressions, *tail])


def explode(expr: exp.Expr) -> list[exp.Expr]:
    """The statements ``expr`` runs as (one, unless it is a MERGE, an ALTER TABLE adding
    several columns, an INSERT OVERWRITE or a CREATE TABLE with AUTOINCREMENT)."""
    for exploder in EXPLODERS:
        parts = exploder(expr)
        if len(parts) > 1 and isinstance(expr, exp.Merge):
            parts[0] = _candidates_without_rowid(parts[0], expr)
        if len(parts) > 1:
            if isinstance(expr, exp.Alter) and any(a.args.get("exists") for a in expr.args.get("actions") or []):
                # ADD COLUMN IF NOT EXISTS a INT, b INT: the IF NOT EXISTS is for every column
                for part in parts:
                    for action in part.args.get("actions") or []:
                        if isinstance(action, exp.ColumnDef):
                            action.set("exists", True)
            return parts
    return [expr]


def _candidates_without_rowid(candidates: exp.Expr, merge: exp.Merge) -> exp.Expr:
    """fakesnow's MERGE finds unmatched source rows by the target's ``rowid``, which a
    view has not (a change-tracked table is one): mark the target's rows instead."""
    target = merge.this
    if not isinstance(target, exp.Table):
        return candidates
    name = (target.alias or target.name).upper()
    for col in list(candidates.find_all(exp.Column)):
        if col.name.lower() == "rowid" and col.table.upper() == name:
            col.replace(exp.column("__MC_PRESENT", table=col.args["table"].copy()))
    for table in list(candidates.find_all(exp.Table)):
        if table.name.upper() == target.name.upper() and isinstance(table.parent, exp.From):
            marked = exp.select(exp.Star(), exp.alias_(exp.true(), "__MC_PRESENT")).from_(
                exp.Table(this=table.this.copy(), db=table.args.get("db"), catalog=table.args.get("catalog"))
            )
            table.replace(
                exp.Subquery(this=marked, alias=exp.TableAlias(this=exp.to_identifier(table.alias or table.name)))
            )
    return candidates


def macros_sql() -> str:
    """The DuckDB macros the rewrites call, as temporary macros: nothing is written to the
    database file, and a read-only connection gets them too."""
    fakesnow = macros.creation_sql("temp").replace("CREATE OR REPLACE MACRO", "CREATE OR REPLACE TEMP MACRO")
    return fakesnow + _OWN_MACROS
