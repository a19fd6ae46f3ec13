"""One scheduler pass: due task runs, then due refreshes in dependency order."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from moviecdc.dialect.schedule import parse_schedule
from moviecdc.emulator import graph, refresh, retention, tasks
from moviecdc.emulator.catalog import Key, TaskState
from moviecdc.emulator.core import Core
from moviecdc.errors import MovieCdcError, SqlError


@dataclass
class PassReport:
    """What one scheduler pass did."""

    tasks: list[tuple[str, str]] = field(default_factory=list)  # (task, state)
    refreshes: list[tuple[str, str, str]] = field(default_factory=list)  # (dt, state, action)

    def as_dict(self) -> dict[str, object]:
        return {
            "tasks": [{"name": n, "state": s} for n, s in self.tasks],
            "refreshes": [{"name": n, "state": s, "action": a} for n, s, a in self.refreshes],
        }


# -------------------------------------------------------------- scheduler
def _has_data(engine: Core, task: TaskState) -> bool:
    """A triggered task's WHEN, checked the way Snowflake's trigger does: no run is recorded
    for a false one. A WHEN that fails is left to the run, which records the failure."""
    try:
        with engine.in_schema(task.schema):
            return bool(engine.execute(f"SELECT {task.when}").scalar())
    except MovieCdcError:
        return True


def run_pending(engine: Core, *, catch_up: bool = False) -> PassReport:
    """One scheduler pass: due task runs, then due refreshes in dependency order.

    With ``catch_up`` (``moviecdc run --once``) it is as if enough time had passed
    for every schedule and lag: every started root task runs now (its WHEN is
    evaluated), then every dynamic table that would refresh on its own refreshes.
    A DOWNSTREAM table that no dynamic table reads is left alone, as on Snowflake.
    """
    if engine.in_user_transaction:
        # tasks and refreshes run in sessions of their own on Snowflake; here they share the
        # connection, so never inside a transaction someone left open
        raise SqlError("the scheduler cannot run while a transaction is open: COMMIT or ROLLBACK first")
    report = PassReport()
    now = engine.now()
    with engine.transaction():
        retention.refresh_staleness(engine)
        retention.trim_change_logs(engine)
    roots = sorted(
        (
            t
            for t in engine.catalog.tasks.values()
            if t.state == "started" and not t.after and not t.params.get("FINALIZE")  # a finalizer runs with its graph
        ),
        key=lambda t: (t.schema, t.name),
    )
    for task in roots:
        slot: datetime | None
        source = "SCHEDULE"
        triggered = task.schedule is None and bool(task.when) and "STREAM_HAS_DATA" in str(task.when).upper()
        if task.schedule is None and not triggered:
            continue  # no schedule and no stream to wait for: it runs only by EXECUTE TASK
        if triggered:
            last = task.last_slot or task.anchor or now
            spaced = catch_up or task.last_slot is None or now - last >= tasks.trigger_interval(task)
            # a triggered task runs when its stream has data; an empty stream records no run
            slot = now if spaced and _has_data(engine, task) else None
            source = "TRIGGER"
        elif catch_up:
            slot = now
        else:
            assert task.schedule is not None and task.anchor is not None
            after = max(task.anchor, task.last_slot or task.anchor)
            slot = parse_schedule(task.schedule).latest_slot(task.anchor, after, now)
        if slot is None:
            continue
        state = tasks.run_graph(engine, task, slot, source)
        report.tasks.append((f"{task.schema}.{task.name}", state))
    dts = engine.catalog.dynamic_tables
    if catch_up:
        due = [k for k, dt in dts.items() if graph.effective_lag(engine, dt) is not None]
    else:
        due = [k for k, dt in dts.items() if graph.is_due(engine, dt, now)]
    if due:
        wanted: list[Key] = []
        for k in due:
            for u in [*graph.scheduled_upstream(engine, k), k]:
                if u not in wanted and dts[u].scheduling_state == "RUNNING":
                    wanted.append(u)
        results = refresh.refresh_group(engine, graph.topo_order(engine, wanted), "SCHEDULED")
        for k, (state, act) in results.items():
            report.refreshes.append((f"{k[0]}.{k[1]}", state, act))
    return report
