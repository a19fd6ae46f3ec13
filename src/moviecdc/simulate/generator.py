"""Deterministic generator of changes to movie bookings (pure: no SQL, no I/O).

Bookings themselves are a function of seed and booking number (:mod:`.keyed`). A
:class:`ChangeGenerator` draws its decisions from its own ``random.Random(seed)`` and
knows the state of the bookings it made or touched; of the bookings that were in the
table before it started (numbers below ``next_number``) it asks ``lookup`` about a few
candidates at a time, so a batch of N changes costs O(N) whatever the table's size.
Every change it emits is applicable at the point it is emitted: updates and cancels hit
live ``BOOKED`` bookings, deletes hit live bookings and reinserts bring back ids that are
gone. Rows that fail the data-quality rule are never changed. The same seed, the same
answers from ``lookup`` and the same sequence of calls always give the same output, on
any Python run (no ``hash()``, no set iteration).
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from itertools import accumulate
from types import MappingProxyType
from typing import ClassVar

from moviecdc.errors import ConfigError
from moviecdc.movies import MOVIES
from moviecdc.simulate.keyed import BOOKED, CANCELLED, TICKET_WEIGHTS, Booking, BookingModel, booking_id

__all__ = ["BOOKED", "CANCELLED", "Booking"]

STATUSES = (BOOKED, CANCELLED)

#: Change kinds, in the order used for counts and mixes.
CHANGE_KINDS = ("insert", "update", "cancel", "delete", "reinsert", "invalid")

#: The default share of each change kind.
DEFAULT_MIX: Mapping[str, float] = MappingProxyType(
    {
        "insert": 0.45,
        "update": 0.15,
        "cancel": 0.15,
        "delete": 0.10,
        "reinsert": 0.05,
        "invalid": 0.10,
    }
)

DEFAULT_START = datetime(2025, 9, 1)
DEFAULT_END = datetime(2025, 10, 1)

MAX_TICKETS = len(TICKET_WEIGHTS)
_INVALID_DEFECTS = (
    "null_booking_id",
    "null_customer_id",
    "null_movie_id",
    "zero_tickets",
    "negative_tickets",
    "zero_price",
    "negative_price",
)
_GENERATED_ID = re.compile(r"^BK(\d{9})$")
_PREFETCH = 1000  # candidates looked up per query
_ATTEMPTS = 64  # draws before a change gives up on a kind and inserts instead


@dataclass(frozen=True)
class Insert:
    """Insert a new valid booking."""

    booking: Booking
    kind: ClassVar[str] = "insert"


@dataclass(frozen=True)
class Update:
    """Change the ticket count of a live booking."""

    booking_id: str
    ticket_count: int
    kind: ClassVar[str] = "update"


@dataclass(frozen=True)
class Cancel:
    """Move a live booking from BOOKED to CANCELLED."""

    booking_id: str
    kind: ClassVar[str] = "cancel"


@dataclass(frozen=True)
class Delete:
    """Delete a live booking."""

    booking_id: str
    kind: ClassVar[str] = "delete"


@dataclass(frozen=True)
class Reinsert:
    """Insert again a booking whose id was deleted earlier."""

    booking: Booking
    kind: ClassVar[str] = "reinsert"


@dataclass(frozen=True)
class InsertInvalid:
    """Insert a row that fails the data-quality rule (null id or non-positive amount)."""

    booking: Booking
    kind: ClassVar[str] = "invalid"


Change = Insert | Update | Cancel | Delete | Reinsert | InsertInvalid


def sample_bookings() -> list[Booking]:
    """The five sample bookings of the original project (September 2025, five movies)."""
    rows = [
        ("B0001", "C00001", "M001", datetime(2025, 9, 1, 18, 30), BOOKED, 2, "12.50"),
        ("B0002", "C00002", "M002", datetime(2025, 9, 2, 20, 15), BOOKED, 4, "10.00"),
        ("B0003", "C00003", "M003", datetime(2025, 9, 3, 14, 0), CANCELLED, 1, "25.00"),
        ("B0004", "C00001", "M004", datetime(2025, 9, 5, 19, 45), BOOKED, 3, "18.75"),
        ("B0005", "C00004", "M005", datetime(2025, 9, 6, 21, 0), CANCELLED, 2, "15.00"),
    ]
    return [Booking(b, c, m, d, s, n, Decimal(p)) for b, c, m, d, s, n, p in rows]


def _pick(cum_weights: tuple[float, ...], rng: random.Random) -> int:
    """An index drawn in proportion to the weights whose running sums are given."""
    return min(bisect_right(cum_weights, rng.random() * cum_weights[-1]), len(cum_weights) - 1)


class _IdPool:
    """An ordered set of ids with O(1) add, remove and uniform random choice."""

    def __init__(self) -> None:
        self._items: list[str] = []
        self._index: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, item: str) -> bool:
        return item in self._index

    def add(self, item: str) -> None:
        if item not in self._index:
            self._index[item] = len(self._items)
            self._items.append(item)

    def discard(self, item: str) -> None:
        pos = self._index.pop(item, None)
        if pos is None:
            return
        last = self._items.pop()
        if pos < len(self._items):
            self._items[pos] = last
            self._index[last] = pos

    def at(self, index: int) -> str:
        return self._items[index]


def _normalise_mix(mix: Mapping[str, float] | None) -> tuple[float, ...]:
    """Cumulative weights in CHANGE_KINDS order; missing kinds of a given mix weigh 0."""
    given = DEFAULT_MIX if mix is None else mix
    unknown = sorted(k for k in given if k not in CHANGE_KINDS)
    if unknown:
        raise ConfigError(
            f"unknown change kind(s) in mix: {', '.join(unknown)}",
            hint=f"use {', '.join(CHANGE_KINDS)}",
        )
    weights = []
    for kind in CHANGE_KINDS:
        try:
            value = float(given.get(kind, 0.0))
        except (TypeError, ValueError):
            raise ConfigError(f"mix weight for {kind!r} is not a number") from None
        if not value >= 0.0 or value == float("inf"):
            raise ConfigError(f"mix weight for {kind!r} must be a finite number >= 0")
        weights.append(value)
    total = sum(weights)
    if total <= 0:
        raise ConfigError("mix weights must not all be zero")
    return tuple(accumulate(w / total for w in weights))


@dataclass(frozen=True)
class Row:
    """What the table holds for one booking id: ``status`` None when no row has it.

    ``status`` is :data:`INERT` for a row that fails the data-quality rule or has a
    status the generator does not know: such rows are never changed.
    """

    status: str | None
    ticket_count: int | None = None


INERT = "?"
GONE = Row(None)

#: Asked about booking ids; answers with the rows present (ids without a row left out).
Lookup = Callable[[Sequence[str]], Mapping[str, Row]]


class ChangeGenerator:
    """Seeded generator of bookings and changes that tracks the bookings it touches.

    ``next_number`` is the first booking number not in the table; bookings below it are
    looked up through ``lookup`` when a change draws them. It assumes every booking and
    change it returns gets applied, in order.
    """

    def __init__(
        self,
        seed: int,
        *,
        start: datetime = DEFAULT_START,
        end: datetime = DEFAULT_END,
        movies: int = len(MOVIES),
        customers: int = 500,
        mix: Mapping[str, float] | None = None,
        next_number: int = 1,
        lookup: Lookup | None = None,
    ) -> None:
        if next_number < 1:
            raise ValueError(f"next_number must be at least 1, not {next_number}")
        if next_number > 1 and lookup is None:
            raise ValueError("bookings below next_number need a lookup")
        self._model = BookingModel(seed, start=start, end=end, movies=movies, customers=customers)
        self._rng = random.Random(seed)
        self._candidates = random.Random(f"moviecdc-candidates:{seed}")
        self._mix_cum = _normalise_mix(mix)
        self._next = next_number
        self._first_local = next_number
        self._lookup = lookup
        # Bookings made here (numbers from next_number on) or named by known(): their rows.
        self._live: dict[str, Booking] = {}
        self._booked = _IdPool()
        self._cancelled = _IdPool()
        self._deleted: dict[str, Booking] = {}
        self._deleted_pool = _IdPool()
        # Bookings from before: what was looked up, and what this generator did to them since.
        self._fetched: dict[str, Row] = {}
        self._touched: dict[str, Row] = {}
        self._queue: deque[str] = deque()
        self._gone_old = _IdPool()  # from before, without a row: seen in lookups or deleted here

    @property
    def next_number(self) -> int:
        """The number the next new booking gets."""
        return self._next

    # -- model ------------------------------------------------------------------

    def known(self, bookings: Iterable[Booking]) -> None:
        """Record bookings that already exist in the table (e.g. the samples).

        Rows without a booking id are ignored; generated ids continue after the
        highest known ``BK…`` id.
        """
        for booking in bookings:
            bid = booking.booking_id
            if bid is None:
                continue
            if booking.status not in STATUSES:
                raise ConfigError(f"unknown status {booking.status!r} for {bid}")
            m = _GENERATED_ID.match(bid)
            if m and int(m.group(1)) < self._first_local:
                self._touched[bid] = Row(booking.status, booking.ticket_count)
                continue
            if m:
                self._next = max(self._next, int(m.group(1)) + 1)
            self._add_live(booking)

    def live_ids(self) -> list[str]:
        """Ids of the bookings made or named here that are present, in first-seen order."""
        return list(self._live)

    def status(self, booking_id: str) -> str | None:
        """The modelled status of a live booking made or named here, or None."""
        booking = self._live.get(booking_id)
        return booking.status if booking else None

    def deleted_ids(self) -> list[str]:
        """Ids made or named here, deleted and not reinserted since, in deletion order."""
        return list(self._deleted)

    def _add_live(self, booking: Booking) -> None:
        bid = booking.booking_id
        assert bid is not None
        self._live[bid] = booking
        self._deleted.pop(bid, None)
        self._deleted_pool.discard(bid)
        if booking.status == BOOKED:
            self._cancelled.discard(bid)
            self._booked.add(bid)
        else:
            self._booked.discard(bid)
            self._cancelled.add(bid)

    def _is_old(self, bid: str) -> bool:
        m = _GENERATED_ID.match(bid)
        return m is not None and int(m.group(1)) < self._first_local

    # -- choosing a booking -----------------------------------------------------

    def _old_row(self, bid: str) -> Row:
        return self._touched.get(bid) or self._fetched[bid]

    def _next_old(self) -> str:
        """The next booking from before, drawn uniformly by number; looked up in batches."""
        if not self._queue:
            ids = [booking_id(self._candidates.randrange(1, self._first_local)) for _ in range(_PREFETCH)]
            ask = sorted({i for i in ids if i not in self._fetched and i not in self._touched})
            if ask:
                assert self._lookup is not None
                found = self._lookup(ask)
                for i in ask:
                    self._fetched[i] = found.get(i, GONE)
                    if i not in found:
                        self._gone_old.add(i)
            self._queue.extend(ids)
        return self._queue.popleft()

    def _choose(self, want: str) -> str | None:
        """A booking uniformly among those that are ``want`` (booked, live or gone), or None.

        Bookings made here come from exact pools; each of the ``next_number - 1`` numbers
        from before is one more slot, accepted when its row is what is wanted. Gone ids
        from before are those the lookups found missing and those deleted here: a uniform
        sample of them, with no lookups of their own (they may be rare).
        """
        booked, live = len(self._booked), len(self._live)
        if want == "gone":
            gone = len(self._deleted_pool)
            total = gone + len(self._gone_old)
            if total == 0:
                return None
            r = self._rng.randrange(total)
            return self._deleted_pool.at(r) if r < gone else self._gone_old.at(r - gone)
        local = booked if want == "booked" else live
        old = self._first_local - 1
        if local + old == 0:
            return None
        for _ in range(_ATTEMPTS):
            r = self._rng.randrange(old + local)
            if r >= old:
                i = r - old
                return self._booked.at(i) if i < booked else self._cancelled.at(i - booked)
            bid = self._next_old()
            row = self._old_row(bid)
            if row.status == BOOKED or (want == "live" and row.status == CANCELLED):
                return bid
        return None

    # -- values -----------------------------------------------------------------

    def _new_booking(self, status: str = BOOKED) -> Booking:
        booking = self._model.booking(self._next, status)
        self._next += 1
        return booking

    def _ticket_count(self) -> int:
        return self._model.ticket_count(self._rng.randrange(100))

    # -- public generation ------------------------------------------------------

    def bookings(self, n: int) -> list[Booking]:
        """``n`` new valid bookings (about 10% already CANCELLED), recorded as live."""
        out = []
        for _ in range(n):
            booking = self._model.booking(self._next)
            self._next += 1
            self._add_live(booking)
            out.append(booking)
        return out

    def changes(self, n: int) -> list[Change]:
        """``n`` changes following the mix; kinds with nothing to change fall back to an insert."""
        return [self._change() for _ in range(n)]

    def _change(self) -> Change:
        kind = CHANGE_KINDS[_pick(self._mix_cum, self._rng)]
        if kind in ("update", "cancel"):
            bid = self._choose("booked")
            if bid is not None:
                return self._update(bid) if kind == "update" else self._cancel(bid)
        elif kind == "delete":
            bid = self._choose("live")
            if bid is not None:
                return self._delete(bid)
        elif kind == "reinsert":
            bid = self._choose("gone")
            if bid is not None:
                return self._reinsert(bid)
        elif kind == "invalid":
            return InsertInvalid(self._invalid_booking())
        booking = self._new_booking()
        self._add_live(booking)
        return Insert(booking)

    def _update(self, bid: str) -> Update:
        current = self._old_row(bid).ticket_count if self._is_old(bid) else self._live[bid].ticket_count
        count = self._rng.choice([c for c in range(1, MAX_TICKETS + 1) if c != current])
        if self._is_old(bid):
            self._touched[bid] = Row(BOOKED, count)
        else:
            self._live[bid] = replace(self._live[bid], ticket_count=count)
        return Update(bid, count)

    def _cancel(self, bid: str) -> Cancel:
        if self._is_old(bid):
            self._touched[bid] = Row(CANCELLED, self._old_row(bid).ticket_count)
        else:
            self._add_live(replace(self._live[bid], status=CANCELLED))
        return Cancel(bid)

    def _delete(self, bid: str) -> Delete:
        if self._is_old(bid):
            self._touched[bid] = GONE
            self._gone_old.add(bid)
        else:
            booking = self._live.pop(bid)
            self._booked.discard(bid)
            self._cancelled.discard(bid)
            self._deleted[bid] = booking
            self._deleted_pool.add(bid)
        return Delete(bid)

    def _reinsert(self, bid: str) -> Reinsert:
        count = self._ticket_count()
        if self._is_old(bid):
            booking = replace(self._model.booking(int(bid[2:]), BOOKED), ticket_count=count)
            self._touched[bid] = Row(BOOKED, count)
            self._gone_old.discard(bid)
        else:
            booking = replace(self._deleted[bid], status=BOOKED, ticket_count=count)
            self._add_live(booking)
        return Reinsert(booking)

    def _invalid_booking(self) -> Booking:
        """A fresh booking with one defect; it is never changed afterwards."""
        booking = self._model.booking(self._next, BOOKED)
        defect = _INVALID_DEFECTS[self._rng.randrange(len(_INVALID_DEFECTS))]
        if defect == "null_booking_id":
            return replace(booking, booking_id=None)  # takes no number
        self._next += 1
        if defect == "null_customer_id":
            return replace(booking, customer_id=None)
        if defect == "null_movie_id":
            return replace(booking, movie_id=None)
        if defect == "zero_tickets":
            return replace(booking, ticket_count=0)
        if defect == "negative_tickets":
            return replace(booking, ticket_count=-self._rng.randint(1, 3))
        if defect == "zero_price":
            return replace(booking, ticket_price=Decimal("0.00"))
        price = booking.ticket_price
        assert price is not None
        return replace(booking, ticket_price=-price)
