"""`moviecdc run`: the loop, and the database released between passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from moviecdc.clock import ManualClock
from moviecdc.config import Settings
from moviecdc.scheduler import run_local_pass, run_loop
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline


@pytest.mark.parametrize(("mode", "copied_in"), [("triggered", 1), ("scheduled", 3)])
def test_loop_runs_passes_and_releases_the_database(
    tmp_path: Path, clock: ManualClock, mode: str, copied_in: int
) -> None:
    """The triggered task (the default, https://docs.snowflake.com/en/user-guide/tasks-triggered)
    runs on the loop's first pass, as the stream has data; the scheduled variant
    (https://docs.snowflake.com/en/sql-reference/sql/create-task, '1 MINUTE' counted from
    RESUME) on the pass a minute later."""
    db = tmp_path / "s.duckdb"
    with LocalWarehouse(db, clock=clock) as wh:
        deploy_pipeline(wh, task_mode=mode)
        wh.execute(f"INSERT INTO {NS}.raw_movie_bookings (booking_id, status) VALUES ('B1', 'BOOKED')")
    settings = Settings(db_path=db)
    passes: list[object] = []
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        if len(slept) % 30 == 0:  # at the start of each wait, another process could open it
            duckdb.connect(str(db)).close()
        slept.append(seconds)
        clock.advance(seconds=seconds)

    n = run_loop(settings, interval=30, clock=clock, on_pass=passes.append,
                 should_stop=lambda: len(passes) >= 3, sleep=sleep)  # fmt: skip
    # two waits of 30 s, slept in steps of at most 1 s so that Ctrl-C is seen at once
    assert n == 3 and sum(slept) == 60 and max(slept) <= 1
    outcomes = [[s.outcome for s in p.steps if s.label.startswith("task ")] for p in passes]  # type: ignore[attr-defined]
    copied = [i + 1 for i, o in enumerate(outcomes) if "SUCCEEDED" in o]
    assert copied == [copied_in], outcomes  # scheduled: the 1-minute slot came on the 2nd sleep
    assert {o for out in outcomes for o in out} <= {"SUCCEEDED", "SKIPPED"}  # then the stream is empty
    with LocalWarehouse(db, clock=clock) as wh:
        assert wh.execute(f"SELECT count(*) FROM {NS}.movie_booking_cdc_events").scalar() == 1


def test_catch_up_pass_refreshes_the_chain(tmp_path: Path, clock: ManualClock) -> None:
    db = tmp_path / "s.duckdb"
    with LocalWarehouse(db, clock=clock) as wh:
        deploy_pipeline(wh)
        wh.execute(
            f"INSERT INTO {NS}.raw_movie_bookings (booking_id, customer_id, movie_id, booking_date, status,"
            " ticket_count, ticket_price) VALUES ('B1', 'C1', 'M1', '2025-09-01 20:00', 'BOOKED', 2, 12)"
        )
    report = run_local_pass(Settings(db_path=db), catch_up=True, clock=clock)
    assert report.ok
    assert [(s.label, s.outcome) for s in report.steps if s.label.startswith("dynamic table")] == [
        ("dynamic table CDC.MOVIE_BOOKINGS_FILTERED", "SUCCEEDED (INCREMENTAL)"),
        ("dynamic table CDC.MOVIE_BOOKING_INSIGHTS", "SUCCEEDED (INCREMENTAL)"),
    ]
    with LocalWarehouse(db, clock=clock) as wh:
        assert wh.execute(f"SELECT active_revenue FROM {NS}.movie_booking_insights").scalar() == 24


def test_loop_skips_a_pass_while_another_process_holds_the_file(tmp_path: Path, clock: ManualClock) -> None:
    """`run` never dies of contention: a busy pass is skipped, told, and tried again with back-off."""
    db = tmp_path / "b.duckdb"
    with LocalWarehouse(db, clock=clock) as wh:
        deploy_pipeline(wh)
        wh.execute(f"INSERT INTO {NS}.raw_movie_bookings (booking_id, status) VALUES ('B1', 'BOOKED')")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, sys, time; c = duckdb.connect({str(db)!r}); print('held', flush=True);"
         " sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        skips: list[tuple[str, float]] = []
        passes: list[object] = []
        waits: list[float] = []

        def on_skip(message: str, wait: float) -> None:
            skips.append((message, wait))
            if len(skips) == 3 and holder.stdin is not None:  # the other command finishes
                holder.stdin.close()
                holder.wait(10)

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            clock.advance(seconds=seconds)

        settings = Settings(db_path=db, busy_timeout=0.2)
        n = run_loop(settings, interval=5, clock=clock, on_pass=passes.append, on_skip=on_skip,
                     should_stop=lambda: len(passes) >= 1, sleep=sleep)  # fmt: skip
    finally:
        holder.kill()
        holder.wait()
    assert n == 1
    assert [w for _, w in skips] == [10, 20, 40]  # doubling from the interval
    assert all("is busy" in m for m, _ in skips)
    assert sum(waits) == 70 and max(waits) <= 1
    with LocalWarehouse(db, clock=clock) as wh:
        assert wh.execute(f"SELECT count(*) FROM {NS}.movie_booking_cdc_events").scalar() == 1
