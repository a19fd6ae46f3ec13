"""The structure of a dynamic table's translated query: its blocks and CTEs, the tables
it reads, and the check that every operator in it has a delta rule."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from moviecdc.dialect.idents import fold
from moviecdc.emulator.catalog import Key
from moviecdc.emulator.ivm.syntax import ADDITIVE, NotIncremental, aggregates, alias, from_items, sql, windows


class Query:
    """A translated query, its CTEs taken apart, checked to be maintainable.

    Raises NotIncremental (with the reason) for an operator without a delta rule. Never
    changed after construction: planners copy the nodes they rewrite.
    """

    def __init__(self, query: exp.Query, dt_key: Key) -> None:
        query = query.copy()
        with_ = query.args.get("with_") or query.args.get("with")
        self.ctes: dict[str, exp.Query] = {}
        if with_ is not None:
            if with_.args.get("recursive"):
                raise NotIncremental("WITH RECURSIVE is not supported for incremental refresh")
            for cte in with_.expressions:
                self.ctes[cte.alias.lower()] = cte.this
            query.set("with_" if "with_" in query.args else "with", None)
        for node in [query, *self.ctes.values()]:
            for sub in node.find_all(exp.With):
                if sub is not node.args.get("with_"):
                    raise NotIncremental("a WITH clause inside a subquery is not supported for incremental refresh")
        self.root: exp.Query = query
        self.dt_key = dt_key
        self.originals = frozenset(id(n) for top in [query, *self.ctes.values()] for n in top.walk())
        self.check(self.root)

    def resolve(self, table: exp.Table) -> Key:
        """(schema, name) of a table the query reads: the translated query names each one
        with its schema; an unqualified name is in the dynamic table's own schema."""
        obj = fold(table.this if isinstance(table.this, exp.Identifier) else table.name)
        assert obj is not None
        return (fold(table.args.get("db")) or self.dt_key[0], obj)

    def cte(self, item: exp.Expr) -> exp.Query | None:
        """The CTE that a FROM item names, if it names one."""
        if isinstance(item, exp.Table) and not item.db and item.name.lower() in self.ctes:
            return self.ctes[item.name.lower()]
        return None

    def blocks(self) -> Iterator[exp.Select]:
        """Every SELECT block of the query and its CTEs."""
        for node in [self.root, *self.ctes.values()]:
            yield from node.find_all(exp.Select)

    def check(self, node: exp.Expr) -> None:
        """Raise NotIncremental unless every operator in ``node`` has a delta rule."""
        if isinstance(node, exp.Subquery):
            return self.check(node.this)
        if isinstance(node, exp.Table):
            cte = self.cte(node)
            if cte is not None:
                return self.check(cte)
            if isinstance(node.this, exp.Anonymous):
                raise NotIncremental("table functions are not supported for incremental refresh")
            return None
        if isinstance(node, exp.Union):
            if node.args.get("distinct"):
                raise NotIncremental("UNION (without ALL) is not supported for incremental refresh")
            self.check(node.left)
            self.check(node.right)
            return None
        if isinstance(node, exp.SetOperation):
            raise NotIncremental(f"Unsupported query operator type: SetOperation[{type(node).__name__.upper()}]")
        if not isinstance(node, exp.Select):
            raise NotIncremental(f"{type(node).__name__} is not supported for incremental refresh")
        if node.args.get("limit") or node.args.get("offset"):
            raise NotIncremental("LIMIT is not supported for incremental refresh")
        main, joins = from_items(node)
        if main is None:
            return None
        for j in joins:
            side = (j.args.get("side") or "").upper()
            kind = (j.args.get("kind") or "").upper()
            if side in {"RIGHT", "FULL"} or kind in {"SEMI", "ANTI", "ASOF"}:
                raise NotIncremental(f"{side or kind} JOIN is not supported for incremental refresh")
        for item in [main, *[j.this for j in joins]]:
            if isinstance(item, exp.Unnest | exp.Lateral):
                raise NotIncremental("LATERAL and UNNEST are not supported for incremental refresh")
            self.check(item)
        wins = windows(node)
        aggs = aggregates(node)
        grouped = bool(node.args.get("group")) or bool(aggs)
        if wins and node.args.get("distinct"):
            raise NotIncremental("SELECT DISTINCT with window functions is not supported for incremental refresh")
        if wins and grouped:
            raise NotIncremental("window functions over aggregates are not supported for incremental refresh")
        if wins:
            self.partition(node, wins)
        if grouped:
            group = node.args.get("group")
            for g in group.expressions if group else []:
                if isinstance(g, exp.Literal):
                    raise NotIncremental("GROUP BY <position> is not supported for incremental refresh")
            if group and (group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets")):
                raise NotIncremental("ROLLUP, CUBE and GROUPING SETS are not supported for incremental refresh")
        return None

    def partition(self, select: exp.Select, wins: list[exp.Window]) -> list[exp.Expr]:
        """The one PARTITION BY key of a block's window functions (NotIncremental if not one)."""
        keys = {tuple(sql(p) for p in (w.args.get("partition_by") or [])) for w in wins}
        if len(keys) != 1 or not next(iter(keys)):
            raise NotIncremental("window functions must all be partitioned by the same key for incremental refresh")
        parts = list(wins[0].args.get("partition_by") or [])
        main, joins = from_items(select)
        if joins:
            main_alias = alias(main) if main is not None else ""
            for p in parts:
                for col in p.find_all(exp.Column):
                    if col.table.lower() != main_alias.lower():
                        raise NotIncremental(
                            "with joins, window partition keys must name columns of the FROM table"
                            " (qualified) for incremental refresh"
                        )
        return parts

    def relations(self, node: exp.Expr, *, joins: bool) -> Iterator[exp.Expr]:
        """Base tables and SELECT blocks under ``node``, inputs before the blocks reading
        them, CTEs inlined; through joined relations too when ``joins``."""
        if isinstance(node, exp.Subquery):
            yield from self.relations(node.this, joins=joins)
        elif isinstance(node, exp.Table):
            cte = self.cte(node)
            yield from self.relations(cte, joins=joins) if cte is not None else [node]
        elif isinstance(node, exp.Union):
            yield from self.relations(node.left, joins=joins)
            yield from self.relations(node.right, joins=joins)
        elif isinstance(node, exp.Select):
            main, joined = from_items(node)
            for item in [main, *([j.this for j in joined] if joins else [])]:
                if item is not None:
                    yield from self.relations(item, joins=joins)
            yield node

    def group_blocks(self) -> list[exp.Select]:
        """Additive GROUP BY blocks, in a stable order (their state tables are numbered by it)."""
        out: list[exp.Select] = []
        for node in self.relations(self.root, joins=True):
            if isinstance(node, exp.Select) and is_additive(node) and all(node is not o for o in out):
                out.append(node)
        return out


def is_additive(select: exp.Select) -> bool:
    """A GROUP BY (or global aggregate) block with only SUM and COUNT, none DISTINCT."""
    aggs = aggregates(select)
    if not (aggs or select.args.get("group")) or select.args.get("distinct"):
        return False
    for a in aggs:
        if not isinstance(a, ADDITIVE) or a.args.get("distinct") or isinstance(a.this, exp.Distinct):
            return False
    return True
