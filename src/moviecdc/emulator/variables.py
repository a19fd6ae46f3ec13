"""Snowflake's session variables: ``SET``, ``UNSET``, ``SHOW VARIABLES`` and ``$name``.

https://docs.snowflake.com/en/sql-reference/session-variables: ``SET name = <expr>`` (or
``SET (a, b) = (<expr>, <expr>)``) evaluates the expressions once, when it runs, on the
engine (its clock: ``CURRENT_TIMESTAMP()`` is the statement's time) and keeps the values in
the session for the life of the connection. ``$name`` in a later statement is that value,
put in place as a typed literal before the statement is translated, so it reaches every
expression, table-function arguments, ``CHANGES ... AT (TIMESTAMP => $ts)`` and
``IDENTIFIER($name)``. Names fold as identifiers do: unquoted names in upper case.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from moviecdc.dialect.idents import fold
from moviecdc.dialect.split import tokenize
from moviecdc.emulator import resolver
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows

_DONE = "Statement executed successfully."
_RESERVED = frozenset({"CURRENT", "PUBLIC"})  # reserved by Snowflake (SET's usage notes)
_SHOW_COLUMNS = ["session_id", "created_on", "updated_on", "name", "value", "type", "comment"]
_duckdb_settings: frozenset[str] | None = None  # DuckDB's setting names and aliases, lower case


@dataclass
class Variable:
    name: str
    value: object
    created_on: datetime
    updated_on: datetime


def missing(name: str) -> SqlError:
    return SqlError(f"SQL compilation error: Session variable '${name}' does not exist", errno=2211, sqlstate="02000")


def statement(session: Session, text: str) -> Rows | None:
    """Run ``UNSET ...`` or ``SHOW VARIABLES [LIKE '...']`` (neither parses as Snowflake SQL
    in sqlglot); None for any other statement."""
    if not _OWN.match(text):
        return None
    tokens = tokenize(text)
    if tokens[0].text.upper() == "UNSET":
        return _unset(session, tokens[1:])
    rest = tokens[2:]
    if not rest:
        return show(session, None)
    if len(rest) == 2 and rest[0].text.upper() == "LIKE" and rest[1].token_type == TokenType.STRING:
        return show(session, rest[1].text)
    raise SqlError("SQL compilation error: SHOW VARIABLES takes only LIKE '<pattern>'", errno=1003, sqlstate="42000")


_OWN = re.compile(r"\s*(?:UNSET|SHOW\s+VARIABLES)\b", re.IGNORECASE)


def _unset(session: Session, tokens: list[Token]) -> Rows:
    """UNSET: https://docs.snowflake.com/en/sql-reference/sql/unset."""
    if len(tokens) >= 3 and tokens[0].text == "(" and tokens[-1].text == ")":
        names, well_formed = tokens[1:-1:2], all(t.text == "," for t in tokens[2:-1:2])
    else:
        names, well_formed = tokens, len(tokens) == 1
    if not (well_formed and names and all(t.token_type in _NAMES for t in names)):
        raise SqlError("SQL compilation error: UNSET <name> or UNSET (<name>, ...)", errno=1003, sqlstate="42000")
    folded = [t.text if t.token_type == TokenType.IDENTIFIER else t.text.upper() for t in names]
    for name in folded:
        if name not in session.variables:
            raise missing(name)
    for name in folded:
        del session.variables[name]
    return Rows(columns=["status"], rows=[(_DONE,)], message=_DONE)


_NAMES = (TokenType.VAR, TokenType.IDENTIFIER)


def show(session: Session, like: str | None) -> Rows:
    """SHOW VARIABLES: https://docs.snowflake.com/en/sql-reference/sql/show-variables
    (LIKE matches names case-insensitively, with % and _)."""
    pattern = None
    if like is not None:
        pattern = re.compile(
            "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in like), re.I | re.S
        )
    rows: list[tuple[object, ...]] = [
        (id(session) % 10**12, v.created_on, v.updated_on, v.name, _shown(v.value), _type(v.value), "")
        for v in sorted(session.variables.values(), key=lambda v: v.created_on)
        if pattern is None or pattern.fullmatch(v.name)
    ]
    return Rows(columns=list(_SHOW_COLUMNS), rows=rows)


