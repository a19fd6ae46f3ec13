"""A whole `moviecdc simulate` run: seeding, bulk loads and change batches."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
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
    INERT,
    STATUSES,
    ChangeGenerator,
    Row,
    sample_bookings,
)
from moviecdc.simulate.keyed import MAX_NUMBER, BookingModel
from moviecdc.simulate.runner import ChangeCounts, apply_changes, load_sample, source_table
from moviecdc.warehouse import connect
from moviecdc.warehouse.base import Warehouse

BATCH = 10_000
#: Bookings per generating INSERT of a bulk load (each is one statement on the target).
# the phases of a run, as ``on_progress`` names them
SAMPLE, BOOKINGS, CHANGES = "sample bookings", "bookings", "changes"
Progress = Callable[[str, int], None]
BULK_BATCH = 1_000_000
_LOOKUP_CHUNK = 1000  # ids per lookup query (the generator asks for at most this many)


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
            per = max(self.batch_size, BULK_BATCH)
            lines.append(f"bulk-load {self.bookings:,} bookings, generated on the target ({per:,} per statement)")
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


def next_number(wh: Warehouse, ns: str) -> int:
    """The first booking number after the highest ``BK`` + nine digits id in the table.

    One aggregate on the target (no rows cross the wire).
    """
    table = source_table(ns)
    try:
        res = wh.execute(
            f"SELECT MAX(booking_id) FROM {table}"
            " WHERE booking_id LIKE 'BK_________' AND booking_id BETWEEN 'BK000000000' AND 'BK999999999'"
        )
        top = res.rows[0][0] if res.rows else None
        if isinstance(top, str) and not top[2:].isdigit():  # an id like BK12345678x sorts above
            res = wh.execute(f"SELECT MAX(booking_id) FROM {table} WHERE REGEXP_LIKE(booking_id, 'BK[0-9]{{9}}')")
            top = res.rows[0][0] if res.rows else None
    except SqlError as exc:
        raise SqlError(f"cannot read {table}: {exc.message}", hint="run `moviecdc deploy` first") from exc
    return int(top[2:]) + 1 if isinstance(top, str) else 1


def lookup_rows(wh: Warehouse, ns: str, ids: list[str]) -> dict[str, Row]:
    """The rows of ``ids`` present in the source table: status and ticket count.

    Rows that fail the pipeline's data-quality rule, or have a status other than BOOKED
    and CANCELLED, come back as INERT: the generator never changes them.
    """
    table = source_table(ns)
    found: dict[str, Row] = {}
    for i in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[i : i + _LOOKUP_CHUNK]
        marks = ", ".join("?" for _ in chunk)
        res = wh.execute(
            f"SELECT booking_id, status, ticket_count, customer_id IS NOT NULL AND movie_id IS NOT NULL"
            f" AND ticket_count > 0 AND ticket_price > 0 FROM {table} WHERE booking_id IN ({marks})",
            chunk,
        )
        for bid, status, count, valid in res.rows:
            ok = bool(valid) and status in STATUSES and bid not in found
            found[str(bid)] = Row(str(status), int(str(count))) if ok else Row(INERT)
    return found


def _known_samples(wh: Warehouse, ns: str) -> list[Any]:
    """The sample bookings still in the table, with their current status and ticket count."""
    samples = {b.booking_id: b for b in sample_bookings()}
    rows = lookup_rows(wh, ns, sorted(i for i in samples if i))
    return [
        replace(samples[bid], status=str(row.status), ticket_count=row.ticket_count)
        for bid, row in sorted(rows.items())
        if row.status != INERT
    ]


def _catch_up(wh: Warehouse) -> None:
    wh.run_pipeline(catch_up=True)


class Simulation:
    """One `simulate` run on one target: its seed's bookings, its changes, its counts.

    Bulk loads are generated on the target by one statement per million rows; changes
    look up only the bookings they draw, so nothing reads the whole table.
    """

    def __init__(self, plan: SimulationPlan, ns: str, seed: int) -> None:
        self.plan, self.ns, self.seed = plan, ns, seed
        self.table = source_table(ns)
        self.model = BookingModel(seed, start=plan.start, end=plan.end)
        self.counts = ChangeCounts()
        self.sample_loaded = self.bookings_loaded = 0
        self._gen: ChangeGenerator | None = None
        self._wh: Warehouse | None = None

    def _lookup(self, ids: Sequence[str]) -> dict[str, Row]:
        assert self._wh is not None
        return lookup_rows(self._wh, self.ns, list(ids))

    def run(
        self,
        wh: Warehouse,
        *,
        should_stop: Callable[[], bool] = lambda: False,
        on_progress: Progress = lambda phase, n: None,
    ) -> None:
        """The samples, the bulk load and ``--changes``, on one open connection."""
        plan = self.plan
        self._wh = wh
        first = next_number(wh, self.ns)
        if plan.sample:
            on_progress(SAMPLE, 0)
            self.sample_loaded = load_sample(wh, self.ns)
            on_progress(SAMPLE, 5)
        left = plan.bookings
        if first + left - 1 > MAX_NUMBER:
            raise ConfigError(f"{left:,} more bookings would need ids past BK{MAX_NUMBER}")
        if left > 0:
            on_progress(BOOKINGS, 0)
        while left > 0 and not should_stop():
            count = min(left, max(plan.batch_size, BULK_BATCH))
            wh.execute(self.model.insert_sql(self.table, first, count))
            first += count
            self.bookings_loaded += count
            left -= count
            on_progress(BOOKINGS, count)
        if plan.changes or plan.rate:
            self._gen = ChangeGenerator(
                self.seed, start=plan.start, end=plan.end, mix=plan.mix, next_number=first, lookup=self._lookup
            )
            self._gen.known(_known_samples(wh, self.ns))
        left = plan.changes
        if left > 0:
            on_progress(CHANGES, 0)
        while left > 0 and not should_stop():
            n = min(left, plan.batch_size)
            self.apply(wh, n)
            left -= n
            on_progress(CHANGES, n)
        if plan.run_pipeline and (self.sample_loaded or self.bookings_loaded) and not plan.changes:
            _catch_up(wh)

    def apply(self, wh: Warehouse, n: int) -> None:
        """One batch of ``n`` changes in one transaction (then the pipeline, if asked)."""
        assert self._gen is not None, "run() first"
        self._wh = wh
        self.counts = self.counts + apply_changes(wh, self.ns, self._gen.changes(n))
        if self.plan.run_pipeline:
            _catch_up(wh)


def run_simulation(
    settings: Settings,
    plan: SimulationPlan,
    ns: str,
    *,
    should_stop: Callable[[], bool] = lambda: False,
    on_progress: Progress = lambda phase, n: None,
    clock: Clock | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Apply ``plan`` to the target; returns the summary the CLI prints.

    Locally the database is opened per batch of a ``--rate`` run, so `moviecdc run`
    can work between batches. ``on_progress(phase, n)`` is called with ``n = 0`` when a phase
    (:data:`SAMPLE`, :data:`BOOKINGS`, :data:`CHANGES`) starts, then with the rows each of
    its batches wrote.
    """
    seed = plan.seed if plan.seed is not None else random.SystemRandom().randrange(2**31)
    sim = Simulation(plan, ns, seed)
    started = time.perf_counter()
    wh = connect(settings, command="simulate", clock=clock)
    try:
        sim.run(wh, should_stop=should_stop, on_progress=on_progress)
    finally:
        wh.close()
    if plan.rate:
        deadline = None if plan.duration is None else time.monotonic() + plan.duration
        while not should_stop() and (deadline is None or time.monotonic() < deadline):
            tick = time.monotonic()
            wh = connect(settings, command="simulate", clock=clock)
            try:
                sim.apply(wh, plan.rate)
            finally:
                wh.close()
            on_progress(CHANGES, plan.rate)
            sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    counts, sample_loaded, bookings_loaded = sim.counts, sim.sample_loaded, sim.bookings_loaded
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
