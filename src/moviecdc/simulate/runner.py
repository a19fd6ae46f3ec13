"""Apply generated bookings and changes to ``raw_movie_bookings`` through a Warehouse.

Values only ever travel as bound ``?`` parameters; the validated, qualified table
name is the only text interpolated into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields

from moviecdc.errors import ConfigError
from moviecdc.names import SOURCE_TABLE
from moviecdc.simulate.generator import (
    Booking,
    Cancel,
    Change,
    Delete,
    Insert,
    InsertInvalid,
    Reinsert,
    Update,
    sample_bookings,
)
from moviecdc.warehouse.base import Warehouse

INSERT_COLUMNS = (
    "booking_id",
    "customer_id",
    "movie_id",
    "booking_date",
    "status",
    "ticket_count",
    "ticket_price",
)
_PART = r'(?:[A-Za-z_][A-Za-z0-9_$]*|"[^"\x00-\x1f]+")'  # a plain or a double-quoted identifier
_NAMESPACE = re.compile(rf"^{_PART}(\.{_PART}){{0,2}}$")


@dataclass(frozen=True)
class ChangeCounts:
    """How many changes of each kind were applied."""

    insert: int = 0
    update: int = 0
    cancel: int = 0
    delete: int = 0
    reinsert: int = 0
    invalid: int = 0

    @property
    def total(self) -> int:
        """All changes applied."""
        return sum(getattr(self, f.name) for f in fields(self))

    def as_dict(self) -> dict[str, int]:
        """Counts keyed by change kind."""
        return asdict(self)

    def __add__(self, other: ChangeCounts) -> ChangeCounts:
        if not isinstance(other, ChangeCounts):
            return NotImplemented
        return ChangeCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})


def source_table(ns: str) -> str:
    """The qualified source table for namespace ``ns``; ConfigError when ``ns`` is unsafe."""
    if not isinstance(ns, str) or not _NAMESPACE.fullmatch(ns):
        raise ConfigError(
            f"invalid namespace {ns!r}",
            hint="expected one to three dot-separated identifiers, e.g. MOVIECDC.CDC",
        )
    return f"{ns}.{SOURCE_TABLE}"


def booking_row(booking: Booking) -> tuple[object, ...]:
    """A booking as a row in INSERT_COLUMNS order."""
    return (
        booking.booking_id,
        booking.customer_id,
        booking.movie_id,
        booking.booking_date,
        booking.status,
        booking.ticket_count,
        booking.ticket_price,
    )


CHUNK = 1000  # rows per multi-row statement (2 bound values each)


@dataclass
class Segment:
    """Changes that touch distinct booking ids, so they can be applied in any order."""

    inserts: list[tuple[object, ...]] = field(default_factory=list)
    updates: list[tuple[str, int | None]] = field(default_factory=list)
    cancels: list[str] = field(default_factory=list)
    deletes: list[str] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)


def _booking_id(change: Change) -> str | None:
    if isinstance(change, Insert | Reinsert | InsertInvalid):
        return change.booking.booking_id
    return change.booking_id


def plan_segments(changes: Sequence[Change]) -> list[Segment]:
    """Group a batch into few segments, keeping each booking's changes in order.

    Changes to different bookings commute (every statement selects rows by
    booking_id), so a change only has to come after the earlier changes to its own
    booking: it goes into the segment after the one that holds the previous change
    to that booking. A segment then touches each booking at most once, and applying
    its inserts, updates, cancellations and deletes as one statement each gives the
    same table as applying the changes one by one. The number of segments is the
    largest number of changes to one booking in the batch.
    """
    segments: list[Segment] = []
    level: dict[str, int] = {}
    for change in changes:
        key = _booking_id(change)
        at = level[key] + 1 if key is not None and key in level else 0
        if key is not None:
            level[key] = at
        while len(segments) <= at:
            segments.append(Segment())
        seg = segments[at]
        if key is not None:
            seg.touched.add(key)
        if isinstance(change, Insert | Reinsert | InsertInvalid):
            seg.inserts.append(booking_row(change.booking))
        elif isinstance(change, Update):
            seg.updates.append((change.booking_id, change.ticket_count))
        elif isinstance(change, Cancel):
            seg.cancels.append(change.booking_id)
        elif isinstance(change, Delete):
            seg.deletes.append(change.booking_id)
        else:
            raise TypeError(f"not a change: {change!r}")
    return segments


def _values(rows: Sequence[Sequence[object]]) -> tuple[str, list[object]]:
    width = len(rows[0])
    tuple_sql = "(" + ", ".join("?" for _ in range(width)) + ")"
    return ", ".join(tuple_sql for _ in rows), [v for row in rows for v in row]


def _chunks(items: Sequence[object], size: int = CHUNK) -> list[Sequence[object]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def apply_segment(wh: Warehouse, table: str, seg: Segment) -> None:
    """One statement per kind of change (per 1 000 rows), values bound as parameters."""
    if seg.inserts:
        wh.insert_rows(table, INSERT_COLUMNS, seg.inserts)
    for chunk in _chunks(seg.updates):
        values, params = _values(chunk)  # type: ignore[arg-type]
        wh.execute(
            f"UPDATE {table} AS t SET ticket_count = v.ticket_count, updated_at = CURRENT_TIMESTAMP()"
            f" FROM (VALUES {values}) AS v (booking_id, ticket_count) WHERE t.booking_id = v.booking_id",
            params,
        )
    for chunk in _chunks(seg.cancels):
        marks = ", ".join("?" for _ in chunk)
        wh.execute(
            f"UPDATE {table} SET status = 'CANCELLED', updated_at = CURRENT_TIMESTAMP()"
            f" WHERE booking_id IN ({marks}) AND status = 'BOOKED'",
            list(chunk),
        )
    for chunk in _chunks(seg.deletes):
        marks = ", ".join("?" for _ in chunk)
        wh.execute(f"DELETE FROM {table} WHERE booking_id IN ({marks})", list(chunk))


def apply_changes(wh: Warehouse, ns: str, changes: Sequence[Change]) -> ChangeCounts:
    """Apply one batch, in one transaction: wholly, or not at all (even if the process dies).

    The result is the same as applying each change in order, in few statements.
    """
    table = source_table(ns)
    wh.execute("BEGIN TRANSACTION")
    try:
        for seg in plan_segments(changes):
            apply_segment(wh, table, seg)
    except BaseException:
        wh.execute("ROLLBACK")
        raise
    wh.execute("COMMIT")
    counts = dict.fromkeys(ChangeCounts().as_dict(), 0)
    for change in changes:
        counts[change.kind] += 1
    return ChangeCounts(**counts)


def load_sample(wh: Warehouse, ns: str) -> int:
    """Insert the five sample bookings unless one of their ids is present; returns rows added."""
    table = source_table(ns)
    samples = sample_bookings()
    ids = [b.booking_id for b in samples]
    placeholders = ", ".join("?" for _ in ids)
    found = wh.execute(f"SELECT booking_id FROM {table} WHERE booking_id IN ({placeholders})", ids)
    if found.rows:
        return 0
    wh.insert_rows(table, INSERT_COLUMNS, [booking_row(b) for b in samples])
    return len(samples)
