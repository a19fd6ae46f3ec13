"""Snowflake SQL → DuckDB SQL for the local engine.

sqlglot does the dialect translation. On top of it, the engine applies a tuple of
rewrite rules (``RULES``), each a function ``(expression, context) -> expression``
named for the Snowflake behaviour it reproduces. Objects DuckDB does not have
(streams, the INFORMATION_SCHEMA table functions) are replaced by *markers*: a
table named ``__mcdc_obj_<n>__`` that :func:`render` swaps for the engine's own
subquery text after sqlglot has written the DuckDB SQL. Bound parameters (``?``)
become ``__mcdc_p<n>__`` markers before parsing, so a statement the engine splits
in two (an UPDATE's before-image read and the UPDATE) still binds every value.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import sqlglot
from sqlglot import exp
from sqlglot.dialects.snowflake import Snowflake
from sqlglot.errors import ParseError
from sqlglot.tokens import Token, TokenType

from moviecdc.dialect.idents import fold, quote
from moviecdc.dialect.split import tokenize
from moviecdc.emulator import semantics, surface
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.names import ENGINE_SCHEMA

_SNOWFLAKE = Snowflake()

# sqlglot warns on stderr when it falls back to a raw command; the engine reports
# unsupported statements itself, in one line.
logging.getLogger("sqlglot").setLevel(logging.ERROR)

_PARAM_RE = re.compile(r"__mcdc_p(\d+)__", re.IGNORECASE)
_OBJ_RE = re.compile(r'"?__mcdc_obj_(\d+)__"?', re.IGNORECASE)


class Resolver(Protocol):
    """What the rules need from the engine."""

    def stream_sql(self, table: exp.Table) -> str | None:
        """DuckDB SQL of the stream's current change set, or None if not a stream."""
        ...

    def stream_has_data(self, name: str) -> bool: ...

    def changes_sql(self, table: exp.Table) -> str:
        """DuckDB SQL of ``table CHANGES (...) AT (...) [END (...)]``."""
        ...

    def table_function_sql(self, name: str, kwargs: dict[str, object]) -> str: ...

    def statement_time_sql(self) -> str: ...

    def information_schema_sql(self, view: str) -> str | None:
        """DuckDB SQL of ``INFORMATION_SCHEMA.<view>``, or None if the engine has no such view."""
        ...

    def schema_in_other_case(self, schema: str) -> str | None:
        """The existing schema whose name is ``schema`` in another case, if ``schema`` itself
        does not exist (DuckDB would resolve one to the other)."""
        ...

    def task_graph_config(self, path: str | None) -> str | None:
        """SYSTEM$GET_TASK_GRAPH_CONFIG: the running graph's config (or the value at
        ``path``): a string as itself, another value as JSON text; None when there is none."""
        ...

    def predecessor_return_value(self, name: str | None) -> str | None:
        """SYSTEM$GET_PREDECESSOR_RETURN_VALUE inside a task run."""
        ...

    def task_runtime_info(self, prop: str) -> str | None:
        """SYSTEM$TASK_RUNTIME_INFO('<property>') inside a task run."""
        ...


@dataclass
class Context:
    """Per-statement state shared by the rules."""

    resolver: Resolver
    schema: str = "PUBLIC"  # unqualified tables resolve here
    database: str = "MOVIECDC"  # what CURRENT_DATABASE() answers
    objects: list[str] = field(default_factory=list)  # marker n → SQL
    streams: list[exp.Table] = field(default_factory=list)  # streams read
    used_clock: bool = False  # CURRENT_TIMESTAMP was replaced by the statement time
    temp_tables: frozenset[str] = frozenset()  # the session's temporary tables (folded names)

    def marker(self, sql: str, alias: str) -> exp.Table:
        self.objects.append(sql)
        return exp.Table(
            this=exp.to_identifier(f"__mcdc_obj_{len(self.objects) - 1}__"),
            alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)),
        )


