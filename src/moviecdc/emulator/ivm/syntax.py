"""Pure helpers over sqlglot trees of translated (DuckDB) queries, and the compiler's errors."""

from __future__ import annotations

from collections.abc import Callable

import sqlglot
from sqlglot import exp

SIGN = "_mc_sign"
ADDITIVE = (exp.Sum, exp.Count)


class NotIncremental(Exception):
    """The query (or this refresh) cannot be maintained incrementally; ``args[0]`` says why."""

    @property
    def reason(self) -> str:
        return str(self.args[0])


class NeedsFull(NotIncremental):
    """The query is maintainable, but not from the changes of this particular refresh."""


def sql(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb")


def parse(text: str) -> exp.Expr:
    """A translated query (DuckDB SQL) as a sqlglot tree."""
    return sqlglot.parse_one(text, read="duckdb")


def clauses(select: exp.Select, clause: str) -> list[exp.Expr]:
    """The SELECT list and one more clause (QUALIFY, HAVING) of a block."""
    return [p for p in [*select.expressions, select.args.get(clause)] if p is not None]


def windows(select: exp.Select) -> list[exp.Window]:
    found = (w for part in clauses(select, "qualify") for w in part.find_all(exp.Window))
    return [w for w in found if isinstance(w.this, exp.Expr)]


def aggregates(select: exp.Select) -> list[exp.AggFunc]:
    """Aggregate calls of a block, not counting those used as window functions."""
    found = (a for part in clauses(select, "having") for a in part.find_all(exp.AggFunc))
    return [a for a in found if a.find_ancestor(exp.Window) is None]


def from_items(select: exp.Select) -> tuple[exp.Expr | None, list[exp.Join]]:
    frm = select.args.get("from_") or select.args.get("from")
    return (frm.this if frm is not None else None), list(select.args.get("joins") or [])


def alias(item: exp.Expr) -> str:
    if isinstance(item, exp.Table | exp.Subquery) and item.alias:
        return item.alias
    if isinstance(item, exp.Table):
        return item.name
    raise NotIncremental("a subquery in FROM needs an alias")


def passes(select: exp.Select, name: str) -> str | None:
    """The output column of ``select`` that is its FROM table's column ``name`` unchanged."""
    main, joins = from_items(select)
    main_alias = alias(main).lower() if main is not None else ""
    for e in select.expressions:
        inner = e.this if isinstance(e, exp.Alias) else e
        if (
            isinstance(inner, exp.Column)
            and not inner.is_star
            and inner.name.lower() == name.lower()
            and (inner.table.lower() == main_alias or (not inner.table and not joins))
        ):
            return e.alias_or_name
    for e in select.expressions:
        star = e if isinstance(e, exp.Star) else e.this if isinstance(e, exp.Column) and e.is_star else None
        if not isinstance(star, exp.Star) or star.args.get("replace") or star.args.get("rename"):
            continue
        if isinstance(e, exp.Star) and joins:
            continue  # other tables' columns could take the name
        if isinstance(e, exp.Column) and e.table.lower() != main_alias:
            continue
        if name.lower() not in {x.name.lower() for x in star.args.get("except_") or []}:
            return name
    return None


def among(keys: list[exp.Expr], touched: str) -> str:
    """Condition: the row's ``keys`` are a row of the touched-keys table ``touched`` (NULL-safe)."""
    cond = " AND ".join(f"_k._mc_k{i} IS NOT DISTINCT FROM ({sql(k)})" for i, k in enumerate(keys))
    return f"EXISTS (SELECT 1 FROM {touched} AS _k WHERE {cond})"


def columns_used(select: exp.Select) -> set[str] | None:
    """Lower-cased names of the columns a block reads, or None when it reads ``*``."""
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star) for e in select.expressions):
        return None
    return {c.name.lower() for c in select.find_all(exp.Column)}


def transform_top(node: exp.Expr, fn: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """Like ``node.transform(fn)`` but does not descend into what ``fn`` replaced."""
    replaced = fn(node)
    if replaced is not node:
        return replaced
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expr):
            new = transform_top(value, fn)
            if new is not value:
                node.set(key, new)
        elif isinstance(value, list):
            node.set(key, [transform_top(v, fn) if isinstance(v, exp.Expr) else v for v in value])
    return node
