"""Incremental maintenance of dynamic tables (reference 3.3-3.4).

A dynamic table's query (already translated to DuckDB SQL) is compiled into SQL that
computes its *delta*: the rows to add and remove, as a signed multiset (a ``_mc_sign``
column of +1 or -1), from the changes its inputs went through since the last refresh.
Every supported operator has an exact rule:

* a base table: its net change set from the change log (before-images -1, after-images +1);
* projection, filter and joins to inputs that did not change: the same SELECT over the
  delta of its one changing FROM source;
* UNION ALL: the deltas of the branches, one after the other;
* window functions and QUALIFY, all partitioned by the same key: the partitions the
  changes touch are recomputed before (-1) and after (+1) the changes;
* GROUP BY with only SUM and COUNT: a state table per group (sums, non-null counts and a
  row count) is adjusted by the delta alone, so a refresh never re-reads old history;
* GROUP BY with other aggregates, and SELECT DISTINCT: the groups the changes touch are
  recomputed before (-1) and after (+1).

The root delta is netted per distinct row and applied to the table's storage (see
``storage.apply_net``). A query whose rows each come from one window partition, or one
group of an additive GROUP BY, and carry its key (projections, filters and joins above
it) is *keyed*: a refresh replaces the stored rows of the touched keys with the query's
rows for them now, with no "before" side at all (``Compiler.keyed``). A keyed query
keeping the first row per partition reads only the new rows when they are the only
changes and each sorts first (``Compiler.first_per_key``).

A query with any other operator (LIMIT, EXCEPT, a RIGHT join, a nested WITH, ...) is
refused with the reason (``NotIncremental``): error 002711 for REFRESH_MODE = INCREMENTAL,
FULL with that ``refresh_mode_reason`` for AUTO. Changes that a maintainable query still
cannot take incrementally (to a table on the joined side) raise ``NeedsFull``: that
refresh is FULL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp

from moviecdc.dialect.idents import fold
from moviecdc.emulator.catalog import SCHEMA, Key

SIGN = "_mc_sign"
ADDITIVE = (exp.Sum, exp.Count)


class NotIncremental(Exception):
    """The query (or this refresh) cannot be maintained incrementally; ``args[0]`` says why."""

    @property
    def reason(self) -> str:
        return str(self.args[0])


class NeedsFull(NotIncremental):
    """The query is maintainable, but not from the changes of this particular refresh."""


def q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql(node: exp.Expr) -> str:
    return node.sql(dialect="duckdb")


def _parse(sql: str) -> exp.Expr:
    return sqlglot.parse_one(sql, read="duckdb")


@dataclass
class GroupState:
    """The stored aggregate state of one additive GROUP BY block."""

    table: str
    keys: list[str]  # SQL of the group expressions, over the block's FROM
    sums: list[tuple[str, str]]  # (state column, SQL of the argument) for SUM
    counts: list[tuple[str, str]]  # (state column, SQL of the argument): COUNT and SUM's non-nulls


@dataclass
class Keyed:
    """A query whose rows each come from one partition of a window over a base table, or
    one group of an additive GROUP BY, and carry its key: a refresh replaces the rows of
    the touched keys."""

    window: exp.Select  # the window block (or the GROUP BY block)
    parts: list[exp.Column]  # the PARTITION BY (GROUP BY) columns, of the block's FROM
    outputs: list[str]  # the query's output column holding each of them
    grouped: bool = False  # keyed by the groups of an additive GROUP BY


@dataclass
class Inputs:
    """How to read each changed input at this refresh (filled in by the caller)."""

    changed: set[Key]
    delta: Callable[[Key], str]  # SQL: the table's columns + _mc_sign
    old: Callable[[Key], str]  # SQL: the table as it was at the last refresh
    # (key, alias, condition, temp, columns) -> SQL of the rows meeting the condition now and
    # at the last refresh, read from the table once; temp(sql) materialises a relation;
    # columns are those the query reads (None: all)
    restricted: Callable[[Key, str, str, Callable[[str], str], set[str] | None], tuple[str, str]] | None = None
    columns: Callable[[str], list[str]] | None = None  # the column names of a query, asked of the engine


def state_table(dt_key: Key, index: int) -> str:
    digest = hashlib.sha1(f"{dt_key[0]}.{dt_key[1]}".encode()).hexdigest()[:12]
    return f'{SCHEMA}."dt_{digest}_g{index}"'


def _clauses(select: exp.Select, clause: str) -> list[exp.Expr]:
    """The SELECT list and one more clause (QUALIFY, HAVING) of a block."""
    return [p for p in [*select.expressions, select.args.get(clause)] if p is not None]


def _windows(select: exp.Select) -> list[exp.Window]:
    found = (w for part in _clauses(select, "qualify") for w in part.find_all(exp.Window))
    return [w for w in found if isinstance(w.this, exp.Expr)]


def _aggregates(select: exp.Select) -> list[exp.AggFunc]:
    """Aggregate calls of a block, not counting those used as window functions."""
    found = (a for part in _clauses(select, "having") for a in part.find_all(exp.AggFunc))
    return [a for a in found if a.find_ancestor(exp.Window) is None]


def _passes(select: exp.Select, name: str) -> str | None:
    """The output column of ``select`` that is its FROM table's column ``name`` unchanged."""
    main, joins = _from_items(select)
    alias = _alias(main).lower() if main is not None else ""
    for e in select.expressions:
        inner = e.this if isinstance(e, exp.Alias) else e
        if (
            isinstance(inner, exp.Column)
            and not inner.is_star
            and inner.name.lower() == name.lower()
            and (inner.table.lower() == alias or (not inner.table and not joins))
        ):
            return e.alias_or_name
    for e in select.expressions:
        star = e if isinstance(e, exp.Star) else e.this if isinstance(e, exp.Column) and e.is_star else None
        if not isinstance(star, exp.Star) or star.args.get("replace") or star.args.get("rename"):
            continue
        if isinstance(e, exp.Star) and joins:
            continue  # other tables' columns could take the name
        if isinstance(e, exp.Column) and e.table.lower() != alias:
            continue
        if name.lower() not in {x.name.lower() for x in star.args.get("except_") or []}:
            return name
    return None


