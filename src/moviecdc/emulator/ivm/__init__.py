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
rows for them now, with no "before" side at all (``Compiled.keyed``). A keyed query
keeping the first row per partition reads only the new rows when they are the only
changes and each sorts first (``Compiled.first_per_key``).

A query with any other operator (LIMIT, EXCEPT, a RIGHT join, a nested WITH, ...) is
refused with the reason (``NotIncremental``): error 002711 for REFRESH_MODE = INCREMENTAL,
FULL with that ``refresh_mode_reason`` for AUTO. Changes that a maintainable query still
cannot take incrementally (to a table on the joined side) raise ``NeedsFull``: that
refresh is FULL.

The compiler is a pipeline of passes, each returning a value and keeping nothing:

* ``syntax``: helpers over sqlglot trees, and the errors;
* ``query``: the query's blocks and CTEs, checked to have a rule for every operator;
* ``state``: the state tables of additive GROUP BY blocks;
* ``analysis``: ``analyse(sql, dt_key) -> Compiled``, the frozen facts a refresh needs
  (inputs read, columns read, lookup columns, keyed shape);
* ``planner`` and ``deltas``: ``plan_delta(compiled, inputs, ...) -> Plan`` and
  ``plan_full(compiled) -> FullPlan``, the statements of one refresh.

Callers cache ``Compiled`` and ``Plan`` objects (``plans.py``); nothing here is mutated
after it is returned.
"""

from moviecdc.emulator.ivm.analysis import Compiled, Keyed, analyse
from moviecdc.emulator.ivm.deltas import FullPlan, Plan, plan_delta, plan_full
from moviecdc.emulator.ivm.planner import Inputs
from moviecdc.emulator.ivm.state import GroupState, state_table
from moviecdc.emulator.ivm.syntax import SIGN, NeedsFull, NotIncremental

__all__ = [
    "SIGN",
    "Compiled",
    "FullPlan",
    "GroupState",
    "Inputs",
    "Keyed",
    "NeedsFull",
    "NotIncremental",
    "Plan",
    "analyse",
    "plan_delta",
    "plan_full",
    "state_table",
]
