"""`moviecdc run`: drive the pipeline's tasks and refreshes.

Locally, the scheduler opens the database only for the length of one pass, so
`simulate`, `status`, `sql` and the dashboard can use it in between. A pass that finds
the file held by another command is skipped and tried again with back-off: the loop
never stops because another moviecdc command is working. On Snowflake the account
schedules everything itself; `run --once` triggers the task now and refreshes the
dynamic tables, reporting each outcome.

Every pass first finishes what a killed deploy left undone (its task suspended:
:func:`moviecdc.deploy_log.recover`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable

from moviecdc import deploy_log
from moviecdc.clock import Clock
from moviecdc.config import Settings
from moviecdc.errors import ConfigError, DatabaseBusyError, MovieCdcError
from moviecdc.names import DYNAMIC_TABLES, EVENTS_TABLE
from moviecdc.render import literal, namespace
from moviecdc.warehouse import connect
from moviecdc.warehouse.base import PipelineRun, PipelineStep, Warehouse
from moviecdc.warehouse.snowflake import run_snowflake_once

__all__ = ["run_local_pass", "run_loop", "run_once", "run_pass", "run_snowflake_once"]

MAX_BACKOFF = 60.0  # seconds: the longest wait between tries while the file is busy


def run_pass(wh: Warehouse, ns: str, *, catch_up: bool, counts: bool = False) -> PipelineRun:
    """One pass on an open target: recover from a killed deploy, then run the pipeline.

    With ``counts``, the result also says how many change events the pass added and how
    many rows each refresh inserted and deleted (a few more small queries)."""
    try:
        note = deploy_log.recover(wh, ns)
    except MovieCdcError as exc:  # reading the history must never stop the pipeline
        note = f"could not check for an unfinished deploy: {exc.message}"
    before = _count(wh, f"{ns}.{EVENTS_TABLE}") if counts else None
    result = wh.run_pipeline(catch_up=catch_up)
    if note is not None:
        result.notes.insert(0, note)
    if counts:
        after = _count(wh, f"{ns}.{EVENTS_TABLE}")
        if before is not None and after is not None:
            result.events_added = after - before
        result.steps = [_with_rows(wh, ns, step) for step in result.steps]
    return result


def _count(wh: Warehouse, table: str) -> int | None:
    try:
        value = wh.execute(f"SELECT COUNT(*) FROM {table}").scalar()
    except MovieCdcError:
        return None
    return _int(value)


def _with_rows(wh: Warehouse, ns: str, step: PipelineStep) -> PipelineStep:
    """The step, with the rows its refresh inserted and deleted (from the refresh history)."""
    name = step.label.split()[-1].split(".")[-1].lower()
    if name not in DYNAMIC_TABLES or not step.outcome.startswith("SUCCEEDED") or "NO_DATA" in step.outcome:
        return step
    try:
        row = wh.execute(
            "SELECT STATISTICS FROM TABLE(INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY("
            f"NAME => {literal(ns + '.' + name)}, RESULT_LIMIT => 1)) ORDER BY REFRESH_START_TIME DESC"
        ).scalar()
        stats = json.loads(row) if isinstance(row, str) else row
    except (MovieCdcError, ValueError):
        return step
    if not isinstance(stats, dict):
        return step
    ins, dele = stats.get("numInsertedRows"), stats.get("numDeletedRows")
    return dataclasses.replace(step, rows=(_int(ins), _int(dele)))


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[call-overload,no-any-return]
    except (TypeError, ValueError):
        return None


def run_local_pass(
    settings: Settings, *, catch_up: bool, clock: Clock | None = None, counts: bool = False
) -> PipelineRun:
    """One scheduler pass on the local database (opened and closed here)."""
    wh = connect(settings, command="run", clock=clock)
    try:
        return run_pass(wh, namespace(settings), catch_up=catch_up, counts=counts)
    finally:
        wh.close()


def run_once(settings: Settings, *, clock: Clock | None = None, counts: bool = False) -> PipelineRun:
    """`run --once` on either target: every task now, then the refreshes."""
    if settings.target == "local":
        return run_local_pass(settings, catch_up=True, clock=clock, counts=counts)
    wh = connect(settings, command="run")
    try:
        return run_pass(wh, namespace(settings), catch_up=True, counts=counts)
    finally:
        wh.close()


def run_loop(
    settings: Settings,
    *,
    interval: float = 5.0,
    clock: Clock | None = None,
    on_pass: Callable[[PipelineRun], None] | None = None,
    on_skip: Callable[[str, float], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run passes every ``interval`` seconds until ``should_stop``; returns passes run.

    A pass that cannot open the file within ``min(busy_timeout, interval)`` seconds
    because another process holds it is skipped: ``on_skip(message, wait)`` is told,
    and the next try comes after ``wait`` seconds, doubling from ``interval`` up to
    :data:`MAX_BACKOFF` while the file stays busy.
    """
    if settings.target != "local":
        raise ConfigError(
            "Snowflake schedules tasks and refreshes itself; use `moviecdc run --once` to trigger them now"
        )
    patient = dataclasses.replace(settings, busy_timeout=min(settings.busy_timeout, max(interval, 1.0)))
    passes = 0
    wait = interval
    while not should_stop():
        try:
            report = run_local_pass(patient, catch_up=False, clock=clock)
        except DatabaseBusyError as exc:
            wait = min(max(wait * 2, interval), MAX_BACKOFF)
            if on_skip is not None:
                on_skip(exc.message, wait)
            _pause(wait, sleep, should_stop)
            continue
        wait = interval
        passes += 1
        if on_pass is not None:
            on_pass(report)
        if should_stop():
            break
        _pause(interval, sleep, should_stop)
    return passes


def _pause(seconds: float, sleep: Callable[[float], None], should_stop: Callable[[], bool]) -> None:
    """Sleep in short steps, so that a stop request is seen within a second."""
    left = seconds
    while left > 0 and not should_stop():
        step = min(left, 1.0)
        sleep(step)
        left -= step