def _among(keys: list[exp.Expr], aff: str) -> str:
    """Condition: the row's ``keys`` are a row of the touched-keys table ``aff`` (NULL-safe)."""
    cond = " AND ".join(f"_k._mc_k{i} IS NOT DISTINCT FROM ({_sql(k)})" for i, k in enumerate(keys))
    return f"EXISTS (SELECT 1 FROM {aff} AS _k WHERE {cond})"


def _columns_used(select: exp.Select) -> set[str] | None:
    """Lower-cased names of the columns a block reads, or None when it reads ``*``."""
    if any(isinstance(e, exp.Star) or (isinstance(e, exp.Column) and e.is_star) for e in select.expressions):
        return None
    return {c.name.lower() for c in select.find_all(exp.Column)}


def _from_items(select: exp.Select) -> tuple[exp.Expr | None, list[exp.Join]]:
    frm = select.args.get("from_") or select.args.get("from")
    return (frm.this if frm is not None else None), list(select.args.get("joins") or [])


def _memo(method: Callable[..., Any]) -> Callable[..., Any]:
    """Cache a Compiler method's result per arguments: the query never changes."""

    def wrapper(self: Compiler, *args: Any) -> Any:
        key = (method.__name__, *args)
        if key not in self._memo:
            self._memo[key] = method(self, *args)
        return self._memo[key]

    wrapper.__doc__ = method.__doc__
    wrapper.__name__ = method.__name__
    return wrapper


def _alias(item: exp.Expr) -> str:
    if isinstance(item, exp.Table | exp.Subquery) and item.alias:
        return item.alias
    if isinstance(item, exp.Table):
        return item.name
    raise NotIncremental("a subquery in FROM needs an alias")


