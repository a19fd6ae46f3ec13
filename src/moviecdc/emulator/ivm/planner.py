"""One refresh plan in the making: the temp tables it sets up and the rendering of query
nodes into standalone SQL, with some of them read differently (as they were before the
changes, from a state table, or computed by given SQL).

A `Planner` lives for one plan and is thrown away: the analysed query it reads is shared
and never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlglot import exp

from moviecdc.emulator.catalog import Key
from moviecdc.emulator.ivm.analysis import Compiled
from moviecdc.emulator.ivm.state import from_state
from moviecdc.emulator.ivm.syntax import alias, from_items, sql, transform_top


@dataclass(frozen=True)
class Inputs:
    """How to read each changed input at this refresh (given by the caller)."""

    changed: frozenset[Key]
    delta: Callable[[Key], str]  # SQL: the table's columns + _mc_sign
    old: Callable[[Key], str]  # SQL: the table as it was at the last refresh
    # (key, alias, condition, temp, columns) -> SQL of the rows meeting the condition now and
    # at the last refresh, read from the table once; temp(sql) materialises a relation;
    # columns are those the query reads (None: all)
    restricted: Callable[[Key, str, str, Callable[[str], str], set[str] | None], tuple[str, str]] | None = None
    columns: Callable[[str], list[str]] | None = None  # the column names of a query, asked of the engine


class Planner:
    """The statements of one plan so far (``prelude``) and the renderer of its SQL."""

    def __init__(self, compiled: Compiled, env: Inputs | None) -> None:
        self.compiled = compiled
        self.query = compiled.query
        self.env = env
        self.prelude: list[str] = []
        self.temps = 0
        self._holes: dict[str, str] = {}
        self._replace: dict[int, str] = {}  # node -> SQL to render in its place
        self._rendered: dict[tuple[int, bool], str] = {}

    def temp(self, text: str) -> str:
        """A temp table of ``text``, made by the plan's prelude; returns its name."""
        self.temps += 1
        name = f"_mc_ivm_{self.temps}"
        self.prelude.append(f"CREATE OR REPLACE TEMP TABLE {name} AS {text}")
        return name

    def replace_from(self, select: exp.Select, text: str) -> exp.Select:
        """A copy of ``select`` whose FROM relation is ``(text) AS <same alias>``.

        The relation goes in as a placeholder table that ``render`` fills in last, so
        names inside ``text`` are never mistaken for the query's own CTEs.
        """
        out = select.copy()
        main, _ = from_items(out)
        assert main is not None
        main.replace(self._hole(text, alias(main)))
        return out

    def root_with(self, block: exp.Select, text: str) -> str:
        """The query's SQL with ``block`` computed by ``text`` instead."""
        self._replace = {id(block): text}
        try:
            return self.render(self.query.root)
        finally:
            self._replace = {}

    def render(self, node: exp.Expr, *, old: bool = False, from_states: bool = False) -> str:
        """Standalone SQL of ``node``: CTEs inlined; with ``old``, changed inputs as they were;
        with ``from_states``, additive GROUP BY blocks read from their state tables."""
        query, env, states = self.query, self.env, self.compiled.states
        if isinstance(node, exp.Subquery):
            return self.render(node.this, old=old, from_states=from_states)
        if isinstance(node, exp.Table):
            cte = query.cte(node)
            if cte is not None:
                return self.render(cte, old=old, from_states=from_states)
            if old and env is not None and query.resolve(node) in env.changed:
                return env.old(query.resolve(node))
            return f"SELECT * FROM {sql(node)}"
        if id(node) in self._replace:
            return self._replace[id(node)]
        if from_states and id(node) in states:
            return from_state(node, states[id(node)], states[id(node)].table)  # type: ignore[arg-type]
        # the query's own nodes render the same way every time when nothing is replaced
        memo = (id(node), from_states) if not old and not self._replace and id(node) in query.originals else None
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
                cte = query.cte(n)
                if cte is not None or (old and env is not None and query.resolve(n) in env.changed):
                    return self._hole(self.render(orig, old=old, from_states=from_states), alias(n))
            if from_states and isinstance(n, exp.Subquery) and id(originals.get(id(n.this), n.this)) in states:
                inner = originals[id(n.this)]
                text = from_state(inner, states[id(inner)], states[id(inner)].table)  # type: ignore[arg-type]
                return self._hole(text, n.alias)
            return n

        text = self._fill(sql(transform_top(copy, sub)))
        if memo is not None:
            self._rendered[memo] = text
        return text

    def _hole(self, text: str, name: str) -> exp.Table:
        """A placeholder table for the relation ``(text) AS name``, filled in by ``_fill``."""
        hole = f"__mc_rel_{len(self._holes)}__"
        self._holes[hole] = f"({text})"
        return exp.Table(this=exp.to_identifier(hole), alias=exp.TableAlias(this=exp.to_identifier(name, quoted=True)))

    def _fill(self, text: str) -> str:
        for _ in range(len(self._holes) + 1):  # a relation may itself hold placeholders
            if "__mc_rel_" not in text:
                break
            for hole, rel in self._holes.items():
                text = text.replace(hole, rel)
        return text