def parse(sql: str) -> exp.Expr:
    """Parse one Snowflake statement, with ``?`` turned into parameter markers, and give
    it Snowflake's meaning in DuckDB terms (:mod:`moviecdc.emulator.semantics`).

    The statement is tokenized once; each ``?`` token becomes the marker
    ``__mcdc_p<n>__`` that ``render`` turns back into a bound parameter. The result is
    the caller's to change: statements seen before are copied from a cache.

    Raises:
        SqlError: the statement does not parse.
        UnsupportedSqlError: the statement uses a form the local engine cannot give
            Snowflake's meaning to.
    """
    if len(sql) > _CACHED_UP_TO:  # a long statement (thousands of bound values) is rarely seen twice,
        return _parse(sql)  # and copying it from the cache would cost as much as parsing it
    return _parsed(sql).copy()


_CACHED_UP_TO = 4096


@functools.lru_cache(maxsize=512)
def _parsed(sql: str) -> exp.Expr:
    return _parse(sql)


def _parse(sql: str) -> exp.Expr:
    tokens = tokenize(sql)
    if tokens:
        surface.check_first_word(tokens[0].text)
    surface.check_tokens(t.text for t in tokens if t.token_type in (TokenType.VAR, TokenType.IDENTIFIER))
    n = 0
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.PLACEHOLDER and tok.text == "?":
            tokens[i] = Token(TokenType.VAR, f"__mcdc_p{n}__", tok.line, tok.col, tok.start, tok.end, tok.comments)
            n += 1
    try:
        parsed = _SNOWFLAKE.parser().parse(tokens, sql)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first.get('line')}, column {first.get('col')})" if first else ""
        raise SqlError(
            f"001003 (42000): SQL compilation error{where}: {first.get('description') or exc}",
            statement=sql,
            errno=1003,
            sqlstate="42000",
        ) from exc
    statements = [p for p in parsed if p is not None]
    if len(statements) != 1:
        raise SqlError("expected exactly one statement", statement=sql)
    try:
        surface.check(statements[0])
    except UnsupportedSqlError as exc:
        raise UnsupportedSqlError(exc.message, statement=sql) from None
    try:
        return semantics.apply(statements[0])
    except NotImplementedError as exc:  # a form the rewrites know they cannot give Snowflake's meaning to
        raise UnsupportedSqlError(f"not supported by the local engine: {exc}", statement=sql) from None


def render(
    expr: exp.Expr, ctx: Context, params: Sequence[object] | None, *, keep: bool = True
) -> tuple[str, list[object]]:
    """Write ``expr`` as DuckDB SQL, expanding markers; returns (sql, bound params).

    With ``keep`` False the caller is done with ``expr``: it is rendered in place, not
    copied first (which, for a statement binding thousands of values, costs more than
    rendering it)."""
    sql = expr.sql(dialect="duckdb", copy=keep)
    for _ in range(3):  # marker SQL may itself contain markers of nested objects
        if not _OBJ_RE.search(sql):
            break
        sql = _OBJ_RE.sub(lambda m: f"({ctx.objects[int(m.group(1))]})", sql)
    bound: list[object] = []

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if params is None or n >= len(params):
            raise SqlError(f"statement needs bind parameter #{n + 1}, not supplied")
        bound.append(params[n])
        return "?"

    sql = _PARAM_RE.sub(sub, sql)
    return sql, bound


# -- rules -------------------------------------------------------------------


def strip_database(node: exp.Expr, ctx: Context) -> exp.Expr:
    """One local database: ``db.schema.table`` resolves as ``schema.table``."""
    if isinstance(node, exp.Table) and node.args.get("catalog") is not None:
        node.set("catalog", None)
    return node


