"""Task runs: WHEN, the body in one transaction, history, failures, graphs (reference section 2)."""

from __future__ import annotations

from datetime import datetime, timedelta

from moviecdc.dialect.schedule import parse_schedule
from moviecdc.dialect.split import split_statements
from moviecdc.emulator import (
    faults,
    history,
)
from moviecdc.emulator.catalog import TaskState
from moviecdc.emulator.core import Core
from moviecdc.errors import MovieCdcError, SqlError

TRIGGERED_MIN_INTERVAL = timedelta(seconds=30)


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
    task.last_committed_on = engine.now()
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


def run_graph(engine: Core, root: TaskState, scheduled: datetime, source: str) -> str:
    """Run a root task, then every started child whose predecessors all succeeded."""
    group = engine.new_id()
    state = run_task(engine, root, scheduled, source, group, root)
    succeeded = {f"{root.schema}.{root.name}"} if state == "SUCCEEDED" else set()
    queue = children(engine, root) if state == "SUCCEEDED" else []
    seen: set[str] = set()
    while queue:
        child = queue.pop(0)
        fq = f"{child.schema}.{child.name}"
        if fq in seen or child.state != "started":
            continue
        if not all(p in succeeded for p in child.after):
            continue
        seen.add(fq)
        if run_task(engine, child, scheduled, source, group, root) == "SUCCEEDED":
            succeeded.add(fq)
            queue.extend(children(engine, child))
    return state


def run_task(
    engine: Core,
    task: TaskState,
    scheduled: datetime,
    source: str,
    group: str,
    root: TaskState,
) -> str:
    """One task run: WHEN, then the body in one transaction with its history row.

    Names in the condition and the body resolve in the task's own schema.
    """
    run = history.TaskRun(task, root, scheduled, engine.tick(), source, group)
    with engine.in_schema(task.schema):
        if task.when:
            try:
                ok = bool(engine.execute(f"SELECT {task.when}").scalar())
            except MovieCdcError as exc:
                return _finish(engine, task, run, "FAILED", exc)
            if not ok:
                return _finish(engine, task, run, "SKIPPED", None)
        body = task.body.strip()
        try:
            if _is_block(body):
                for stmt in _block_statements(body):
                    engine.execute(stmt)
                return _finish(engine, task, run, "SUCCEEDED", None)
            with engine.transaction():
                engine.execute(body)
                faults.hit("task.body_done")
                return _finish(engine, task, run, "SUCCEEDED", None)
        except MovieCdcError as exc:
            return _finish(engine, task, run, "FAILED", exc)


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


def _finish(engine: Core, task: TaskState, run: history.TaskRun, state: str, exc: MovieCdcError | None) -> str:
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
        history.record_task_run(engine, run, state, exc, nxt)
        history.set_scheduled_row(engine, task, nxt)
    return state
