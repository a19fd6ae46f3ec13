"""The stored state of additive GROUP BY blocks: per group, the SUMs, the non-null
counts and a row count, from which the block's output is computed without its input."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlglot import exp

from moviecdc.emulator.catalog import SCHEMA, Key
from moviecdc.emulator.ivm.query import Query
from moviecdc.emulator.ivm.syntax import aggregates, parse, sql, transform_top


@dataclass(frozen=True)
class GroupState:
    """The stored aggregate state of one additive GROUP BY block."""

    table: str
    keys: tuple[str, ...]  # SQL of the group expressions, over the block's FROM
    sums: tuple[tuple[str, str], ...]  # (state column, SQL of the argument) for SUM
    counts: tuple[tuple[str, str], ...]  # (state column, SQL of the argument): COUNT and SUM's non-nulls


def state_table(dt_key: Key, index: int) -> str:
    digest = hashlib.sha1(f"{dt_key[0]}.{dt_key[1]}".encode()).hexdigest()[:12]
    return f'{SCHEMA}."dt_{digest}_g{index}"'


def group_states(query: Query) -> dict[int, GroupState]:
    """The state of each additive GROUP BY block of ``query``, by the block's node id."""
    states: dict[int, GroupState] = {}
    for i, block in enumerate(query.group_blocks()):
        group = block.args.get("group")
        keys = tuple(sql(g) for g in (group.expressions if group else []))
        sums: list[tuple[str, str]] = []
        counts: list[tuple[str, str]] = []
        for a in aggregates(block):
            arg = a.this
            if isinstance(a, exp.Count):
                if arg is None or isinstance(arg, exp.Star):
                    continue
                counts.append((f"_c{len(counts)}", sql(arg)))
            else:
                sums.append((f"_s{len(sums)}", sql(arg)))
                counts.append((f"_c{len(counts)}", sql(arg)))
        states[id(block)] = GroupState(state_table(query.dt_key, i), keys, tuple(sums), tuple(counts))
    return states


def from_state(select: exp.Select, st: GroupState, table: str) -> str:
    """The block's own output, computed from a state table (or a temp copy of one)."""
    key_sql = {k: f"_g{i}" for i, k in enumerate(st.keys)}
    sums = dict((arg, name) for name, arg in st.sums)
    counts = dict((arg, name) for name, arg in st.counts)
    c_of_sum = {arg: counts[arg] for _, arg in st.sums}
    key_kinds = tuple({type(parse(f"SELECT {k}").expressions[0]) for k in st.keys})

    def sub(n: exp.Expr) -> exp.Expr:
        if isinstance(n, exp.AggFunc) and n.find_ancestor(exp.Window) is None:
            if isinstance(n, exp.Count):
                if n.this is None or isinstance(n.this, exp.Star):
                    return exp.column("_n")
                return exp.column(counts[sql(n.this)])
            arg = sql(n.this)
            zero = exp.EQ(this=exp.column(c_of_sum[arg]), expression=exp.Literal.number(0))
            return exp.Case(ifs=[exp.If(this=zero, true=exp.Null())], default=exp.column(sums[arg]))
        text = sql(n) if key_kinds and isinstance(n, key_kinds) else None
        if text is not None and text in key_sql:
            return exp.column(key_sql[text])
        return n

    out = exp.Select()
    for e in select.expressions:
        name = e.alias_or_name
        inner = e.this.copy() if isinstance(e, exp.Alias) else e.copy()
        out = out.select(exp.alias_(transform_top(inner, sub), name, quoted=True), copy=False)
    out = out.from_(f"{table}", dialect="duckdb", copy=False)
    having = select.args.get("having")
    where = ["_n <> 0"]
    if having is not None:
        where.append(sql(transform_top(having.this.copy(), sub)))
    if not st.keys:
        where = [w for w in where if w != "_n <> 0"]  # a global aggregate has its one row always
    if where:
        out = out.where(" AND ".join(f"({w})" for w in where), dialect="duckdb", copy=False)
    return sql(out)