def exact_schemas(node: exp.Expr, ctx: Context) -> exp.Expr:
    """``"cdc".t`` names schema cdc, not CDC: Snowflake's names are case-sensitive where
    DuckDB's are not, so a schema that exists only in another case does not exist."""
    if isinstance(node, exp.Table) and isinstance(node.args.get("db"), exp.Identifier):
        schema = fold(node.args["db"])
        # the engine's own schema (user SQL cannot name it: surface.check) and INFORMATION_SCHEMA excepted
        if (
            schema
            and schema.upper() not in ("INFORMATION_SCHEMA", ENGINE_SCHEMA.upper())
            and ctx.resolver.schema_in_other_case(schema) is not None
        ):
            shown = quote(schema) if schema != schema.upper() else schema
            raise SqlError(
                f"SQL compilation error: Schema '{ctx.database}.{shown}' does not exist or not authorized.",
                errno=2003,
                sqlstate="02000",
            )
    return node


def read_streams(node: exp.Expr, ctx: Context) -> exp.Expr:
    """A stream in FROM reads its change set: rows + METADATA$ columns (reference 1.2-1.3)."""
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Identifier):
        sql = ctx.resolver.stream_sql(node)
        if sql is not None:
            ctx.streams.append(node.copy())
            return ctx.marker(sql, node.alias_or_name)
    return node


def read_changes(node: exp.Expr, ctx: Context) -> exp.Expr:
    """``t CHANGES (...) AT (...)`` reads a change set, like a stream but moving no offset;
    time travel on a table without CHANGES is not emulated."""
    if isinstance(node, exp.Table) and node.args.get("changes") is not None:
        return ctx.marker(ctx.resolver.changes_sql(node), node.alias_or_name)
    if isinstance(node, exp.Table) and node.args.get("when") is not None:
        raise UnsupportedSqlError(
            "time travel (AT | BEFORE on a table) is not supported by the local engine; CHANGES (...) AT (...) is"
        )
    return node


def system_functions(node: exp.Expr, ctx: Context) -> exp.Expr:
    """SYSTEM$STREAM_HAS_DATA('<stream>') is evaluated by the engine (reference 1.6)."""
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "SYSTEM$STREAM_HAS_DATA":
        args = node.expressions
        if len(args) != 1 or not isinstance(args[0], exp.Literal) or not args[0].is_string:
            raise SqlError("SYSTEM$STREAM_HAS_DATA takes one string literal: the stream name")
        return exp.Boolean(this=ctx.resolver.stream_has_data(args[0].this))
    if isinstance(node, exp.Anonymous) and str(node.this).upper() in _TASK_FUNCTIONS:
        fn = str(node.this).upper()
        args = node.expressions
        if len(args) > 1 or (args and not (isinstance(args[0], exp.Literal) and args[0].is_string)):
            raise SqlError(f"{fn} takes at most one string literal")
        arg = args[0].this if args else None
        if fn == "SYSTEM$CURRENT_USER_TASK_NAME":
            full = ctx.resolver.task_runtime_info("CURRENT_TASK_NAME")
            return exp.Null() if full is None else exp.Literal.string(full.rsplit(".", 1)[-1])
        if fn == "SYSTEM$TASK_RUNTIME_INFO":
            if arg is None:
                raise SqlError("SYSTEM$TASK_RUNTIME_INFO takes the name of the property to return")
            value = ctx.resolver.task_runtime_info(arg)
            return exp.Null() if value is None else exp.Literal.string(value)
        if fn == "SYSTEM$GET_TASK_GRAPH_CONFIG":
            value = ctx.resolver.task_graph_config(arg)  # a string value as itself, others as JSON text
            return exp.Null() if value is None else exp.Literal.string(value)
        value = ctx.resolver.predecessor_return_value(arg)
        return exp.Null() if value is None else exp.Literal.string(value)
    if isinstance(node, exp.Anonymous) and str(node.this).upper() == "SYSTEM$SET_RETURN_VALUE":
        raise UnsupportedSqlError(
            "SYSTEM$SET_RETURN_VALUE inside another statement is not supported by the local engine:"
            " call it on its own in a task body (CALL SYSTEM$SET_RETURN_VALUE(...))"
        )
    if isinstance(node, exp.Anonymous) and str(node.this).upper().startswith("SYSTEM$"):
        raise UnsupportedSqlError(f"{node.this} is not supported by the local engine")
    return node


