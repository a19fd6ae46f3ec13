"""Apply generated bookings and changes to ``raw_movie_bookings`` through a Warehouse.

Values only ever travel as bound ``?`` parameters; the validated, qualified table
name is the only text interpolated into SQL.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields

from moviecdc.errors import ConfigError
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

SOURCE_TABLE = "raw_movie_bookings"
INSERT_COLUMNS = (
    "booking_id",
    "customer_id",
    "movie_id",
    "booking_date",
    "status",
    "ticket_count",
    "ticket_price",
)
_NAMESPACE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*(\.[A-Za-z_][A-Za-z0-9_$]*){0,2}$")


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
            hint="expected one to three dot-separated plain identifiers, e.g. MOVIECDC.CDC",
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


def apply_changes(wh: Warehouse, ns: str, changes: Sequence[Change]) -> ChangeCounts:
    """Apply one batch in order; consecutive inserts go in with one ``insert_rows`` call."""
    table = source_table(ns)
    update_sql = f"UPDATE {table} SET ticket_count = ?, updated_at = CURRENT_TIMESTAMP() WHERE booking_id = ?"
    cancel_sql = (
        f"UPDATE {table} SET status = 'CANCELLED', updated_at = CURRENT_TIMESTAMP() "
        "WHERE booking_id = ? AND status = 'BOOKED'"
    )
    delete_sql = f"DELETE FROM {table} WHERE booking_id = ?"
    counts = dict.fromkeys(ChangeCounts().as_dict(), 0)
    pending: list[tuple[object, ...]] = []

    def flush() -> None:
        if pending:
            wh.insert_rows(table, INSERT_COLUMNS, list(pending))
            pending.clear()

    for change in changes:
        if isinstance(change, Insert | Reinsert | InsertInvalid):
            pending.append(booking_row(change.booking))
        else:
            flush()
            if isinstance(change, Update):
                wh.execute(update_sql, [change.ticket_count, change.booking_id])
            elif isinstance(change, Cancel):
                wh.execute(cancel_sql, [change.booking_id])
            elif isinstance(change, Delete):
                wh.execute(delete_sql, [change.booking_id])
            else:
                raise TypeError(f"not a change: {change!r}")
        counts[change.kind] += 1
    flush()
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
