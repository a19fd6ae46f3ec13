"""Deterministic generator of movie bookings and of changes to them (pure: no SQL, no I/O).

A :class:`ChangeGenerator` draws every value from its own ``random.Random(seed)`` and
keeps a model of the source table (which booking ids are live, with their status, and
which were deleted), so every change it emits is applicable at the point it is emitted:
updates and cancels hit live ``BOOKED`` bookings, deletes hit live bookings and
reinserts bring back ids deleted earlier. The same seed and the same sequence of calls
always give the same output, on any Python run (no ``hash()``, no set iteration).
"""

from __future__ import annotations

import random
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from types import MappingProxyType
from typing import ClassVar

from moviecdc.errors import ConfigError
from moviecdc.movies import MOVIES, clamp_to_tier

BOOKED = "BOOKED"
CANCELLED = "CANCELLED"
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

MAX_TICKETS = 8
# 1..8 tickets, skewed towards small parties.
_TICKET_WEIGHTS = (30, 28, 16, 12, 6, 4, 2, 2)
# Hour-of-day weights 0..23: quiet nights, busy evenings.
_HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 12, 16, 18, 17, 12, 7, 3)
_WEEKEND_WEIGHT = 1.6
_WEEKDAY_WEIGHT = 1.0
# Seat premiums added to a movie's base price (kept inside its tier band).
_SEAT_PREMIUM_CENTS = (0, 200, 400)
_SEAT_PREMIUM_WEIGHTS = (70, 20, 10)
_INITIAL_CANCELLED_SHARE = 0.1
_INVALID_DEFECTS = (
    "null_booking_id",
    "null_customer_id",
    "null_movie_id",
    "zero_tickets",
    "negative_tickets",
    "zero_price",
    "negative_price",
)
_GENERATED_ID = re.compile(r"^BK(\d+)$")
_CENT = Decimal("0.01")


@dataclass(frozen=True)
class Booking:
    """One row of ``raw_movie_bookings`` as the simulator writes it."""

    booking_id: str | None
    customer_id: str | None
    movie_id: str | None
    booking_date: datetime
    status: str
    ticket_count: int | None
    ticket_price: Decimal | None


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


_HOUR_CUM = tuple(accumulate(_HOUR_WEIGHTS))
_SEAT_PREMIUM_CUM = tuple(accumulate(_SEAT_PREMIUM_WEIGHTS))
_TICKET_CUM = tuple(accumulate(_TICKET_WEIGHTS))


def _pick(cum_weights: list[float] | tuple[float, ...], rng: random.Random) -> int:
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

    def choice(self, rng: random.Random) -> str:
        return self._items[rng.randrange(len(self._items))]


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


