"""A whole `moviecdc simulate` run: seeding, bulk loads and change batches."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from moviecdc.config import Settings
from moviecdc.emulator.clock import Clock
from moviecdc.errors import SqlError
from moviecdc.simulate.generator import Booking, ChangeGenerator
from moviecdc.simulate.runner import (
    INSERT_COLUMNS,
    ChangeCounts,
    apply_changes,
    booking_row,
    load_sample,
    source_table,
)
from moviecdc.warehouse import connect
from moviecdc.warehouse.base import Warehouse

BATCH = 10_000


@dataclass(frozen=True)
class SimulationPlan:
    sample: bool = False
    bookings: int = 0
    changes: int = 0
    seed: int | None = None
    rate: int | None = None
    duration: float | None = None
    run_pipeline: bool = False
    batch_size: int = BATCH


def _known(wh: Warehouse, ns: str) -> list[Booking]:
    try:
        res = wh.execute(
            f"SELECT {', '.join(INSERT_COLUMNS)} FROM {source_table(ns)}"
            " WHERE booking_id IS NOT NULL ORDER BY booking_id"
        )
    except SqlError as exc:
        raise SqlError(f"cannot read {source_table(ns)}: {exc.message}", hint="run `moviecdc deploy` first") from exc
    return [Booking(*row) for row in res.rows]  # type: ignore[arg-type]


def _catch_up(wh: Warehouse) -> None:
    from moviecdc.emulator.pipeline import run_pending
    from moviecdc.warehouse.local import LocalWarehouse

    if isinstance(wh, LocalWarehouse):
        run_pending(wh.engine, catch_up=True)


def run_simulation(
    settings: Settings,
    plan: SimulationPlan,
    ns: str,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Apply ``plan`` to the target; returns the summary printed by the CLI.

    Locally the database is opened per batch, so `moviecdc run` can work between
    batches of a long ``--rate`` run.
    """
    seed = plan.seed if plan.seed is not None else random.SystemRandom().randrange(2**31)
    counts = ChangeCounts()
    sample_loaded = bookings_loaded = 0
    started = time.perf_counter()
    wh = connect(settings, command="simulate", clock=clock)
    try:
        gen = ChangeGenerator(seed)
        gen.known(_known(wh, ns))
        if plan.sample:
            sample_loaded = load_sample(wh, ns)
            if sample_loaded:
                gen.known(_known(wh, ns))
        left = plan.bookings
        while left > 0 and not should_stop():
            batch = gen.bookings(min(left, plan.batch_size))
            bookings_loaded += wh.insert_rows(source_table(ns), INSERT_COLUMNS, [booking_row(b) for b in batch])
            left -= len(batch)
        left = plan.changes
        while left > 0 and not should_stop():
            batch_changes = gen.changes(min(left, plan.batch_size))
            counts = counts + apply_changes(wh, ns, batch_changes)
            left -= len(batch_changes)
            if plan.run_pipeline:
                _catch_up(wh)
        if plan.run_pipeline and (sample_loaded or bookings_loaded) and not plan.changes:
            _catch_up(wh)
    finally:
        wh.close()
    if plan.rate:
        deadline = None if plan.duration is None else time.monotonic() + plan.duration
        while not should_stop() and (deadline is None or time.monotonic() < deadline):
            tick = time.monotonic()
            wh = connect(settings, command="simulate", clock=clock)
            try:
                counts = counts + apply_changes(wh, ns, gen.changes(plan.rate))
                if plan.run_pipeline:
                    _catch_up(wh)
            finally:
                wh.close()
            sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    elapsed = max(time.perf_counter() - started, 1e-9)
    rows = sample_loaded + bookings_loaded + counts.total
    return {
        "seed": seed,
        "sample_loaded": sample_loaded,
        "bookings_loaded": bookings_loaded,
        "changes": counts.as_dict(),
        "total_changes": counts.total,
        "seconds": round(elapsed, 3),
        "rows_per_second": rows / elapsed,
        "interrupted": should_stop(),
    }