_TASK_FUNCTIONS = {
    "SYSTEM$GET_TASK_GRAPH_CONFIG",
    "SYSTEM$GET_PREDECESSOR_RETURN_VALUE",
    "SYSTEM$TASK_RUNTIME_INFO",
    "SYSTEM$CURRENT_USER_TASK_NAME",
}


def information_schema_functions(node: exp.Expr, ctx: Context) -> exp.Expr:
    """TABLE(INFORMATION_SCHEMA.TASK_HISTORY(...)) and friends read engine history."""
    if not isinstance(node, exp.TableFromRows):
        return node
    fn = node.this
    while isinstance(fn, exp.Dot):
        fn = fn.expression
    if isinstance(fn, exp.Generator):  # sqlglot writes it as DuckDB's range(n), SEQ4() as its counter
        if not isinstance(fn.args.get("rowcount"), exp.Literal):
            raise UnsupportedSqlError(
                "GENERATOR needs ROWCOUNT => <number> on the local engine (TIMELIMIT is not emulated)"
            )
        return node
    if not isinstance(fn, exp.Anonymous | exp.Func):
        return node
    name = (fn.this if isinstance(fn, exp.Anonymous) else fn.sql_name()).upper()
    kwargs: dict[str, object] = {}
    for arg in fn.expressions:
        if not isinstance(arg, exp.Kwarg):
            raise SqlError(f"{name} takes named arguments (NAME => value)")
        # the marker replaces the call before the walk reaches its arguments: the rules apply
        # to them here (the clock in DATEADD('hour', -1, CURRENT_TIMESTAMP()), ...)
        kwargs[arg.this.name.upper()] = _literal(apply_rules(arg.expression, ctx), name)
    alias = node.alias_or_name or name
    return ctx.marker(ctx.resolver.table_function_sql(name, kwargs), alias)


def _literal(value: exp.Expr, fn: str) -> object:
    if isinstance(value, exp.Literal):
        return value.this if value.is_string else int(value.this)
    if isinstance(value, exp.Boolean):
        return bool(value.this)
    if isinstance(value, exp.Neg) and isinstance(value.this, exp.Literal):
        return -int(value.this.this)
    if isinstance(value, exp.Column | exp.Var):
        return value.name
    # an expression such as DATEADD(...): evaluated by DuckDB later
    return value


def information_schema_views(node: exp.Expr, ctx: Context) -> exp.Expr:
    """INFORMATION_SCHEMA.TABLES / COLUMNS / SCHEMATA / VIEWS / DATABASES list the
    database's own objects with Snowflake's columns and types (never the engine's)."""
    if (
        isinstance(node, exp.Table)
        and isinstance(node.this, exp.Identifier)
        and fold(node.args.get("db")) == "INFORMATION_SCHEMA"
    ):
        name = fold(node.this)
        assert name is not None
        sql = ctx.resolver.information_schema_sql(name)
        if sql is None:
            raise UnsupportedSqlError(f"INFORMATION_SCHEMA.{name} is not supported by the local engine")
        return ctx.marker(sql, node.alias_or_name)
    return node


def session_functions(node: exp.Expr, ctx: Context) -> exp.Expr:
    """CURRENT_DATABASE() and CURRENT_SCHEMA() name the session's database and schema."""
    if isinstance(node, exp.CurrentDatabase):
        return exp.Literal.string(ctx.database)
    if isinstance(node, exp.CurrentSchema):
        return exp.Literal.string(ctx.schema)
    return node


def qualify_sequences(node: exp.Expr, ctx: Context) -> exp.Expr:
    """``seq.NEXTVAL`` (``nextval('SEQ')`` by now) names a sequence of the current schema."""
    if isinstance(node, exp.Anonymous) and str(node.this).lower() == "nextval" and len(node.expressions) == 1:
        arg = node.expressions[0]
        if isinstance(arg, exp.Literal) and arg.is_string:
            parts = arg.this.split(".")
            if len(parts) == 1:
                parts = [ctx.schema, *parts]
            elif len(parts) == 3:
                parts = parts[1:]  # one local database
            quoted = ".".join(quote(p.strip('"')) for p in parts)
            return exp.Anonymous(this="nextval", expressions=[exp.Literal.string(quoted)])
    return node


