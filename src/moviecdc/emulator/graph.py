"""The dynamic tables' dependency graph: readers, upstream order, effective lag, when due (reference 3.2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from moviecdc.emulator.catalog import DynamicTableState, Key
from moviecdc.emulator.session import Session


# -------------------------------------------------------- dynamic tables
def consumers(engine: Session, key: Key) -> list[DynamicTableState]:
    return [dt for dt in engine.catalog.dynamic_tables.values() if list(key) in dt.inputs]


def effective_lag(engine: Session, dt: DynamicTableState, _seen: frozenset[Key] = frozenset()) -> int | None:
    """Seconds of lag this table must meet; DOWNSTREAM takes its consumers' (reference 3.2).

    None means nothing will ever refresh it on a schedule: a DOWNSTREAM table that
    no running dynamic table reads.
    """
    if dt.scheduling_state != "RUNNING" or dt.scheduler == "DISABLE":
        return None  # (SCHEDULER = DISABLE: only ALTER ... REFRESH refreshes it)
    if dt.lag_seconds is not None:
        return dt.lag_seconds
    lags = [
        lag
        for c in consumers(engine, dt.key)
        if c.key not in _seen and (lag := effective_lag(engine, c, _seen | {dt.key})) is not None
    ]
    return min(lags) if lags else None


def upstream(engine: Session, key: Key) -> list[Key]:
    """Dynamic tables ``key`` reads, directly or not, in dependency order."""
    out: list[Key] = []

    def visit(k: Key) -> None:
        for inp in engine.catalog.dynamic_tables[k].inputs:
            ik = (inp[0], inp[1])
            if ik in engine.catalog.dynamic_tables and ik not in out:
                visit(ik)
                out.append(ik)

    visit(key)
    return out


def scheduled_upstream(engine: Session, key: Key) -> list[Key]:
    """The upstream tables a refresh of ``key`` refreshes first, in dependency order: none
    for a table with SCHEDULER = DISABLE, and never one (nor what lies behind it only)."""
    dts = engine.catalog.dynamic_tables
    out: list[Key] = []

    def visit(k: Key) -> None:
        if dts[k].scheduler == "DISABLE":
            return
        for inp in dts[k].inputs:
            ik = (inp[0], inp[1])
            if ik in dts and ik not in out and dts[ik].scheduler != "DISABLE":
                visit(ik)
                out.append(ik)

    visit(key)
    return out


def topo_order(engine: Session, keys: list[Key]) -> list[Key]:
    ordered: list[Key] = []
    for k in sorted(keys):
        for u in [*upstream(engine, k), k]:
            if u in keys and u not in ordered:
                ordered.append(u)
    return ordered


def is_due(engine: Session, dt: DynamicTableState, now: datetime) -> bool:
    """Due when half the effective lag has passed since the data timestamp.

    Refreshing at half the target keeps the actual lag under it, as Snowflake's
    scheduler does by refreshing "somewhat more often" than the lag.
    """
    lag = effective_lag(engine, dt)
    if lag is None:
        return False
    if dt.data_timestamp is None:
        return True
    return now >= dt.data_timestamp + timedelta(seconds=lag / 2)
