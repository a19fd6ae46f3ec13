"""What a refresh needs to know about a query before planning one: which inputs it reads
changes of, which columns, what it looks rows up by, and whether it is keyed.

`analyse` returns all of it as one frozen `Compiled`, the unit the caches hold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlglot import exp

from moviecdc.emulator.catalog import Key
from moviecdc.emulator.ivm.query import Query
from moviecdc.emulator.ivm.state import GroupState, group_states
from moviecdc.emulator.ivm.syntax import NotIncremental, aggregates, alias, from_items, parse, passes, windows


@dataclass(frozen=True)
class Keyed:
    """A query whose rows each come from one partition of a window over a base table, or
    one group of an additive GROUP BY, and carry its key: a refresh replaces the rows of
    the touched keys."""

    window: exp.Select  # the window block (or the GROUP BY block)
    parts: tuple[exp.Column, ...]  # the PARTITION BY (GROUP BY) columns, of the block's FROM
    outputs: tuple[str, ...]  # the query's output column holding each of them
    grouped: bool = False  # keyed by the groups of an additive GROUP BY


@dataclass(frozen=True, eq=False)
class Compiled:
    """A dynamic table's query, analysed for incremental refresh. Never changes."""

    query: Query
    states: Mapping[int, GroupState]  # additive GROUP BY blocks' state, by block node id
    keyed: Keyed | None  # see `find_keyed`
    first_per_key: tuple[Key, str, bool] | None  # see `find_first_per_key`
    delta_inputs: frozenset[Key]  # base tables whose changes a refresh reads (through FROM)
    lookup_columns: frozenset[tuple[Key, str]]  # (input, column) a refresh looks rows up by
    read_columns: Mapping[Key, frozenset[str] | None]  # see `columns_read`

    def columns_read(self, key: Key) -> frozenset[str] | None:
        """Lower-cased names of the columns of input ``key`` the query may read (None: any)."""
        return self.read_columns.get(key, frozenset())


def analyse(sql: str, dt_key: Key) -> Compiled:
    """Analyse a translated query for incremental refresh, or raise NotIncremental."""
    tree = parse(sql)
    if not isinstance(tree, exp.Query):
        raise NotIncremental(f"{type(tree).__name__} is not supported for incremental refresh")
    query = Query(tree, dt_key)
    states = group_states(query)
    keyed = find_keyed(query, states)
    tables = {query.resolve(t) for t in query.relations(query.root, joins=True) if isinstance(t, exp.Table)}
    return Compiled(
        query=query,
        states=states,
        keyed=keyed,
        first_per_key=find_first_per_key(query, keyed),
        delta_inputs=frozenset(
            query.resolve(t) for t in query.relations(query.root, joins=False) if isinstance(t, exp.Table)
        ),
        lookup_columns=frozenset(lookup_columns(query)),
        read_columns={key: columns_read(query, key) for key in tables},
    )


def lookup_columns(query: Query) -> set[tuple[Key, str]]:
    """(base table, column) pairs a refresh looks rows up by: one-column window keys.

    The engine keeps an index on each, so reading a touched partition does not scan
    the table.
    """
    found: set[tuple[Key, str]] = set()
    for select in query.blocks():
        wins = windows(select)
        main, _ = from_items(select)
        if not wins or not isinstance(main, exp.Table) or query.cte(main) is not None:
            continue
        parts = wins[0].args.get("partition_by") or []
        if len(parts) == 1 and isinstance(parts[0], exp.Column):
            found.add((query.resolve(main), parts[0].name))
    return found


def columns_read(query: Query, key: Key) -> frozenset[str] | None:
    """Lower-cased names of the columns of input ``key`` the query may read, or None
    when it may read any of them.

    Only a block that names the table in FROM or JOIN can read its columns; other
    blocks see them through that block's SELECT list. So it is every column named in
    those blocks, unless one selects ``*`` or joins NATURAL or USING.
    """
    names: set[str] = set()
    for select in query.blocks():
        main, joins = from_items(select)
        items = [main, *(j.this for j in joins)]
        if not any(isinstance(t, exp.Table) and query.cte(t) is None and query.resolve(t) == key for t in items):
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
    return frozenset(names)


def find_keyed(query: Query, states: Mapping[int, GroupState]) -> Keyed | None:
    """The query as a chain of projections, filters and joins over one window block
    partitioned by plain columns of a base table (or one additive GROUP BY block), each
    key column passed up to the output unchanged; None for any other shape."""
    chain: list[exp.Select] = []
    node: exp.Expr | None = query.root
    while True:
        if not isinstance(node, exp.Select) or node.args.get("distinct"):
            return None
        if id(node) in states:
            return _group_keyed(node, chain)
        if aggregates(node) or node.args.get("group"):
            return None
        main, _ = from_items(node)
        if main is None:
            return None
        if windows(node):
            break
        chain.append(node)
        node = query.cte(main) if isinstance(main, exp.Table) else main.this if isinstance(main, exp.Subquery) else None
    window = node
    main, _ = from_items(window)
    if not isinstance(main, exp.Table) or query.cte(main) is not None:
        return None
    parts = query.partition(window, windows(window))
    outputs = _key_outputs(window, parts, chain)
    return Keyed(window, tuple(parts), outputs) if outputs is not None else None  # type: ignore[arg-type]


def _group_keyed(block: exp.Select, chain: list[exp.Select]) -> Keyed | None:
    group = block.args.get("group")
    parts = list(group.expressions) if group is not None else []
    if not parts:
        return None  # a global aggregate: one row, nothing to key by
    outputs = _key_outputs(block, parts, chain)
    return Keyed(block, tuple(parts), outputs, grouped=True) if outputs is not None else None  # type: ignore[arg-type]


def _key_outputs(block: exp.Select, parts: list[exp.Expr], chain: list[exp.Select]) -> tuple[str, ...] | None:
    """The query's output columns holding the key columns ``parts`` of ``block``
    unchanged through the ``chain`` of blocks above it; None if one is not passed up."""
    if not all(isinstance(p, exp.Column) for p in parts):
        return None
    outputs: list[str] = []
    for p in parts:
        name: str | None = passes(block, p.name)
        for select in reversed(chain):
            if name is None:
                break
            name = passes(select, name)
        if name is None:
            return None
        outputs.append(name)
    return tuple(outputs)


def find_first_per_key(query: Query, shape: Keyed | None) -> tuple[Key, str, bool] | None:
    """For a keyed query whose window block keeps the first row of each partition
    (``QUALIFY ROW_NUMBER() OVER (PARTITION BY ... ORDER BY c ...) = 1``, or RANK,
    DENSE_RANK, and no WHERE): (its table, the column ``c`` it orders by first, whether
    descending). None for any other shape.

    When new rows are the only changes and each sorts first on ``c`` against every
    older row, the first row of each touched partition is among the new rows: a
    refresh reads only them (``plan_delta(..., newest_only=True)``).
    """
    if shape is None or shape.grouped:
        return None
    window = shape.window
    main = from_items(window)[0]
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
    if any(w is not win for w in windows(window)):
        return None  # another window function reads the older rows
    order = win.args.get("order")
    first = order.expressions[0] if order is not None and order.expressions else None
    if not isinstance(first, exp.Ordered) or not isinstance(first.this, exp.Column):
        return None
    col = first.this
    if col.table and col.table.lower() != alias(main).lower():
        return None
    return query.resolve(main), col.name, bool(first.args.get("desc"))