def set_variables(session: Session, stmt: exp.Set, text: str, params: Sequence[object] | None) -> Rows:
    """SET: https://docs.snowflake.com/en/sql-reference/sql/set. Every expression is
    evaluated (with the variables as they were) before any variable is set."""
    scoped = _SCOPED.match(text)
    if scoped:  # sqlglot drops the word; Snowflake has no such form
        raise UnsupportedSqlError(
            f"SET {scoped.group(1).upper()} is not Snowflake SQL: SET <name> = <expr> sets a variable"
        )
    assigned: list[tuple[str, object]] = []
    for item in stmt.expressions:
        eq = item.this if isinstance(item, exp.SetItem) else item
        if not isinstance(eq, exp.EQ) or (item.args.get("kind") or "VARIABLE").upper() != "VARIABLE":
            raise UnsupportedSqlError(f"SET {item.sql(dialect='snowflake')}: not a Snowflake session variable")
        targets = eq.this.expressions if isinstance(eq.this, exp.Tuple) else [eq.this]
        names = [_target(session, t) for t in targets]
        value = eq.expression
        if isinstance(value, exp.Tuple):
            query: exp.Expr = exp.select(*value.expressions)
        elif len(names) > 1 and isinstance(value, exp.Subquery):
            query = value.this
        else:
            query = exp.select(value)
        values = _evaluate(session, query, params)
        if len(values) != len(names):
            raise SqlError(
                f"SQL compilation error: SET of {len(names)} variables with {len(values)} values",
                errno=1003,
                sqlstate="42000",
            )
        assigned.extend(zip(names, values, strict=True))
    now = session.now()
    for name, value in assigned:
        literal(value)  # a value the engine cannot give back as a literal is refused now
        old = session.variables.get(name)
        session.variables[name] = Variable(name, value, old.created_on if old else now, now)
    return Rows(columns=["status"], rows=[(_DONE,)], message=_DONE)


_SCOPED = re.compile(r"\s*SET\s+(GLOBAL|SESSION|LOCAL)\s+[^\s=]", re.IGNORECASE)


def _target(session: Session, node: exp.Expr) -> str:
    ident = node.this if isinstance(node, exp.Column) and not node.table else None
    if not isinstance(ident, exp.Identifier):
        raise SqlError(f"SQL compilation error: SET {node.sql(dialect='snowflake')}: not a variable name")
    name = fold(ident)
    assert name is not None
    if name.upper() in _RESERVED:
        raise SqlError(f"SQL compilation error: {name} is reserved and cannot be a variable name", errno=1003)
    if len(name) > 256:
        raise SqlError("SQL compilation error: a variable name is limited to 256 characters", errno=1003)
    if name.lower() in _settings(session):
        raise UnsupportedSqlError(
            f"SET {name.lower()}: the name of a DuckDB setting; the local engine lets SQL set none of them"
            " (as a Snowflake session variable, choose another name)"
        )
    return name


def _settings(session: Session) -> frozenset[str]:
    global _duckdb_settings
    if _duckdb_settings is None:
        names: set[str] = set()
        for name, aliases in session.con.execute("SELECT name, aliases FROM duckdb_settings()").fetchall():
            names.add(str(name).lower())
            names.update(str(a).lower() for a in aliases or [])
        _duckdb_settings = frozenset(names)
    return _duckdb_settings


def _evaluate(session: Session, query: exp.Expr, params: Sequence[object] | None) -> tuple[object, ...]:
    with session.transaction():
        sql, bound, _ = resolver.translate(session, query, params)
        found = session.con.execute(sql, bound or None).fetchmany(2)
    if len(found) > 1:
        raise SqlError("Single-row subquery returns more than one row.", errno=1003, sqlstate="42000")
    if not found:
        return (None,) * len(query.selects) if isinstance(query, exp.Query) else (None,)
    return tuple(found[0])


