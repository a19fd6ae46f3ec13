"""`moviecdc run`: drive the pipeline's tasks and refreshes.

Locally, the scheduler opens the database only for the length of one pass, so
`simulate`, `status`, `sql` and the dashboard can use it in between. On Snowflake
the account schedules everything itself; `run --once` triggers the task now and
refreshes the dynamic tables, reporting each outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from moviecdc.config import Settings
from moviecdc.emulator.clock import Clock
from moviecdc.emulator.pipeline import PassReport, run_pending
from moviecdc.errors import ConfigError, MovieCdcError
from moviecdc.warehouse import connect
from moviecdc.warehouse.base import Warehouse
from moviecdc.warehouse.local import LocalWarehouse

TASK = "consume_stream_task"
DYNAMIC_TABLES = ("movie_bookings_filtered", "movie_booking_insights")


def run_local_pass(settings: Settings, *, catch_up: bool, clock: Clock | None = None) -> PassReport:
    """One scheduler pass on the local database (opened and closed here)."""
    wh = connect(settings, command="run", clock=clock)
    try:
        assert isinstance(wh, LocalWarehouse)
        return run_pending(wh.engine, catch_up=catch_up)
    finally:
        wh.close()


def run_loop(
    settings: Settings,
    *,
    interval: float = 5.0,
    clock: Clock | None = None,
    on_pass: Callable[[PassReport], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run passes every ``interval`` seconds until ``should_stop``; returns passes run."""
    if settings.target != "local":
        raise ConfigError(
            "Snowflake schedules tasks and refreshes itself; use `moviecdc run --once` to trigger them now"
        )
    passes = 0
    while not should_stop():
        report = run_local_pass(settings, catch_up=False, clock=clock)
        passes += 1
        if on_pass is not None:
            on_pass(report)
        if should_stop():
            break
        sleep(interval)
    return passes


@dataclass
class SnowflakeRunReport:
    """Each step of `run --once` on Snowflake and how it ended."""

    steps: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(outcome.split()[0] in {"SUCCEEDED", "SKIPPED"} for _, outcome in self.steps)


TERMINAL = {"SUCCEEDED", "FAILED", "FAILED_AND_AUTO_SUSPENDED", "CANCELLED", "SKIPPED"}


def run_snowflake_once(
    wh: Warehouse,
    ns: str,
    *,
    timeout: float = 600.0,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SnowflakeRunReport:
    """EXECUTE TASK and wait for the run; then refresh the dynamic tables upstream first.

    EXECUTE TASK only queues a run, so the run is followed in TASK_HISTORY (the newest
    EXECUTE_TASK run of the task) until it ends. ALTER DYNAMIC TABLE ... REFRESH is
    synchronous; each one's outcome is reported.
    """
    report = SnowflakeRunReport()
    database = ns.split(".")[0]
    before = _last_manual_run(wh, database, ns)
    wh.execute(f"EXECUTE TASK {ns}.{TASK}")
    deadline = clock() + timeout
    while True:
        run = _last_manual_run(wh, database, ns)
        is_new = run is not None and (before is None or run[1] != before[1])
        if is_new and run is not None and run[0] in TERMINAL:
            state, error = run[0], run[2]
            break
        if clock() >= deadline:
            state, error = f"still running after {timeout:g} s", None
            break
        sleep(poll)
    report.steps.append((f"EXECUTE TASK {TASK}", state + (f": {error}" if error else "")))
    for name in DYNAMIC_TABLES:
        try:
            res = wh.execute(f"ALTER DYNAMIC TABLE {ns}.{name} REFRESH")
            outcome = "SUCCEEDED"
            if res.rows and len(res.rows[0]) >= 3:
                outcome = f"{res.rows[0][1]} ({res.rows[0][2]})"
        except MovieCdcError as exc:
            outcome = f"FAILED: {exc.message}"
        report.steps.append((f"REFRESH {name}", outcome))
    return report


def _last_manual_run(wh: Warehouse, database: str, ns: str) -> tuple[str, object, str | None] | None:
    """(state, scheduled time, error) of the task's newest EXECUTE_TASK run, if any."""
    rows = wh.execute(
        f"SELECT STATE, SCHEDULED_TIME, ERROR_MESSAGE, SCHEDULED_FROM FROM TABLE({database}.INFORMATION_SCHEMA."
        f"TASK_HISTORY(TASK_NAME => '{TASK.upper()}', RESULT_LIMIT => 20)) ORDER BY SCHEDULED_TIME DESC"
    ).rows
    for state, scheduled, error, source in rows:
        if source == "EXECUTE_TASK":
            return str(state), scheduled, error  # type: ignore[return-value]
    return None
