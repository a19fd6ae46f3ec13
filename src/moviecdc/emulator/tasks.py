"""Task runs: WHEN, the body in one transaction, history, failures, graphs (reference section 2)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from moviecdc.dialect.schedule import parse_schedule
from moviecdc.dialect.split import split_statements
from moviecdc.emulator import (
    faults,
    history,
)
from moviecdc.emulator.catalog import TaskState
from moviecdc.emulator.core import Core
from moviecdc.emulator.session import Session
from moviecdc.errors import MovieCdcError, SqlError

TRIGGERED_MIN_INTERVAL = timedelta(seconds=30)  # USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS' default


def trigger_interval(task: TaskState) -> timedelta:
    """How long a triggered task waits at least between runs (10 s to 7 days, default 30 s)."""
    value = task.params.get("USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS")
    return TRIGGERED_MIN_INTERVAL if value is None else timedelta(seconds=int(value))


# ------------------------------------------------------------------ tasks
def next_run(task: TaskState, after: datetime) -> datetime | None:
    if task.schedule is None or task.state != "started" or task.anchor is None:
        return None
    return parse_schedule(task.schedule).next_run(task.anchor, max(after, task.anchor))


def resume_task(engine: Core, task: TaskState) -> None:
    """ALTER TASK RESUME: interval schedules count from now (reference 2.2)."""
    if task.state != "started":
        task.state = "started"
        task.anchor = engine.now()
        task.last_slot = None
        task.consecutive_failures = 0
    task.last_committed_on, task.committed_version = engine.now(), task.graph_version
    engine.catalog.save(task)
    history.set_scheduled_row(engine, task, next_run(task, engine.now()))


def suspend_task(engine: Core, task: TaskState, reason: str) -> None:
    task.state = "suspended"
    task.last_suspended_on = engine.now()
    task.last_suspended_reason = reason
    engine.catalog.save(task)
    history.set_scheduled_row(engine, task, None)


def children(engine: Core, task: TaskState) -> list[TaskState]:
    me = f"{task.schema}.{task.name}"
    return sorted((t for t in engine.catalog.tasks.values() if me in t.after), key=lambda t: t.name)


def finalizer(engine: Core, root: TaskState) -> TaskState | None:
    """The task whose ``FINALIZE`` names ``root`` (at most one per root)."""
    me = f"{root.schema}.{root.name}"
    return next((t for t in engine.catalog.tasks.values() if t.params.get("FINALIZE") == me), None)


def roots_of(engine: Core, task: TaskState) -> list[TaskState]:
    """The root task(s) of ``task``'s graph (itself when it is a root); a finalizer's is its root."""
    fin = task.params.get("FINALIZE")
    if fin is not None:
        root = engine.catalog.tasks.get(task_key(fin))
        return [root] if root is not None else []
    found: list[TaskState] = []
    todo, seen = [task], set()
    while todo:
        t = todo.pop()
        fq = f"{t.schema}.{t.name}"
        if fq in seen:
            continue
        seen.add(fq)
        if not t.after:
            found.append(t)
        todo.extend(p for p in (engine.catalog.tasks.get(task_key(a)) for a in t.after) if p is not None)
    return sorted(found, key=lambda t: t.name)


def in_graph(engine: Core, task: TaskState) -> bool:
    """A member of a task graph: it has predecessors, dependents or a finalizer, or is one."""
    return bool(task.after or task.params.get("FINALIZE") or children(engine, task) or finalizer(engine, task))


def task_key(fq: str) -> tuple[str, str]:
    """The catalog key of a task named "SCHEMA.NAME" (as AFTER and FINALIZE keep it)."""
    schema, name = fq.split(".", 1)
    return schema, name


@dataclass
class GraphRun:
    """One run of a task graph: what its tasks read and leave for each other."""

    root: TaskState
    group: str
    config: dict[str, Any] | None
    attempt: int = 1
    return_values: dict[str, str] = field(default_factory=dict)  # "SCHEMA.NAME" -> value
    task: TaskState | None = None  # the task running now
    return_value: str | None = None  # set by the running task
    scheduled: datetime | None = None  # the graph run's original scheduled time

    def predecessor_value(self, engine: Session, name: str | None) -> str | None:
        """SYSTEM$GET_PREDECESSOR_RETURN_VALUE: a predecessor's (or an ancestor's) value."""
        assert self.task is not None
        preds = [engine.catalog.tasks[task_key(a)] for a in self.task.after if task_key(a) in engine.catalog.tasks]
        if name is None:
            enabled = [p for p in preds if p.state == "started" or p is self.root]
            if len(enabled) != 1:
                raise SqlError(
                    "SYSTEM$GET_PREDECESSOR_RETURN_VALUE needs the predecessor's name: the task has"
                    f" {len(enabled)} enabled predecessors"
                )
            return self.return_values.get(f"{enabled[0].schema}.{enabled[0].name}")
        todo, seen = list(preds), set()
        while todo:
            t = todo.pop(0)
            fq = f"{t.schema}.{t.name}"
            if fq in seen:
                continue
            seen.add(fq)
            if t.name in (name, name.upper()):
                return self.return_values.get(fq)
            todo.extend(engine.catalog.tasks[task_key(a)] for a in t.after if task_key(a) in engine.catalog.tasks)
        raise SqlError(f"SYSTEM$GET_PREDECESSOR_RETURN_VALUE: '{name}' is not a predecessor of task {self.task.name}")


@dataclass(frozen=True)
class Retry:
    """EXECUTE TASK ... RETRY LAST: the graph run to carry on, and what already succeeded there."""

    group: str
    attempt: int
    succeeded: frozenset[str]
    return_values: dict[str, str]
    config: dict[str, Any] | None


def graph_config(root: TaskState, override: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The root's CONFIG, with EXECUTE TASK ... USING CONFIG's keys over it."""
    base = json.loads(root.params["CONFIG"]) if "CONFIG" in root.params else None
    if override is None:
        return base
    return {**(base or {}), **override}