def substitute(expr: exp.Expr, session: Session) -> exp.Expr:
    """``$name`` → the variable's value as a typed literal; ``IDENTIFIER($name)`` → the
    name it holds. Positional ``$1`` (a staged file's columns) is left as it is.

    Raises:
        SqlError: an undefined variable (Snowflake's wording).
    """
    if expr.find(exp.Parameter) is None:
        return expr
    select = expr
    while isinstance(select, exp.SetOperation):
        select = select.this
    if isinstance(select, exp.Select):  # Snowflake names a result column as written: $TS1
        for p in list(select.expressions):
            if not isinstance(p, exp.Alias | exp.Column | exp.DynamicIdentifier) and p.find(exp.Parameter):
                p.replace(exp.alias_(p.copy(), p.sql(dialect="snowflake").upper(), quoted=True))

    def value(param: exp.Parameter) -> object:
        name = fold(param.this) if isinstance(param.this, exp.Identifier) else param.name.upper()
        assert name is not None
        var = session.variables.get(name)
        if var is None:
            raise missing(name)
        return var.value

    def each(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.Parameter) and not isinstance(node.this, exp.Literal):
            held = value(node)
            if isinstance(node.parent, exp.DynamicIdentifier):
                if not isinstance(held, str):
                    raise SqlError(
                        f"IDENTIFIER(${node.name}): the variable holds a {_type(held).upper()} value, not a name"
                    )
                return exp.Literal.string(held)  # as IDENTIFIER('<name>')
            return literal(held)
        if (
            isinstance(node, exp.Table)
            and isinstance(node.this, exp.DynamicIdentifier)
            and isinstance(node.this.this, exp.Parameter)
        ):
            held = value(node.this.this)
            if not isinstance(held, str):
                raise SqlError(
                    f"IDENTIFIER(${node.this.this.name}): the variable holds a {_type(held).upper()} value, not a name"
                )
            name = exp.to_table(held, dialect="snowflake")
            for part in ("this", "db", "catalog"):
                ident = name.args.get(part)
                if isinstance(ident, exp.Identifier):
                    node.set(part, exp.to_identifier(fold(ident), quoted=ident.quoted))
        return node

    return expr.transform(each, copy=False)


def literal(value: object) -> exp.Expr:
    """A value as a literal of its type."""
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Boolean(this=value)
    if isinstance(value, int):
        return exp.Literal.number(value)
    if isinstance(value, float):
        return (
            exp.Literal.number(repr(value))
            if math.isfinite(value)
            else exp.cast(exp.Literal.string(str(value)), "DOUBLE")
        )
    if isinstance(value, Decimal):
        exponent = value.as_tuple().exponent
        scale = -exponent if isinstance(exponent, int) and exponent < 0 else 0
        return exp.cast(exp.Literal.string(format(value, "f")), exp.DataType.build(f"DECIMAL(38, {scale})"))
    if isinstance(value, str):
        return exp.Literal.string(value)
    if isinstance(value, datetime):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIMESTAMPTZ" if value.tzinfo else "TIMESTAMP")
    if isinstance(value, date):
        return exp.cast(exp.Literal.string(value.isoformat()), "DATE")
    if isinstance(value, time):
        return exp.cast(exp.Literal.string(value.isoformat()), "TIME")
    raise UnsupportedSqlError(
        f"a session variable holding a {type(value).__name__} value is not supported by the local engine"
        " (numbers, strings, booleans, dates and timestamps are)"
    )


def _type(value: object) -> str:
    """The type SHOW VARIABLES names."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | Decimal):
        return "fixed"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    if isinstance(value, datetime):
        return "timestamp_ltz" if value.tzinfo else "timestamp_ntz"
    if isinstance(value, date):
        return "date"
    if isinstance(value, time):
        return "time"
    return type(value).__name__.lower()


def _shown(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
