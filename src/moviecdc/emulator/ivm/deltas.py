"""The delta rules: SQL of a query's signed change (``_mc_sign`` +1/-1) from its inputs'
changes, one rule per operator, and the plans a refresh runs (`plan_delta`, `plan_full`)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from moviecdc.dialect.idents import quote
from moviecdc.emulator.ivm.analysis import Compiled, Keyed
from moviecdc.emulator.ivm.planner import Inputs, Planner
from moviecdc.emulator.ivm.state import GroupState, from_state
from moviecdc.emulator.ivm.syntax import (
    SIGN,
    NeedsFull,
    NotIncremental,
    aggregates,
    alias,
    among,
    columns_used,
    from_items,
    parse,
    sql,
    windows,
)


@dataclass(frozen=True)
class Plan:
    """The statements that bring one dynamic table up to date from given changed inputs."""

    prelude: tuple[str, ...]  # setup statements (temp tables _mc_ivm_1 ... _mc_ivm_<temps>)
    temps: int
    delta: str | None = None  # the table's signed delta; None: nothing can have changed
    keys: str | None = None  # keyed tables: the temp table of touched keys ...
    key_columns: tuple[str, ...] = ()  # ... the columns holding them ...
    rows: str | None = None  # ... and the table's rows for those keys now


@dataclass(frozen=True)
class FullPlan:
    """A full refresh of an incrementally maintained table: its GROUP BY states rebuilt
    (``states``: (state table, SQL of its rows)), then ``query`` reading from them."""

    states: tuple[tuple[str, str], ...]
    query: str


def plan_delta(compiled: Compiled, env: Inputs, *, keyed: Keyed | None, newest_only: bool = False) -> Plan:
    """How to bring the table up to date from the changes ``env`` describes: for a
    ``keyed`` shape, by replacing the rows of the touched keys; otherwise by the signed
    delta of the whole query. Raises NeedsFull when these changes need a full refresh."""
    p = Planner(compiled, env)
    if keyed is not None:
        found = keyed_delta(p, keyed, newest_only=newest_only)
        if found is None:
            return Plan(tuple(p.prelude), p.temps)
        return Plan(tuple(p.prelude), p.temps, keys=found[0], key_columns=keyed.outputs, rows=found[1])
    rows = delta(p, compiled.query.root)
    return Plan(tuple(p.prelude), p.temps, delta=rows)


def plan_full(compiled: Compiled) -> FullPlan:
    p = Planner(compiled, None)
    states = tuple(
        (st.table, state_sql(p, block, st, None, signed=False))
        for block, st in ((b, compiled.states[id(b)]) for b in compiled.query.group_blocks())
    )
    return FullPlan(states, p.render(compiled.query.root, from_states=True))


# ------------------------------------------------------------------ keyed rows
def keyed_delta(p: Planner, shape: Keyed, *, newest_only: bool = False) -> tuple[str, str] | None:
    """For a keyed query: (table of the touched keys, the query's rows for those keys now),
    or None when its input did not change.

    ``newest_only``: the caller checked the condition of ``Compiled.first_per_key``, so
    the rows now come from the new rows alone, without reading the table."""
    env, query = p.env, p.query
    assert env is not None
    for node in query.relations(query.root, joins=False):
        if isinstance(node, exp.Select):
            for j in from_items(node)[1]:
                if delta(p, j.this) is not None:
                    raise NeedsFull("an input joined to the FROM table changed")
    if shape.grouped:
        return _group_keyed_delta(p, shape)
    main = from_items(shape.window)[0]
    assert isinstance(main, exp.Table) and env.restricted is not None
    key = query.resolve(main)
    if key not in env.changed:
        return None
    parts: list[exp.Expr] = list(shape.parts)
    if newest_only:
        new_rows = p.temp(env.delta(key))
        touched = _touched(p, parts, main, f"SELECT * FROM {new_rows}")
        now = f"SELECT * EXCLUDE ({SIGN}) FROM {new_rows}"
    else:
        touched = _touched(p, parts, main, env.delta(key))
        now, _ = env.restricted(key, alias(main), among(parts, touched), p.temp, columns_used(shape.window))
    window = p.replace_from(shape.window, now)
    window.set("order", None)
    return touched, p.root_with(shape.window, p.render(window))


def _group_keyed_delta(p: Planner, shape: Keyed) -> tuple[str, str] | None:
    """Keyed by an additive GROUP BY: its state is brought up to date from its input's
    delta, and the touched groups are the keys."""
    block = shape.window
    main = from_items(block)[0]
    assert main is not None
    d_main = delta(p, main)
    if d_main is None:
        return None
    dgroups, _, after = _merge_state(p, block, d_main, p.compiled.states[id(block)], keep_before=False)
    keys = ", ".join(f"_g{i} AS _mc_k{i}" for i in range(len(shape.parts)))
    touched = p.temp(f"SELECT {keys} FROM {dgroups}")
    return touched, p.root_with(block, from_state(block, p.compiled.states[id(block)], after))


# ----------------------------------------------------------------------- deltas
def delta(p: Planner, node: exp.Expr) -> str | None:
    """SQL of ``node``'s delta (its columns + _mc_sign), or None when it did not change."""
    env, query = p.env, p.query
    assert env is not None
    if isinstance(node, exp.Subquery):
        return delta(p, node.this)
    if isinstance(node, exp.Table):
        cte = query.cte(node)
        if cte is not None:
            return delta(p, cte)
        key = query.resolve(node)
        return env.delta(key) if key in env.changed else None
    if isinstance(node, exp.Union):
        parts = [d for d in (delta(p, node.left), delta(p, node.right)) if d is not None]
        if not parts:
            return None
        # a union's columns are named by its first branch, whichever branch changed
        assert env.columns is not None
        names = ", ".join(quote(c) for c in [*env.columns(p.render(node.left)), SIGN])
        body = " UNION ALL ".join(f"SELECT * FROM ({d})" for d in parts)
        return f"SELECT * FROM ({body}) AS _u({names})"
    assert isinstance(node, exp.Select)
    main, joins = from_items(node)
    if main is None:
        return None
    for j in joins:
        if delta(p, j.this) is not None:
            raise NeedsFull("an input joined to the FROM table changed")
    d_main = delta(p, main)
    if d_main is None:
        return None
    if windows(node):
        return _window_delta(p, node, main, d_main)
    if id(node) in p.compiled.states:
        return _additive_delta(p, node, d_main, p.compiled.states[id(node)])
    if aggregates(node) or node.args.get("group") or node.args.get("distinct"):
        return _regroup_delta(p, node, main, d_main)
    return _project_delta(p, node, d_main)


def _project_delta(p: Planner, select: exp.Select, d_main: str) -> str:
    out = p.replace_from(select, d_main)
    main, _ = from_items(out)
    main_alias = alias(main) if main is not None else ""
    for e in out.expressions:
        star = e if isinstance(e, exp.Star) else (e.this if isinstance(e, exp.Column) else None)
        if isinstance(star, exp.Star) and (isinstance(e, exp.Star) or e.table.lower() == main_alias.lower()):
            star.set("except_", [*(star.args.get("except_") or []), exp.column(SIGN)])
    out.select(exp.column(SIGN, table=exp.to_identifier(main_alias, quoted=True)), copy=False)
    out.set("order", None)
    return p.render(out)


def _signed(p: Planner, select: exp.Select, sign: int) -> str:
    out = select.copy()
    out.set("order", None)
    return p.render(out.select(exp.alias_(exp.Literal.number(sign), SIGN), copy=False))


def _touched(p: Planner, keys: list[exp.Expr], main: exp.Expr, d_main: str) -> str:
    """A temp table of the distinct ``keys`` (as _mc_k0, ...) of the rows in ``d_main``."""
    cols = ", ".join(f"{sql(k)} AS _mc_k{i}" for i, k in enumerate(keys))
    return p.temp(f"SELECT DISTINCT {cols} FROM ({d_main}) AS {quote(alias(main))}")


def _restricted(p: Planner, select: exp.Select, rel_sql: str, keys: list[exp.Expr], touched: str) -> exp.Select:
    """``select`` over ``rel_sql`` restricted to rows whose ``keys`` are in table ``touched``."""
    main, _ = from_items(select)
    assert main is not None
    name = quote(alias(main))
    return p.replace_from(select, f"SELECT {name}.* FROM ({rel_sql}) AS {name} WHERE {among(keys, touched)}")


def _window_delta(p: Planner, select: exp.Select, main: exp.Expr, d_main: str) -> str:
    """Window functions: the touched partitions recomputed now (+1) and before (-1)."""
    env, query = p.env, p.query
    assert env is not None
    parts = query.partition(select, windows(select))
    touched = _touched(p, parts, main, d_main)
    if isinstance(main, exp.Table) and query.cte(main) is None and env.restricted is not None:
        # a base table: its touched partitions, now and before, from one read of it
        cond = among(parts, touched)
        now, before = env.restricted(query.resolve(main), alias(main), cond, p.temp, columns_used(select))
        new = _signed(p, p.replace_from(select, now), 1)
        old = _signed(p, p.replace_from(select, before), -1)
        return f"{new} UNION ALL {old}"
    new = _signed(p, _restricted(p, select, p.render(main), parts, touched), 1)
    old = _signed(p, _restricted(p, select, p.render(main, old=True), parts, touched), -1)
    return f"{new} UNION ALL {old}"


def _regroup_delta(p: Planner, select: exp.Select, main: exp.Expr, d_main: str) -> str:
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
    for clause in ("group", "having", "order", "distinct"):
        probe.set(clause, None)
    probe.set(
        "expressions",
        [exp.alias_(k.copy(), f"_mc_k{i}") for i, k in enumerate(keys)] or [exp.alias_(exp.true(), "_mc_k")],
    )
    touched = p.temp(f"SELECT DISTINCT * FROM ({p.render(p.replace_from(probe, d_main))})")
    new_sel = select.copy().where(among(keys, touched), dialect="duckdb") if keys else select
    new = _signed(p, p.replace_from(new_sel, p.render(main)), 1)
    old = _signed(p, p.replace_from(new_sel, p.render(main, old=True)), -1)
    return f"{new} UNION ALL {old}"


# ------------------------------------------------------------------ group state
def state_sql(p: Planner, select: exp.Select, st: GroupState, rel_sql: str | None, *, signed: bool) -> str:
    """Per-group state over the block's FROM: full (from ``rel_sql`` or the inputs) or a delta."""
    out = select.copy()
    if rel_sql is not None:
        out = p.replace_from(out, rel_sql)
    sign = f"{quote(alias(from_items(out)[0]))}.{SIGN}" if signed else None  # type: ignore[arg-type]
    cols = [f"{k} AS _g{i}" for i, k in enumerate(st.keys)]
    for name, arg in st.sums:
        cols.append(f"SUM(({arg}) * {sign}) AS {name}" if sign else f"SUM({arg}) AS {name}")
    for name, arg in st.counts:
        cols.append(
            f"SUM(CASE WHEN ({arg}) IS NULL THEN 0 ELSE {sign} END) AS {name}" if sign else f"COUNT({arg}) AS {name}"
        )
    cols.append(f"SUM({sign}) AS _n" if sign else "COUNT(*) AS _n")
    out.set("expressions", list(parse("SELECT " + ", ".join(cols)).expressions))
    for clause in ("having", "order", "qualify"):
        out.set(clause, None)
    return p.render(out)


def _additive_delta(p: Planner, select: exp.Select, d_main: str, st: GroupState) -> str:
    _, before, after = _merge_state(p, select, d_main, st)
    assert before is not None
    new = from_state(select, st, after)
    old = from_state(select, st, before)
    return f"SELECT *, 1 AS {SIGN} FROM ({new}) UNION ALL SELECT *, -1 AS {SIGN} FROM ({old})"


def _merge_state(
    p: Planner, select: exp.Select, d_main: str, st: GroupState, *, keep_before: bool = True
) -> tuple[str, str | None, str]:
    """Statements adding the block's input delta ``d_main`` to its state table; returns
    the temp tables of the touched groups' delta, their state before (None unless
    ``keep_before``), and after."""
    dgroups = p.temp(state_sql(p, select, st, d_main, signed=True))
    on = " AND ".join(f"s._g{i} IS NOT DISTINCT FROM d._g{i}" for i in range(len(st.keys))) or "TRUE"
    before = None
    if keep_before:
        before = p.temp(f"SELECT s.* FROM {st.table} AS s SEMI JOIN {dgroups} AS d ON {on}")
    merged_cols = [f"d._g{i}" for i in range(len(st.keys))]
    for name, _ in [*st.sums, *st.counts]:
        merged_cols.append(f"COALESCE(b.{name}, 0) + COALESCE(d.{name}, 0) AS {name}")
    merged_cols.append("COALESCE(b._n, 0) + COALESCE(d._n, 0) AS _n")
    on_b = " AND ".join(f"b._g{i} IS NOT DISTINCT FROM d._g{i}" for i in range(len(st.keys))) or "TRUE"
    # the state table is read here, before the statements below change it
    base = before or st.table
    after = p.temp(f"SELECT {', '.join(merged_cols)} FROM {dgroups} AS d LEFT JOIN {base} AS b ON {on_b}")
    if st.keys:
        p.prelude.append(f"DELETE FROM {st.table} AS s WHERE EXISTS (SELECT 1 FROM {dgroups} AS d WHERE {on})")
        p.prelude.append(f"INSERT INTO {st.table} SELECT * FROM {after} WHERE _n <> 0")
    else:
        p.prelude.append(f"DELETE FROM {st.table}")
        p.prelude.append(f"INSERT INTO {st.table} SELECT * FROM {after}")
    return dgroups, before, after