def run_graph(
    engine: Core,
    root: TaskState,
    scheduled: datetime,
    source: str,
    *,
    config: dict[str, Any] | None = None,
    retry: Retry | None = None,
) -> str:
    """Run a graph: the root, then every started task whose predecessors all succeeded.

    A failed run is retried from its failed tasks up to the root's
    ``TASK_AUTO_RETRY_ATTEMPTS`` times (attempt 2, 3, ...); then the finalizer runs,
    whether the graph succeeded or failed, unless the root was skipped. Returns the
    root's state.
    """
    run = GraphRun(
        root, retry.group if retry else engine.new_id(), retry.config if retry else graph_config(root, config)
    )
    succeeded: set[str] = set(retry.succeeded) if retry else set()
    if retry:
        run.attempt, run.return_values = retry.attempt, dict(retry.return_values)
    retries = 0 if retry else int(root.params.get("TASK_AUTO_RETRY_ATTEMPTS", "0"))
    root_fq = f"{root.schema}.{root.name}"
    root_ran = root_fq not in succeeded
    root_state, failed = _run_members(engine, run, scheduled, source, succeeded)
    if not root_ran:
        root_state = "SUCCEEDED"
    while failed and retries > 0 and not root_state.endswith("AUTO_SUSPENDED"):
        retries -= 1
        run.attempt += 1
        root_ran = root_fq not in succeeded
        state, failed = _run_members(engine, run, scheduled, source, succeeded)
        if root_ran:
            root_state = state
    fin = finalizer(engine, root)
    if fin is not None and fin.state == "started" and root_state != "SKIPPED":
        run_task(engine, fin, scheduled, source, run)
    return root_state


def _run_members(
    engine: Core, run: GraphRun, scheduled: datetime, source: str, succeeded: set[str]
) -> tuple[str, bool]:
    """One attempt: every member not yet succeeded whose predecessors have; (root state, any failed)."""
    root = run.root
    root_fq = f"{root.schema}.{root.name}"
    state = "SUCCEEDED"
    if root_fq not in succeeded:
        state = run_task(engine, root, scheduled, source, run)
        if state != "SUCCEEDED":
            return state, state.startswith("FAILED")
        succeeded.add(root_fq)
    failed = False
    queue = children(engine, root)
    seen: set[str] = set()
    while queue:
        child = queue.pop(0)
        fq = f"{child.schema}.{child.name}"
        if fq in seen or child.state != "started":
            continue
        if fq in succeeded:  # a retry carries on below what already succeeded
            seen.add(fq)
            queue.extend(children(engine, child))
            continue
        if not all(p in succeeded for p in child.after):
            continue
        seen.add(fq)
        child_state = run_task(engine, child, scheduled, source, run)
        if child_state == "SUCCEEDED":
            succeeded.add(fq)
            queue.extend(children(engine, child))
        elif child_state.startswith("FAILED"):
            failed = True
    return state, failed


def run_task(engine: Core, task: TaskState, scheduled: datetime, source: str, graph_run: GraphRun) -> str:
    """One task run: WHEN, then the body in one transaction with its history row.

    Names in the condition and the body resolve in the task's own schema. A body that
    runs past the task's timeout (``USER_TASK_TIMEOUT_MS``, ``STATEMENT_TIMEOUT_IN_SECONDS``)
    is rolled back and the run FAILED, as on Snowflake (the engine cannot stop a
    statement midway: it finds out when the statement ends).
    """
    run = history.TaskRun(task, graph_run.root, scheduled, engine.tick(), source, graph_run.group)
    graph_run.task, graph_run.return_value = task, None
    graph_run.scheduled = graph_run.scheduled or scheduled
    engine.task_run = graph_run
    try:
        with engine.in_schema(task.schema):
            if task.when:
                try:
                    ok = bool(engine.execute(f"SELECT {task.when}").scalar())
                except MovieCdcError as exc:
                    return _finish(engine, task, run, graph_run, "FAILED", exc)
                if not ok:
                    return _finish(engine, task, run, graph_run, "SKIPPED", None)
            body = task.body.strip()
            deadline = _deadline(task)
            try:
                if _is_block(body):
                    for stmt in _block_statements(body):
                        _statement(engine, graph_run, stmt)
                        _check_deadline(deadline, task)
                    return _finish(engine, task, run, graph_run, "SUCCEEDED", None)
                with engine.transaction():
                    _statement(engine, graph_run, body)
                    _check_deadline(deadline, task)
                    faults.hit("task.body_done")
                    return _finish(engine, task, run, graph_run, "SUCCEEDED", None)
            except MovieCdcError as exc:
                return _finish(engine, task, run, graph_run, "FAILED", exc)
    finally:
        engine.task_run = None


