"""`moviecdc run`: drive the pipeline's tasks and refreshes.

Locally, the scheduler opens the database only for the length of one pass, so
`simulate`, `status`, `sql` and the dashboard can use it in between. On Snowflake
the account schedules everything itself; `run --once` triggers the task now and
refreshes the dynamic tables, reporting each outcome.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from moviecdc.clock import Clock
from moviecdc.config import Settings
from moviecdc.errors import ConfigError
from moviecdc.warehouse import connect
from moviecdc.warehouse.base import PipelineRun
from moviecdc.warehouse.snowflake import run_snowflake_once

__all__ = ["run_local_pass", "run_loop", "run_snowflake_once"]


def run_local_pass(settings: Settings, *, catch_up: bool, clock: Clock | None = None) -> PipelineRun:
    """One scheduler pass on the local database (opened and closed here)."""
    wh = connect(settings, command="run", clock=clock)
    try:
        return wh.run_pipeline(catch_up=catch_up)
    finally:
        wh.close()


def run_loop(
    settings: Settings,
    *,
    interval: float = 5.0,
    clock: Clock | None = None,
    on_pass: Callable[[PipelineRun], None] | None = None,
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
