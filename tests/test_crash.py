"""Nothing lost across crashes: processes killed with SIGKILL at random points of task
runs, refreshes, change capture and simulate batches; after a restart and a catch-up
every change is in the events table exactly once and the oracle holds.

Each trial forks a child that works on the database until the injected fault kills it
(MOVIECDC_CRASH_AT, see moviecdc/emulator/faults.py); the parent then reopens the file,
catches the pipeline up and checks it.
"""

from __future__ import annotations

import importlib
import os
import random
import signal
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator import faults
from moviecdc.emulator.scheduler import run_pending
from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import INSERT_COLUMNS, apply_changes
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.exactly_once import Ledger
from tests.test_simulate_oracle import check_consistency

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
POINTS = ["commit.before", "commit.after", "capture.between", "task.body_done", "refresh.recomputed", "*"]
TRIALS = 50


def in_child(work: object, crash_at: str) -> int:
    """Run ``work()`` in a forked child with a fault armed; return how the child ended."""
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:  # the child: arm the fault, work, and leave without cleanup
        code = 0
        try:
            os.environ["MOVIECDC_CRASH_AT"] = crash_at
            importlib.reload(faults)
            work()  # type: ignore[operator]
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def source_rows(db: Path, clock: ManualClock) -> Counter[tuple[object, ...]]:
    with LocalWarehouse(db, clock=clock) as wh:
        return Counter(wh.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM {NS}.raw_movie_bookings").rows)


def batch_applied_to(rows: Counter[tuple[object, ...]], batch: list[object]) -> Counter[tuple[object, ...]]:
    """The source as it would be after the whole batch: the batch applied to a copy."""
    with LocalWarehouse(":memory:") as wh:
        wh.execute(f"CREATE SCHEMA IF NOT EXISTS {NS}")
        wh.execute(f"CREATE TABLE {NS}.raw_movie_bookings (booking_id STRING, customer_id STRING, movie_id STRING,"
                   " booking_date TIMESTAMP_NTZ, status STRING, ticket_count INT, ticket_price NUMBER(10, 2),"
                   " updated_at TIMESTAMP_NTZ)")  # fmt: skip
        wh.insert_rows(f"{NS}.raw_movie_bookings", INSERT_COLUMNS, list(rows.elements()))
        apply_changes(wh, NS, batch)  # type: ignore[arg-type]
        return Counter(wh.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM {NS}.raw_movie_bookings").rows)


@pytest.mark.slow
def test_crashes_anywhere_lose_nothing(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(db, clock=clock) as wh:
        deploy_pipeline(wh)
    rng = random.Random(20251127)
    gen = ChangeGenerator(7)
    killed = 0
    ledger = Ledger()  # the exactly-once model, checked after every trial's catch-up
    for trial in range(TRIALS):
        batch = gen.changes(rng.randint(1, 60))
        before = source_rows(db, clock)

        def work(batch: list[object] = batch) -> None:
            with LocalWarehouse(db, clock=clock) as child:
                apply_changes(child, NS, batch)  # type: ignore[arg-type]
                for _ in range(3):
                    clock.advance(seconds=61)
                    run_pending(child.engine, catch_up=True)

        point = rng.choice(POINTS)
        code = in_child(work, f"{point}:{rng.randint(1, 12)}")
        killed += code == -signal.SIGKILL
        assert code in (0, -signal.SIGKILL), f"trial {trial}: child ended with {code}"
        after = source_rows(db, clock)
        # the batch is wholly in the source, or not at all
        whole = batch_applied_to(before, batch)
        assert after in (before, whole), f"trial {trial}: a partial batch after a crash at {point}"
        applied = after == whole
        if code == 0:
            assert applied
        # a restart catches up; every change reaches the events exactly once; the oracle holds
        with LocalWarehouse(db, clock=clock) as wh:
            clock.advance(seconds=61 * 4)  # past the child's clock, which advanced in its own process
            run_pending(wh.engine, catch_up=True)
            check_consistency(wh, ledger)
        if not applied:  # the generator's model assumed the batch went in: keep them in step
            with LocalWarehouse(db, clock=clock) as wh:
                apply_changes(wh, NS, batch)  # type: ignore[arg-type]
    assert killed >= TRIALS // 2, killed  # most trials really did die mid-work