_SET_RETURN = re.compile(r"(?is)\s*CALL\s+SYSTEM\$SET_RETURN_VALUE\s*\((.*)\)\s*;?\s*")


def _statement(engine: Core, graph_run: GraphRun, stmt: str) -> None:
    """Run one statement of a task body; ``CALL SYSTEM$SET_RETURN_VALUE(<expr>)`` sets the
    run's return value (TASK_HISTORY.RETURN_VALUE, read by dependents)."""
    m = _SET_RETURN.fullmatch(stmt)
    if m is None:
        engine.execute(stmt)
        return
    value = engine.execute(f"SELECT CAST(({m.group(1)}) AS VARCHAR)").scalar()
    text = None if value is None else str(value)
    if text is not None and len(text.encode()) > 10 * 1024:
        raise SqlError("SYSTEM$SET_RETURN_VALUE: the return value must be at most 10 kB (UTF-8)")
    graph_run.return_value = text


def _deadline(task: TaskState) -> float | None:
    """When the run times out (monotonic seconds), from the smaller non-zero of the task's
    timeouts; the default is Snowflake's 60 minutes."""
    limits = [int(task.params.get("USER_TASK_TIMEOUT_MS", "3600000")) / 1000]
    limits.append(float(task.params.get("STATEMENT_TIMEOUT_IN_SECONDS", "0")))
    positive = [x for x in limits if x > 0]
    return time.monotonic() + min(positive) if positive else None


def _check_deadline(deadline: float | None, task: TaskState) -> None:
    if deadline is not None and time.monotonic() > deadline:
        ms = int(task.params.get("USER_TASK_TIMEOUT_MS", "3600000"))
        raise SqlError(
            f"Statement reached its statement or warehouse timeout of {ms // 1000 or ms / 1000:g} second(s)"
            " and was canceled.",
            errno=630,
        )


def _is_block(body: str) -> bool:
    head = body.split(None, 1)[0].upper() if body else ""
    return head in {"BEGIN", "DECLARE"} and not body.upper().startswith("BEGIN TRANSACTION")


def _block_statements(body: str) -> list[str]:
    """Statements of a simple Snowflake Scripting block (``BEGIN stmt; ... END``)."""
    text = body.strip().rstrip(";").strip()
    if not (text.upper().startswith("BEGIN") and text.upper().endswith("END")):
        raise SqlError("the local engine runs only BEGIN <statements> END scripting blocks")
    inner = text[len("BEGIN") : -len("END")]
    stmts = [s.sql for s in split_statements(inner)]
    for s in stmts:
        head = s.split(None, 1)[0].upper()
        if head in {"LET", "IF", "FOR", "WHILE", "LOOP", "REPEAT", "CASE", "RETURN", "DECLARE"} or ":=" in s:
            raise SqlError(f"the local engine cannot run Snowflake Scripting statement {head} in a task body")
    return stmts


def _finish(
    engine: Core, task: TaskState, run: history.TaskRun, graph_run: GraphRun, state: str, exc: MovieCdcError | None
) -> str:
    """Record the run, count failures, auto-suspend, schedule the next slot."""
    with engine.transaction():
        task = engine.catalog.tasks.get((task.schema, task.name), task)
        if state == "FAILED":
            task.consecutive_failures += 1
            limit = task.suspend_after
            if limit > 0 and task.consecutive_failures >= limit and task.state == "started":
                state = "FAILED_AND_AUTO_SUSPENDED"
        elif state == "SUCCEEDED":
            task.consecutive_failures = 0
        if run.source in {"SCHEDULE", "TRIGGER"}:
            task.last_slot = run.scheduled
        if state == "FAILED_AND_AUTO_SUSPENDED":
            suspend_task(engine, task, "SUSPENDED_DUE_TO_ERRORS")
        else:
            engine.catalog.save(task)
        nxt = next_run(task, engine.now())
        if state == "SUCCEEDED" and graph_run.return_value is not None:
            graph_run.return_values[f"{task.schema}.{task.name}"] = graph_run.return_value
        history.record_task_run(
            engine,
            run,
            state,
            exc,
            nxt,
            attempt=graph_run.attempt,
            return_value=graph_run.return_value if state == "SUCCEEDED" else None,
            config=graph_run.config,
        )
        history.set_scheduled_row(engine, task, nxt)
    return state