class Compiler:
    """Turns a translated query into delta, old-state and group-state SQL."""

    def __init__(
        self,
        query: exp.Query,
        dt_key: Key,
    ) -> None:
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
        self.root = query
        self._originals = {id(n) for top in [query, *self.ctes.values()] for n in top.walk()}
        self._replace: dict[int, str] = {}  # node -> SQL to render in its place
        self._keyed: Keyed | None = None
        self._keyed_known = False
        self._rendered: dict[tuple[int, bool], str] = {}
        self._memo: dict[tuple[object, ...], Any] = {}
        self.dt_key = dt_key
        self.states: dict[int, GroupState] = {}
        self.prelude: list[str] = []
        self._holes: dict[str, str] = {}
        self._tmp = 0
        # (changed input, its log) pairs -> (setup statements, delta query, temp count);
        # None: such changes need a full refresh
        self.plans: dict[object, Any] = {}
        self._check(self.root)

    # ------------------------------------------------------------- structure
    def resolve(self, table: exp.Table) -> Key:
        """(schema, name) of a table the query reads: the translated query names each one
        with its schema; an unqualified name is in the dynamic table's own schema."""
        obj = fold(table.this if isinstance(table.this, exp.Identifier) else table.name)
        assert obj is not None
        return (fold(table.args.get("db")) or self.dt_key[0], obj)

    def _cte(self, item: exp.Expr) -> exp.Query | None:
        if isinstance(item, exp.Table) and not item.db and item.name.lower() in self.ctes:
            return self.ctes[item.name.lower()]
        return None

    def _check(self, node: exp.Expr) -> None:
        """Raise NotIncremental unless every operator in ``node`` has a delta rule."""
        if isinstance(node, exp.Subquery):
            return self._check(node.this)
        if isinstance(node, exp.Table):
            cte = self._cte(node)
            if cte is not None:
                return self._check(cte)
            if isinstance(node.this, exp.Anonymous):
                raise NotIncremental("table functions are not supported for incremental refresh")
            return None
        if isinstance(node, exp.Union):
            if node.args.get("distinct"):
                raise NotIncremental("UNION (without ALL) is not supported for incremental refresh")
            self._check(node.left)
            self._check(node.right)
            return None
        if isinstance(node, exp.SetOperation):
            raise NotIncremental(f"Unsupported query operator type: SetOperation[{type(node).__name__.upper()}]")
        if not isinstance(node, exp.Select):
            raise NotIncremental(f"{type(node).__name__} is not supported for incremental refresh")
        if node.args.get("limit") or node.args.get("offset"):
            raise NotIncremental("LIMIT is not supported for incremental refresh")
        main, joins = _from_items(node)
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
            self._check(item)
        wins = _windows(node)
        aggs = _aggregates(node)
        grouped = bool(node.args.get("group")) or bool(aggs)
        if wins and node.args.get("distinct"):
            raise NotIncremental("SELECT DISTINCT with window functions is not supported for incremental refresh")
        if wins and grouped:
            raise NotIncremental("window functions over aggregates are not supported for incremental refresh")
        if wins:
            self._partition(node, wins)
        if grouped:
            group = node.args.get("group")
            for g in group.expressions if group else []:
                if isinstance(g, exp.Literal):
                    raise NotIncremental("GROUP BY <position> is not supported for incremental refresh")
            if group and (group.args.get("rollup") or group.args.get("cube") or group.args.get("grouping_sets")):
                raise NotIncremental("ROLLUP, CUBE and GROUPING SETS are not supported for incremental refresh")
        return None

    def _partition(self, select: exp.Select, wins: list[exp.Window]) -> list[exp.Expr]:
        keys = {tuple(_sql(p) for p in (w.args.get("partition_by") or [])) for w in wins}
        if len(keys) != 1 or not next(iter(keys)):
            raise NotIncremental("window functions must all be partitioned by the same key for incremental refresh")
        parts = list(wins[0].args.get("partition_by") or [])
        main, joins = _from_items(select)
        if joins:
            alias = _alias(main) if main is not None else ""
            for p in parts:
                for col in p.find_all(exp.Column):
                    if col.table.lower() != alias.lower():
                        raise NotIncremental(
                            "with joins, window partition keys must name columns of the FROM table"
                            " (qualified) for incremental refresh"
                        )
        return parts

    def _relations(self, node: exp.Expr, *, joins: bool) -> Iterator[exp.Expr]:
        """Base tables and SELECT blocks under ``node``, inputs before the blocks reading
        them, CTEs inlined; through joined relations too when ``joins``."""
        if isinstance(node, exp.Subquery):
            yield from self._relations(node.this, joins=joins)
        elif isinstance(node, exp.Table):
            cte = self._cte(node)
            yield from self._relations(cte, joins=joins) if cte is not None else [node]
        elif isinstance(node, exp.Union):
            yield from self._relations(node.left, joins=joins)
            yield from self._relations(node.right, joins=joins)
        elif isinstance(node, exp.Select):
            main, joined = _from_items(node)
            for item in [main, *([j.this for j in joined] if joins else [])]:
                if item is not None:
                    yield from self._relations(item, joins=joins)
            yield node

    @_memo
    def delta_inputs(self) -> set[Key]:
        """Base tables whose changes a refresh reads: those reached through FROM, not JOIN.

        A change to a joined table makes that refresh a full one, so it needs no log.
        """
        return {self.resolve(t) for t in self._relations(self.root, joins=False) if isinstance(t, exp.Table)}

    @_memo
    def lookup_columns(self) -> set[tuple[Key, str]]:
        """(base table, column) pairs a refresh looks rows up by: one-column window keys.

        The engine keeps an index on each, so reading a touched partition does not scan
        the table.
        """
        found: set[tuple[Key, str]] = set()
        for node in [self.root, *self.ctes.values()]:
            for select in node.find_all(exp.Select):
                wins = _windows(select)
                main, _ = _from_items(select)
                if not wins or not isinstance(main, exp.Table) or self._cte(main) is not None:
                    continue
                parts = wins[0].args.get("partition_by") or []
                if len(parts) == 1 and isinstance(parts[0], exp.Column):
                    found.add((self.resolve(main), parts[0].name))
        return found

    @_memo
    def columns_read(self, key: Key) -> set[str] | None:
        """Lower-cased names of the columns of input ``key`` the query may read, or None
        when it may read any of them.

        Only a block that names the table in FROM or JOIN can read its columns; other
        blocks see them through that block's SELECT list. So it is every column named in
        those blocks, unless one selects ``*`` or joins NATURAL or USING.
        """
        names: set[str] = set()
        for node in [self.root, *self.ctes.values()]:
            for select in node.find_all(exp.Select):
                main, joins = _from_items(select)
                items = [main, *(j.this for j in joins)]
                if not any(isinstance(t, exp.Table) and self._cte(t) is None and self.resolve(t) == key for t in items):
                    continue
                for n in select.walk():
                    if isinstance(n, exp.Star) and isinstance(n.parent, exp.Count):
                        continue  # COUNT(*) reads no column
                    if isinstance(n, exp.Star) or (isinstance(n, exp.Column) and n.is_star):
                        return None
                    if isinstance(n, exp.Join) and (
                        n.args.get("using") or str(n.args.get("method") or "").upper() == "NATURAL"
                    ):
                        return None
                    if isinstance(n, exp.Column):
                        names.add(n.name.lower())
        return names

    def group_blocks(self) -> list[exp.Select]:
        """Additive GROUP BY blocks, in a stable order (their state tables are numbered by it)."""
        out: list[exp.Select] = []
        for node in self._relations(self.root, joins=True):
            if isinstance(node, exp.Select) and self._is_additive(node) and all(node is not o for o in out):
                out.append(node)
        return out

    @staticmethod
    def _is_additive(select: exp.Select) -> bool:
        aggs = _aggregates(select)
        if not (aggs or select.args.get("group")) or select.args.get("distinct"):
            return False
        for a in aggs:
            if not isinstance(a, ADDITIVE) or a.args.get("distinct") or isinstance(a.this, exp.Distinct):
                return False
        return True

    def build_states(self) -> None:
        for i, block in enumerate(self.group_blocks()):
            group = block.args.get("group")
            keys = [_sql(g) for g in (group.expressions if group else [])]
            sums: list[tuple[str, str]] = []
            counts: list[tuple[str, str]] = []
            for a in _aggregates(block):
                arg = a.this
                if isinstance(a, exp.Count):
                    if arg is None or isinstance(arg, exp.Star):
                        continue
                    counts.append((f"_c{len(counts)}", _sql(arg)))
                else:
                    sums.append((f"_s{len(sums)}", _sql(arg)))
                    counts.append((f"_c{len(counts)}", _sql(arg)))
            self.states[id(block)] = GroupState(state_table(self.dt_key, i), keys, sums, counts)

    # --------------------------------------------------------------- helpers
    def reset(self) -> None:
        """Forget the statements and placeholders of the last plan (rendered text is kept)."""
        self.prelude, self._tmp, self._holes = [], 0, {}

    def temp(self, sql: str) -> str:
        self._tmp += 1
        name = f"_mc_ivm_{self._tmp}"
        self.prelude.append(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")
        return name

    def _replace_from(self, select: exp.Select, sql: str) -> exp.Select:
        """A copy of ``select`` whose FROM relation is ``(sql) AS <same alias>``.

        The relation goes in as a placeholder table that ``render`` fills in last, so
        names inside ``sql`` are never mistaken for the query's own CTEs.
        """
        out = select.copy()
        main, _ = _from_items(out)
        assert main is not None
        main.replace(self._hole(sql, _alias(main)))
        return out

    def _fill(self, text: str) -> str:
        for _ in range(len(self._holes) + 1):  # a relation may itself hold placeholders
            if "__mc_rel_" not in text:
                break
            for hole, rel in self._holes.items():
                text = text.replace(hole, rel)
        return text

    # ------------------------------------------------------------ rendering
    def render(self, node: exp.Expr, env: Inputs | None, *, old: bool = False, from_state: bool = False) -> str:
        """Standalone SQL of ``node``: CTEs inlined; with ``old``, changed inputs as they were;
        with ``from_state``, additive GROUP BY blocks read from their state tables."""
        if isinstance(node, exp.Subquery):
            return self.render(node.this, env, old=old, from_state=from_state)
        if isinstance(node, exp.Table):
            cte = self._cte(node)
            if cte is not None:
                return self.render(cte, env, old=old, from_state=from_state)
            if old and env is not None and self.resolve(node) in env.changed:
                return env.old(self.resolve(node))
            return f"SELECT * FROM {_sql(node)}"
        if id(node) in self._replace:
            return self._replace[id(node)]
        if from_state and id(node) in self.states:
            return self.from_state(node, self.states[id(node)].table)  # type: ignore[arg-type]
        # the query's own nodes render the same way every time when nothing is replaced
        memo = (id(node), from_state) if not old and not self._replace and id(node) in self._originals else None
        if memo is not None and memo in self._rendered:
            return self._rendered[memo]
        copy = node.copy()
        originals = {id(c): o for c, o in zip(copy.walk(), node.walk(), strict=True)}

        def sub(n: exp.Expr) -> exp.Expr:
            if (
                isinstance(n, exp.Table)
                and isinstance(n.parent, exp.From | exp.Join)
                and not n.name.startswith("__mc_rel_")
            ):
                orig = originals.get(id(n), n)
                cte = self._cte(n)
                if cte is not None or (old and env is not None and self.resolve(n) in env.changed):
                    return self._hole(self.render(orig, env, old=old, from_state=from_state), _alias(n))
            if from_state and isinstance(n, exp.Subquery) and id(originals.get(id(n.this), n.this)) in self.states:
                inner = originals[id(n.this)]
                text = self.from_state(inner, self.states[id(inner)].table)  # type: ignore[arg-type]
                return self._hole(text, n.alias)
            return n

        text = self._fill(_sql(_transform_top(copy, sub)))
        if memo is not None:
            self._rendered[memo] = text
        return text

    def _hole(self, sql: str, alias: str) -> exp.Table:
        """A placeholder table for the relation ``(sql) AS alias``, filled in by ``_fill``."""
        hole = f"__mc_rel_{len(self._holes)}__"
        self._holes[hole] = f"({sql})"
        return exp.Table(this=exp.to_identifier(hole), alias=exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))

    # ---------------------------------------------------------- keyed rows
    def keyed(self) -> Keyed | None:
        """The query as a chain of projections, filters and joins over one window block
        partitioned by plain columns of a base table, each partition column passed up to
        the output unchanged; None for any other shape."""
        if not self._keyed_known:
            self._keyed, self._keyed_known = self._find_keyed(), True
        return self._keyed

    def _find_keyed(self) -> Keyed | None:
        chain: list[exp.Select] = []
        node: exp.Expr | None = self.root
        while True:
            if not isinstance(node, exp.Select) or node.args.get("distinct"):
                return None
            if id(node) in self.states:
                return self._group_keyed(node, chain)
            if _aggregates(node) or node.args.get("group"):
                return None
            main, _ = _from_items(node)
            if main is None:
                return None
            if _windows(node):
                break
            chain.append(node)
            node = (
                self._cte(main)
                if isinstance(main, exp.Table)
                else main.this
                if isinstance(main, exp.Subquery)
                else None
            )
        window = node
        main, _ = _from_items(window)
        if not isinstance(main, exp.Table) or self._cte(main) is not None:
            return None
        parts = self._partition(window, _windows(window))
        outputs = self._key_outputs(window, parts, chain)
        return Keyed(window, parts, outputs) if outputs is not None else None  # type: ignore[arg-type]

    def _group_keyed(self, block: exp.Select, chain: list[exp.Select]) -> Keyed | None:
        group = block.args.get("group")
        parts = list(group.expressions) if group is not None else []
        if not parts:
            return None  # a global aggregate: one row, nothing to key by
        outputs = self._key_outputs(block, parts, chain)
        return Keyed(block, parts, outputs, grouped=True) if outputs is not None else None  # type: ignore[arg-type]

    @staticmethod
    def _key_outputs(block: exp.Select, parts: list[exp.Expr], chain: list[exp.Select]) -> list[str] | None:
        """The query's output columns holding the key columns ``parts`` of ``block``
        unchanged through the ``chain`` of blocks above it; None if one is not passed up."""
        if not all(isinstance(p, exp.Column) for p in parts):
            return None
        outputs: list[str] = []
        for p in parts:
            name: str | None = _passes(block, p.name)
            for select in reversed(chain):
                if name is None:
                    break
                name = _passes(select, name)
            if name is None:
                return None
            outputs.append(name)
        return outputs

    @_memo
    def first_per_key(self) -> tuple[Key, str, bool] | None:
        """For a keyed query whose window block keeps the first row of each partition
        (``QUALIFY ROW_NUMBER() OVER (PARTITION BY ... ORDER BY c ...) = 1``, or RANK,
        DENSE_RANK, and no WHERE): (its table, the column ``c`` it orders by first, whether
        descending). None for any other shape.

        When new rows are the only changes and each sorts first on ``c`` against every
        older row, the first row of each touched partition is among the new rows: a
        refresh reads only them (``keyed_delta(..., newest_only=True)``).
        """
        shape = self.keyed()
        if shape is None or shape.grouped:
            return None
        window = shape.window
        main = _from_items(window)[0]
        cond = window.args.get("qualify")
        if window.args.get("where") is not None or cond is None or not isinstance(main, exp.Table):
            return None
        eq = cond.this
        if not isinstance(eq, exp.EQ):
            return None
        win, one = (eq.this, eq.expression) if isinstance(eq.this, exp.Window) else (eq.expression, eq.this)
        if not (isinstance(win, exp.Window) and isinstance(one, exp.Literal) and one.this == "1"):
            return None
        if not isinstance(win.this, exp.RowNumber | exp.Rank | exp.DenseRank) or win.this.expressions:
            return None
        if any(w is not win for w in _windows(window)):
            return None  # another window function reads the older rows
        order = win.args.get("order")
        first = order.expressions[0] if order is not None and order.expressions else None
        if not isinstance(first, exp.Ordered) or not isinstance(first.this, exp.Column):
            return None
        col = first.this
        if col.table and col.table.lower() != _alias(main).lower():
            return None
        return self.resolve(main), col.name, bool(first.args.get("desc"))

    def keyed_delta(self, env: Inputs, shape: Keyed, *, newest_only: bool = False) -> tuple[str, str] | None:
        """For a keyed query: (table of the touched keys, the query's rows for those keys now),
        or None when its input did not change.

        ``newest_only``: the caller checked the condition of ``first_per_key``, so the
        rows now come from the new rows alone, without reading the table."""
        for node in self._relations(self.root, joins=False):
            if isinstance(node, exp.Select):
                for j in _from_items(node)[1]:
                    if self.delta(j.this, env) is not None:
                        raise NeedsFull("an input joined to the FROM table changed")
        if shape.grouped:
            return self._group_keyed_delta(env, shape)
        main = _from_items(shape.window)[0]
        assert isinstance(main, exp.Table) and env.restricted is not None
        key = self.resolve(main)
        if key not in env.changed:
            return None
        parts: list[exp.Expr] = list(shape.parts)
        if newest_only:
            new_rows = self.temp(env.delta(key))
            aff = self._touched(parts, main, f"SELECT * FROM {new_rows}")
            now = f"SELECT * EXCLUDE ({SIGN}) FROM {new_rows}"
        else:
            aff = self._touched(parts, main, env.delta(key))
            now, _ = env.restricted(key, _alias(main), _among(parts, aff), self.temp, _columns_used(shape.window))
        window = self._replace_from(shape.window, now)
        window.set("order", None)
        return aff, self._root_with(shape.window, self.render(window, None))

    def _root_with(self, block: exp.Select, sql: str) -> str:
        """The query's SQL with ``block`` computed by ``sql`` instead."""
        self._replace = {id(block): sql}
        try:
            return self.render(self.root, None)
        finally:
            self._replace = {}

    def _group_keyed_delta(self, env: Inputs, shape: Keyed) -> tuple[str, str] | None:
        """Keyed by an additive GROUP BY: its state is brought up to date from its input's
        delta, and the touched groups are the keys."""
        block = shape.window
        main = _from_items(block)[0]
        assert main is not None
        d_main = self.delta(main, env)
        if d_main is None:
            return None
        dgroups, _, after = self._merge_state(block, d_main, self.states[id(block)], keep_before=False)
        keys = ", ".join(f"_g{i} AS _mc_k{i}" for i in range(len(shape.parts)))
        aff = self.temp(f"SELECT {keys} FROM {dgroups}")
        return aff, self._root_with(block, self.from_state(block, after))

    # --------------------------------------------------------------- deltas
    def delta(self, node: exp.Expr, env: Inputs) -> str | None:
        """SQL of ``node``'s delta (its columns + _mc_sign), or None when it did not change."""
        if isinstance(node, exp.Subquery):
            return self.delta(node.this, env)
        if isinstance(node, exp.Table):
            cte = self._cte(node)
            if cte is not None:
                return self.delta(cte, env)
            key = self.resolve(node)
            return env.delta(key) if key in env.changed else None
        if isinstance(node, exp.Union):
            parts = [d for d in (self.delta(node.left, env), self.delta(node.right, env)) if d is not None]
            if not parts:
                return None
            # a union's columns are named by its first branch, whichever branch changed
            assert env.columns is not None
            names = ", ".join(q(c) for c in [*env.columns(self.render(node.left, None)), SIGN])
            body = " UNION ALL ".join(f"SELECT * FROM ({p})" for p in parts)
            return f"SELECT * FROM ({body}) AS _u({names})"
        assert isinstance(node, exp.Select)
        main, joins = _from_items(node)
        if main is None:
            return None
        for j in joins:
            if self.delta(j.this, env) is not None:
                raise NeedsFull("an input joined to the FROM table changed")
        d_main = self.delta(main, env)
        if d_main is None:
            return None
        if _windows(node):
            return self._window_delta(node, main, d_main, env)
        if id(node) in self.states:
            return self._additive_delta(node, d_main, self.states[id(node)])
        if _aggregates(node) or node.args.get("group") or node.args.get("distinct"):
            return self._regroup_delta(node, main, d_main, env)
        return self._project_delta(node, d_main)

    def _project_delta(self, select: exp.Select, d_main: str) -> str:
        out = self._replace_from(select, d_main)
        main, _ = _from_items(out)
        alias = _alias(main) if main is not None else ""
        for e in out.expressions:
            star = e if isinstance(e, exp.Star) else (e.this if isinstance(e, exp.Column) else None)
            if isinstance(star, exp.Star) and (isinstance(e, exp.Star) or e.table.lower() == alias.lower()):
                star.set("except_", [*(star.args.get("except_") or []), exp.column(SIGN)])
        out.select(exp.column(SIGN, table=exp.to_identifier(alias, quoted=True)), copy=False)
        out.set("order", None)
        return self.render(out, None)

    def _signed(self, select: exp.Select, sign: int) -> str:
        out = select.copy()
        out.set("order", None)
        return self.render(out.select(exp.alias_(exp.Literal.number(sign), SIGN), copy=False), None)

    def _touched(self, keys: list[exp.Expr], main: exp.Expr, d_main: str) -> str:
        """A temp table of the distinct ``keys`` (as _mc_k0, ...) of the rows in ``d_main``."""
        cols = ", ".join(f"{_sql(k)} AS _mc_k{i}" for i, k in enumerate(keys))
        return self.temp(f"SELECT DISTINCT {cols} FROM ({d_main}) AS {q(_alias(main))}")

    def _restricted(self, select: exp.Select, rel_sql: str, keys: list[exp.Expr], aff: str) -> exp.Select:
        """``select`` over ``rel_sql`` restricted to rows whose ``keys`` are in table ``aff``."""
        main, _ = _from_items(select)
        assert main is not None
        alias = q(_alias(main))
        wrapped = f"SELECT {alias}.* FROM ({rel_sql}) AS {alias} WHERE {_among(keys, aff)}"
        return self._replace_from(select, wrapped)

    def _window_delta(self, select: exp.Select, main: exp.Expr, d_main: str, env: Inputs) -> str:
        parts = self._partition(select, _windows(select))
        aff = self._touched(parts, main, d_main)
        if isinstance(main, exp.Table) and self._cte(main) is None and env.restricted is not None:
            # a base table: its touched partitions, now and before, from one read of it
            cond = _among(parts, aff)
            now, before = env.restricted(self.resolve(main), _alias(main), cond, self.temp, _columns_used(select))
            new = self._signed(self._replace_from(select, now), 1)
            old = self._signed(self._replace_from(select, before), -1)
            return f"{new} UNION ALL {old}"
        new = self._signed(self._restricted(select, self.render(main, env), parts, aff), 1)
        old = self._signed(self._restricted(select, self.render(main, env, old=True), parts, aff), -1)
        return f"{new} UNION ALL {old}"

    def _regroup_delta(self, select: exp.Select, main: exp.Expr, d_main: str, env: Inputs) -> str:
        """Non-additive GROUP BY or DISTINCT: recompute the touched groups before and after."""
        group = select.args.get("group")
        if group is not None:
            keys = list(group.expressions)
        elif select.args.get("distinct"):
            keys = [e.this if isinstance(e, exp.Alias) else e for e in select.expressions]
            if any(isinstance(k, exp.Star) or (isinstance(k, exp.Column) and k.is_star) for k in keys):
                raise NotIncremental("SELECT DISTINCT * is not supported for incremental refresh")
        else:
            keys = []  # a global aggregate: one group, always touched
        probe = select.copy()
        probe.set("group", None)
        probe.set("having", None)
        probe.set("order", None)
        probe.set("distinct", None)
        probe.set(
            "expressions",
            [exp.alias_(k.copy(), f"_mc_k{i}") for i, k in enumerate(keys)] or [exp.alias_(exp.true(), "_mc_k")],
        )
        aff = self.temp(f"SELECT DISTINCT * FROM ({self.render(self._replace_from(probe, d_main), None)})")
        new_sel = self._restricted_where(select, keys, aff) if keys else select
        new = self._signed(self._replace_from(new_sel, self.render(main, env)), 1)
        old = self._signed(self._replace_from(new_sel, self.render(main, env, old=True)), -1)
        return f"{new} UNION ALL {old}"

    @staticmethod
    def _restricted_where(select: exp.Select, keys: list[exp.Expr], aff: str) -> exp.Select:
        return select.copy().where(_among(keys, aff), dialect="duckdb")

    # ---------------------------------------------------------- group state
    def state_sql(self, select: exp.Select, st: GroupState, rel_sql: str | None, *, delta: bool) -> str:
        """Per-group state over the block's FROM: full (from ``rel_sql`` or the inputs) or a delta."""
        out = select.copy()
        if rel_sql is not None:
            out = self._replace_from(out, rel_sql)
        sign = f"{q(_alias(_from_items(out)[0]))}.{SIGN}" if delta else None  # type: ignore[arg-type]
        cols = [f"{k} AS _g{i}" for i, k in enumerate(st.keys)]
        for name, arg in st.sums:
            cols.append(f"SUM(({arg}) * {sign}) AS {name}" if sign else f"SUM({arg}) AS {name}")
        for name, arg in st.counts:
            cols.append(
                f"SUM(CASE WHEN ({arg}) IS NULL THEN 0 ELSE {sign} END) AS {name}"
                if sign
                else f"COUNT({arg}) AS {name}"
            )
        cols.append(f"SUM({sign}) AS _n" if sign else "COUNT(*) AS _n")
        out.set("expressions", list(_parse("SELECT " + ", ".join(cols)).expressions))
        out.set("having", None)
        out.set("order", None)
        out.set("qualify", None)
        return self.render(out, None)

    def from_state(self, select: exp.Select, table: str) -> str:
        """The block's own output, computed from a state table (or a temp copy of one)."""
        st = self.states[id(select)]
        key_sql = {k: f"_g{i}" for i, k in enumerate(st.keys)}
        sums = dict((arg, name) for name, arg in st.sums)
        counts = dict((arg, name) for name, arg in st.counts)
        c_of_sum = {arg: counts[arg] for _, arg in st.sums}
        key_kinds = tuple({type(_parse(f"SELECT {k}").expressions[0]) for k in st.keys})

        def sub(n: exp.Expr) -> exp.Expr:
            if isinstance(n, exp.AggFunc) and n.find_ancestor(exp.Window) is None:
                if isinstance(n, exp.Count):
                    if n.this is None or isinstance(n.this, exp.Star):
                        return exp.column("_n")
                    return exp.column(counts[_sql(n.this)])
                arg = _sql(n.this)
                zero = exp.EQ(this=exp.column(c_of_sum[arg]), expression=exp.Literal.number(0))
                return exp.Case(ifs=[exp.If(this=zero, true=exp.Null())], default=exp.column(sums[arg]))
            text = _sql(n) if key_kinds and isinstance(n, key_kinds) else None
            if text is not None and text in key_sql:
                return exp.column(key_sql[text])
            return n

        out = exp.Select()
        for e in select.expressions:
            name = e.alias_or_name
            out = out.select(
                exp.alias_(
                    _transform_top(e.this.copy() if isinstance(e, exp.Alias) else e.copy(), sub), name, quoted=True
                ),
                copy=False,
            )
        out = out.from_(f"{table}", dialect="duckdb", copy=False)
        having = select.args.get("having")
        where = ["_n <> 0"]
        if having is not None:
            where.append(_sql(_transform_top(having.this.copy(), sub)))
        if not st.keys:
            where = [w for w in where if w != "_n <> 0"]  # a global aggregate has its one row always
        if where:
            out = out.where(" AND ".join(f"({w})" for w in where), dialect="duckdb", copy=False)
        return _sql(out)

    def _additive_delta(self, select: exp.Select, d_main: str, st: GroupState) -> str:
        _, before, after = self._merge_state(select, d_main, st)
        assert before is not None
        new = self.from_state(select, after)
        old = self.from_state(select, before)
        return f"SELECT *, 1 AS {SIGN} FROM ({new}) UNION ALL SELECT *, -1 AS {SIGN} FROM ({old})"

    def _merge_state(
        self, select: exp.Select, d_main: str, st: GroupState, *, keep_before: bool = True
    ) -> tuple[str, str | None, str]:
        """Statements adding the block's input delta ``d_main`` to its state table; returns
        the temp tables of the touched groups' delta, their state before (None unless
        ``keep_before``), and after."""
        dgroups = self.temp(self.state_sql(select, st, d_main, delta=True))
        on = " AND ".join(f"s._g{i} IS NOT DISTINCT FROM d._g{i}" for i in range(len(st.keys))) or "TRUE"
        before = None
        if keep_before:
            before = self.temp(f"SELECT s.* FROM {st.table} AS s SEMI JOIN {dgroups} AS d ON {on}")
        merged_cols = [f"d._g{i}" for i in range(len(st.keys))]
        for name, _ in [*st.sums, *st.counts]:
            merged_cols.append(f"COALESCE(b.{name}, 0) + COALESCE(d.{name}, 0) AS {name}")
        merged_cols.append("COALESCE(b._n, 0) + COALESCE(d._n, 0) AS _n")
        on_b = " AND ".join(f"b._g{i} IS NOT DISTINCT FROM d._g{i}" for i in range(len(st.keys))) or "TRUE"
        # the state table is read here, before the statements below change it
        base = before or st.table
        after = self.temp(f"SELECT {', '.join(merged_cols)} FROM {dgroups} AS d LEFT JOIN {base} AS b ON {on_b}")
        if st.keys:
            self.prelude.append(f"DELETE FROM {st.table} AS s WHERE EXISTS (SELECT 1 FROM {dgroups} AS d WHERE {on})")
            self.prelude.append(f"INSERT INTO {st.table} SELECT * FROM {after} WHERE _n <> 0")
        else:
            self.prelude.append(f"DELETE FROM {st.table}")
            self.prelude.append(f"INSERT INTO {st.table} SELECT * FROM {after}")
        return dgroups, before, after


def _transform_top(node: exp.Expr, fn: Callable[[exp.Expr], exp.Expr]) -> exp.Expr:
    """Like ``node.transform(fn)`` but does not descend into what ``fn`` replaced."""
    replaced = fn(node)
    if replaced is not node:
        return replaced
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expr):
            new = _transform_top(value, fn)
            if new is not value:
                node.set(key, new)
        elif isinstance(value, list):
            node.set(key, [_transform_top(v, fn) if isinstance(v, exp.Expr) else v for v in value])
    return node