class ChangeGenerator:
    """Seeded generator of bookings and changes that tracks the table it writes to.

    It assumes every booking and change it returns gets applied, in order.
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
    ) -> None:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ConfigError("start and end must be naive datetimes (TIMESTAMP_NTZ)")
        if not start < end:
            raise ConfigError(f"start ({start}) must be before end ({end})")
        if not 1 <= movies <= len(MOVIES):
            raise ConfigError(f"movies must be between 1 and {len(MOVIES)} (the catalogue), not {movies}")
        if customers < 1:
            raise ConfigError(f"customers must be at least 1, not {customers}")
        self._rng = random.Random(seed)
        self._start = start
        self._end = end
        self._mix_cum = _normalise_mix(mix)
        self._next_id = 1
        self._customers = [f"C{i:05d}" for i in range(1, customers + 1)]
        self._catalogue = {m.movie_id: m for m in MOVIES[:movies]}
        self._movies = list(self._catalogue)
        # Popularity: a Zipf-like curve over a seeded shuffle of the movies.
        ranks = list(range(1, movies + 1))
        self._rng.shuffle(ranks)
        self._movie_cum = list(accumulate(1.0 / r**0.8 for r in ranks))
        # Days overlapping [start, end), weekends weighted up.
        first = datetime(start.year, start.month, start.day)
        self._days: list[datetime] = []
        day = first
        while day < end:
            self._days.append(day)
            day += timedelta(days=1)
        self._day_cum = list(accumulate(_WEEKEND_WEIGHT if d.weekday() >= 5 else _WEEKDAY_WEIGHT for d in self._days))
        # The model of the table.
        self._live: dict[str, Booking] = {}
        self._booked = _IdPool()
        self._cancelled = _IdPool()
        self._deleted: dict[str, Booking] = {}
        self._deleted_pool = _IdPool()

    # -- model ------------------------------------------------------------------

    def known(self, bookings: Iterable[Booking]) -> None:
        """Record bookings that already exist in the table (e.g. the samples).

        Rows without a booking id are ignored; generated ids continue after the
        highest known ``BK…`` id.
        """
        for booking in bookings:
            if booking.booking_id is None:
                continue
            if booking.status not in STATUSES:
                raise ConfigError(f"unknown status {booking.status!r} for {booking.booking_id}")
            self._add_live(booking)
            m = _GENERATED_ID.match(booking.booking_id)
            if m:
                self._next_id = max(self._next_id, int(m.group(1)) + 1)

    def live_ids(self) -> list[str]:
        """Booking ids the model holds as present, in first-seen order."""
        return list(self._live)

    def status(self, booking_id: str) -> str | None:
        """The modelled status of a live booking, or None when it is not live."""
        booking = self._live.get(booking_id)
        return booking.status if booking else None

    def deleted_ids(self) -> list[str]:
        """Ids deleted and not reinserted since, in deletion order."""
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

    # -- values -----------------------------------------------------------------

    def _new_id(self) -> str:
        bid = f"BK{self._next_id:09d}"
        self._next_id += 1
        return bid

    def _booking_time(self) -> datetime:
        rng = self._rng
        for _ in range(32):
            day = self._days[_pick(self._day_cum, rng)]
            hour = _pick(_HOUR_CUM, rng)
            when = day + timedelta(hours=hour, minutes=rng.randrange(60), seconds=rng.randrange(60))
            if self._start <= when < self._end:
                return when
        # A narrow window the weighted draw keeps missing: fall back to uniform.
        span = (self._end - self._start) // timedelta(microseconds=1)
        return self._start + timedelta(microseconds=rng.randrange(span))

    def _new_booking(self, status: str = BOOKED) -> Booking:
        rng = self._rng
        movie = self._movies[_pick(self._movie_cum, rng)]
        premium = _SEAT_PREMIUM_CENTS[_pick(_SEAT_PREMIUM_CUM, rng)]
        info = self._catalogue[movie]
        price = clamp_to_tier(info.base_ticket_price + Decimal(premium) / 100, info.price_tier)
        return Booking(
            booking_id=self._new_id(),
            customer_id=self._customers[rng.randrange(len(self._customers))],
            movie_id=movie,
            booking_date=self._booking_time(),
            status=status,
            ticket_count=self._ticket_count(),
            ticket_price=price.quantize(_CENT),
        )

    def _ticket_count(self) -> int:
        return 1 + _pick(_TICKET_CUM, self._rng)

    # -- public generation ------------------------------------------------------

    def bookings(self, n: int) -> list[Booking]:
        """``n`` new valid bookings (about 10% already CANCELLED), recorded as live."""
        out = []
        for _ in range(n):
            status = CANCELLED if self._rng.random() < _INITIAL_CANCELLED_SHARE else BOOKED
            booking = self._new_booking(status)
            self._add_live(booking)
            out.append(booking)
        return out

    def changes(self, n: int) -> list[Change]:
        """``n`` changes following the mix; impossible kinds fall back to an insert."""
        return [self._change() for _ in range(n)]

    def _change(self) -> Change:
        rng = self._rng
        kind = CHANGE_KINDS[_pick(self._mix_cum, rng)]
        if kind == "update" and self._booked:
            bid = self._booked.choice(rng)
            current = self._live[bid].ticket_count
            count = rng.choice([c for c in range(1, MAX_TICKETS + 1) if c != current])
            self._live[bid] = replace(self._live[bid], ticket_count=count)
            return Update(bid, count)
        if kind == "cancel" and self._booked:
            bid = self._booked.choice(rng)
            self._add_live(replace(self._live[bid], status=CANCELLED))
            return Cancel(bid)
        if kind == "delete" and self._live:
            # Uniform over live bookings: pick the pool in proportion to its size.
            in_booked = rng.randrange(len(self._live)) < len(self._booked)
            bid = (self._booked if in_booked else self._cancelled).choice(rng)
            booking = self._live.pop(bid)
            self._booked.discard(bid)
            self._cancelled.discard(bid)
            self._deleted[bid] = booking
            self._deleted_pool.add(bid)
            return Delete(bid)
        if kind == "reinsert" and self._deleted_pool:
            bid = self._deleted_pool.choice(rng)
            booking = replace(self._deleted[bid], status=BOOKED, ticket_count=self._ticket_count())
            self._add_live(booking)
            return Reinsert(booking)
        if kind == "invalid":
            return InsertInvalid(self._invalid_booking())
        booking = self._new_booking()
        self._add_live(booking)
        return Insert(booking)

    def _invalid_booking(self) -> Booking:
        """A fresh booking with one defect; it is not recorded as live."""
        booking = self._new_booking()
        defect = _INVALID_DEFECTS[self._rng.randrange(len(_INVALID_DEFECTS))]
        if defect == "null_booking_id":
            return replace(booking, booking_id=None)
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
