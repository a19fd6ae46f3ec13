"""A whole `moviecdc simulate` run: seeding, bulk loads and change batches."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from moviecdc.clock import Clock
from moviecdc.config import Settings
from moviecdc.errors import ConfigError, SqlError
from moviecdc.simulate.generator import (
    CHANGE_KINDS,
    DEFAULT_END,
    DEFAULT_MIX,
    DEFAULT_START,
    Booking,
    ChangeGenerator,
)
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
    """What `simulate` was asked to do."""

    sample: bool = False
    bookings: int = 0
    changes: int = 0
    seed: int | None = None
    rate: int | None = None
    duration: float | None = None
    run_pipeline: bool = False
    batch_size: int = BATCH
    mix: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_MIX))
    start: datetime = DEFAULT_START
    end: datetime = DEFAULT_END

    def describe(self, target: str, ns: str) -> list[str]:
        """The plan in words, for ``--dry-run``."""
        lines = [f"target: {target} {ns}", f"seed: {self.seed if self.seed is not None else 'random'}"]
        if self.sample:
            lines.append("load the 5 sample bookings (skipped if they are already there)")
        if self.bookings:
            lines.append(f"bulk-load {self.bookings:,} bookings in batches of {self.batch_size:,}")
        if self.changes:
            lines.append(f"apply {self.changes:,} changes in batches of {self.batch_size:,}")
        if self.rate:
            until = f"for {self.duration:g} s" if self.duration is not None else "until Ctrl-C"
            lines.append(f"apply {self.rate:,} changes per second {until}")
        if self.changes or self.rate:
            mix = ", ".join(f"{k}={v:g}" for k, v in self.mix.items())
            lines.append(f"mix: {mix}")
        lines.append(f"booking times: {self.start:%Y-%m-%d} to {self.end:%Y-%m-%d}")
        if self.run_pipeline:
            lines.append("catch the local pipeline up after each batch")
        return lines


def parse_mix(text: str) -> dict[str, float]:
    """``insert=0.5,update=0.2,...`` → shares; kinds left out get 0.

    Raises:
        ConfigError: an unknown kind or a value that is not a non-negative number.
    """
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in CHANGE_KINDS:
            raise ConfigError(f"invalid --mix item {part!r}: use KIND=SHARE with KIND one of {', '.join(CHANGE_KINDS)}")
        try:
            share = float(value)
        except ValueError:
            raise ConfigError(f"invalid --mix share {value!r} for {key}: not a number") from None
        if not math.isfinite(share) or share < 0:
            raise ConfigError(f"invalid --mix share {value!r} for {key}: must be a finite number, 0 or more")
        mix[key] = share
    top = max(mix.values(), default=0.0)
    if top <= 0:
        raise ConfigError("--mix needs at least one kind with a share above 0")
    # shares are relative: scaled by the largest first, so that 1e308 + 1e308 cannot overflow
    scaled = {k: v / top for k, v in mix.items()}
    total = sum(scaled.values())
    return {k: v / total for k, v in scaled.items()}


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
    wh.run_pipeline(catch_up=True)


def run_simulation(
    settings: Settings,
    plan: SimulationPlan,
    ns: str,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Callable[[int], None] = lambda n: None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Apply ``plan`` to the target; returns the summary the CLI prints.

    Locally the database is opened per batch of a ``--rate`` run, so `moviecdc run`
    can work between batches. ``on_progress`` gets the rows written by each batch.
    """
    seed = plan.seed if plan.seed is not None else random.SystemRandom().randrange(2**31)
    gen = ChangeGenerator(seed, start=plan.start, end=plan.end, mix=plan.mix)
    counts = ChangeCounts()
    sample_loaded = bookings_loaded = 0
    started = time.perf_counter()
    wh = connect(settings, command="simulate", clock=clock)
    try:
        gen.known(_known(wh, ns))
        if plan.sample:
            sample_loaded = load_sample(wh, ns)
            if sample_loaded:
                gen.known(_known(wh, ns))
            on_progress(sample_loaded)
        left = plan.bookings
        while left > 0 and not should_stop():
            batch = gen.bookings(min(left, plan.batch_size))
            bookings_loaded += wh.insert_rows(source_table(ns), INSERT_COLUMNS, [booking_row(b) for b in batch])
            left -= len(batch)
            on_progress(len(batch))
        left = plan.changes
        while left > 0 and not should_stop():
            batch_changes = gen.changes(min(left, plan.batch_size))
            counts = counts + apply_changes(wh, ns, batch_changes)
            left -= len(batch_changes)
            if plan.run_pipeline:
                _catch_up(wh)
            on_progress(len(batch_changes))
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
            on_progress(plan.rate)
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
        "rows_per_second": round(rows / elapsed, 1),
        "interrupted": should_stop(),
    }