def statement_time(node: exp.Expr, ctx: Context) -> exp.Expr:
    """CURRENT_TIMESTAMP, CURRENT_DATE and CURRENT_TIME are the statement's start time,
    read from the engine clock (UTC, the session's time zone)."""
    if isinstance(node, exp.CurrentTimestamp | exp.CurrentDate | exp.CurrentTime | exp.Localtime):
        ctx.used_clock = True
        now = sqlglot.parse_one(ctx.resolver.statement_time_sql(), read="duckdb")
        if isinstance(node, exp.CurrentDate):
            return exp.cast(now, exp.DataType.build("DATE"))
        if isinstance(node, exp.CurrentTime | exp.Localtime):
            return exp.cast(exp.cast(now, exp.DataType.build("TIMESTAMP")), exp.DataType.build("TIME"))
        return now
    return node


Rule = Callable[[exp.Expr, Context], exp.Expr]
RULES: tuple[Rule, ...] = (
    strip_database,
    information_schema_views,
    session_functions,
    qualify_sequences,
    read_changes,
    read_streams,
    system_functions,
    information_schema_functions,
    statement_time,
)


def apply_rules(expr: exp.Expr, ctx: Context, rules: Sequence[Rule] = RULES) -> exp.Expr:
    """Apply the rules, in order, to every node of ``expr`` (top-down), in one walk.

    A rule that replaces a node hands the replacement to the rules after it; what a rule
    puts in place (a marker, a literal) has nothing inside for the rules to change, so
    one walk gives what one walk per rule would.
    """

    def each(node: exp.Expr) -> exp.Expr:
        for rule in rules:
            node = rule(node, ctx)
        return node

    tails = semantics.set_aside_values(expr)  # no rule changes a bare value: skip long lists of them
    expr = expr.transform(each, copy=False)
    if tails:
        semantics.put_back_values(expr, tails)
    return expr


def qualify(root: exp.Expr) -> Rule:
    """Unqualified tables resolve in the context's schema (CTE names excepted); then the
    schema is checked (:func:`exact_schemas`)."""
    ctes = {fold(c.alias) for c in root.find_all(exp.CTE)}

    def rule(node: exp.Expr, ctx: Context) -> exp.Expr:
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.Identifier)
            and fold(node.this) in ctx.temp_tables
            and fold(node.args.get("db")) in (None, ctx.schema)
        ):
            node.set("db", None)  # a temporary table: in DuckDB's temp catalog
            return node
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.Identifier)
            and node.args.get("db") is None
            and not node.name.lower().startswith("__mcdc_")
            and fold(node.this) not in ctes
        ):
            node.set("db", exp.to_identifier(ctx.schema, quoted=True))
        return exact_schemas(node, ctx)  # once qualified, every table's schema is checked here

    return rule


def rewrite(expr: exp.Expr, ctx: Context, *, clock: bool = True) -> exp.Expr:
    """Apply every rule and the schema qualification to ``expr``, in place.

    ``clock`` False leaves CURRENT_TIMESTAMP as it is (DDL: a column default is
    evaluated when a row is written, not when the table is created).
    """
    rules = RULES if clock else tuple(r for r in RULES if r is not statement_time)
    return apply_rules(expr, ctx, (*rules, qualify(expr)))


def translate(
    expr: exp.Expr, ctx: Context, params: Sequence[object] | None = None, *, clock: bool = True, keep: bool = True
) -> tuple[str, list[object]]:
    """The one entry point: a parsed Snowflake statement and its context → DuckDB SQL
    and the values to bind to its ``?`` markers.

    ``ctx`` collects what the statement reads (streams, the clock); ``keep`` False lets
    the caller's ``expr`` be rewritten in place.
    """
    if keep:
        expr = expr.copy()
    return render(rewrite(expr, ctx, clock=clock), ctx, params, keep=False)
