"""Query analysis both targets need: the tables a query reads, whether Snowflake can
refresh it incrementally (reference 3.4), and which DOWNSTREAM dynamic tables nothing reads."""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Set
from typing import TypeVar

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError


def base_tables(expr: exp.Expr) -> list[exp.Table]:
    """The tables a statement reads or writes, without its CTE names and table functions."""
    ctes = {(c.alias or "").upper() for c in expr.find_all(exp.CTE)}
    return [
        t
        for t in expr.find_all(exp.Table)
        if isinstance(t.this, exp.Identifier) and not (t.args.get("db") is None and t.name.upper() in ctes)
    ]


def table_names(sql: str) -> set[str]:
    """Upper-case names of the tables ``sql`` references; empty if it does not parse."""
    try:
        expr = sqlglot.parse_one(sql, read="snowflake")
    except ParseError:
        return set()
    return {t.name.upper() for t in base_tables(expr)}


_NONDET_FUNCS = {"RANDOM", "UUID_STRING", "SEQ1", "SEQ2", "SEQ4", "SEQ8", "RANDSTR", "UNIFORM"}
_TIME_FUNCS = (exp.CurrentTimestamp, exp.CurrentDate, exp.CurrentTime)


def analyze_query(query: exp.Expr) -> tuple[bool, str | None]:
    """Can Snowflake maintain this query incrementally? (reference 3.4).

    Returns:
        (incremental, reason): the reason a FULL refresh is needed, else None.
    """
    if query.find(exp.Limit) is not None:
        return False, "LIMIT is not supported for incremental refresh"
    for op, name in ((exp.Except, "EXCEPT"), (exp.Intersect, "INTERSECT")):
        if query.find(op) is not None:
            return False, f"Unsupported query operator type: SetOperation[{name}]"
    for cte in query.find_all(exp.With):
        if cte.args.get("recursive"):
            return False, "WITH RECURSIVE is not supported for incremental refresh"
    for sub in query.find_all(exp.Subquery, exp.Exists):
        parent = sub.parent
        while parent is not None and not isinstance(parent, exp.From | exp.Join | exp.CTE):
            if isinstance(parent, exp.Where | exp.Select | exp.Having):
                return False, "Subqueries outside FROM are not supported for incremental refresh"
            parent = parent.parent
    for fn in query.find_all(exp.Anonymous, exp.Rand):
        name = "RANDOM" if isinstance(fn, exp.Rand) else str(fn.this).upper()
        if name in _NONDET_FUNCS:
            return (
                False,
                f"Non-deterministic function {name} is not supported for incremental refresh",
            )
    for fn in query.find_all(*_TIME_FUNCS):
        parent = fn.parent
        in_filter = False
        while parent is not None:
            if isinstance(parent, exp.Where | exp.Having | exp.Qualify):
                in_filter = True
                break
            parent = parent.parent
        if not in_filter:
            return False, (
                f"{fn.sql(dialect='snowflake').upper()} outside WHERE/HAVING/QUALIFY"
                " is not supported for incremental refresh"
            )
    for group in query.find_all(exp.Cube, exp.Rollup, exp.GroupingSets):
        return False, f"{type(group).__name__.upper()} is not supported for incremental refresh"
    return True, None


K = TypeVar("K", bound=Hashable)


def unread_downstream(lags: Mapping[K, int | None], inputs: Mapping[K, Set[K]]) -> list[K]:
    """The dynamic tables with ``TARGET_LAG = DOWNSTREAM`` that no dynamic table reads.

    Snowflake refreshes such a table once, at creation, and never again (reference 3.2).

    Args:
        lags: each dynamic table's target lag in seconds, None for DOWNSTREAM, by name.
        inputs: the names each dynamic table reads, by name.
    """
    read: set[K] = set().union(*inputs.values()) if inputs else set()
    return [name for name, lag in lags.items() if lag is None and name not in read]


def effective_lag(name: K, lags: Mapping[K, int | None], inputs: Mapping[K, Set[K]]) -> int | None:
    """Seconds of lag a dynamic table must meet: its own, or for DOWNSTREAM the smallest of
    its readers' (reference 3.2). None: nothing will ever refresh it on a schedule.

    Args:
        name: the table; ``lags`` and ``inputs`` as for :func:`unread_downstream`, holding
            only the tables that refresh on a schedule (suspended ones left out).
    """

    def visit(key: K, seen: frozenset[K]) -> int | None:
        if key not in lags:
            return None
        own = lags[key]
        if own is not None:
            return own
        found = [
            lag
            for other, read in inputs.items()
            if key in read and other not in seen and (lag := visit(other, seen | {key})) is not None
        ]
        return min(found) if found else None

    return visit(name, frozenset())
