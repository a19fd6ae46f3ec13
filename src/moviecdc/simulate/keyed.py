"""Bookings as a pure function of (seed, booking number): in Python and as one SQL statement.

Booking ``BK000000042`` under seed 7 is the same row wherever it is made: by
:meth:`BookingModel.booking` in Python (for the few rows of a change batch) or by the
``INSERT ... SELECT ... FROM TABLE(GENERATOR(...))`` of :meth:`BookingModel.insert_sql`,
which makes a million rows on the target itself (Snowflake, or the local engine, where
``GENERATOR`` becomes DuckDB's ``range``), so no row crosses the wire.

Every random choice is an integer hash of the booking number and a per-field key,
``x -> (x*x + c) mod P`` twice over ``P = 2**31 - 1``: only ``+``, ``*`` and ``MOD`` on
integers below 2**63, which Snowflake's NUMBER and DuckDB's BIGINT compute exactly and
alike, so the two engines give the same rows bit for bit. Weighted choices compare the hash
modulo the integer weights' total with cumulative integer thresholds (no floating point).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from moviecdc.errors import ConfigError
from moviecdc.movies import MOVIES, clamp_to_tier

BOOKED = "BOOKED"
CANCELLED = "CANCELLED"

P = 2_147_483_647
_STEP = 1_000_003
_ROUNDS = (40_503,)  # then a last round that adds the field's own key
MAX_NUMBER = 999_999_999  # BK + nine digits

#: The random fields of a booking, in the order their keys are drawn.
FIELDS = ("status", "movie", "premium", "customer", "day", "hour", "second", "tickets")

# 1..8 tickets, skewed towards small parties (shares of 100).
TICKET_WEIGHTS = (30, 28, 16, 12, 6, 4, 2, 2)
# Hour-of-day weights 0..23: quiet nights, busy evenings.
HOUR_WEIGHTS = (1, 1, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 7, 8, 9, 12, 16, 18, 17, 12, 7, 3)
# Day weights: a weekend day weighs 1.6 weekdays (8 : 5, Monday first).
DAY_WEIGHTS = (5, 5, 5, 5, 5, 8, 8)
# Seat premiums added to a movie's base price (kept inside its tier band).
SEAT_PREMIUM_CENTS = (0, 200, 400)
SEAT_PREMIUM_WEIGHTS = (70, 20, 10)
CANCELLED_PER_MILLE = 100  # bulk-loaded bookings already cancelled: 10 %
_POPULARITY_SCALE = 200  # weight units of the most popular movie


def mix_hash(n: int, key: int) -> int:
    """The hash of booking number ``n`` for one field's ``key``: an integer in [0, P)."""
    x = (n * _STEP + key) % P
    for c in _ROUNDS:
        x = (x * x + c) % P
    return (x * x + key) % P


class _Table:
    """A lookup by index into one string literal of fixed-width entries.

    ``SUBSTR(literal, i * width + 1, width)`` reads the same entry on both engines and keeps
    a statement small (one function call where a CASE would need an arm per entry).
    """

    def __init__(self, entries: list[str]) -> None:
        self.width = max(len(e) for e in entries)
        if any(len(e) != self.width for e in entries) or any("'" in e for e in entries):
            raise ValueError("table entries must have one width and no quotes")
        self.text = "".join(entries)
        self.size = len(entries)

    def get(self, i: int) -> str:
        return self.text[i * self.width : (i + 1) * self.width]

    def sql(self, index: str) -> str:
        return f"SUBSTR('{self.text}', ({index}) * {self.width} + 1, {self.width})"


def _units(weights: tuple[int, ...]) -> _Table:
    """A table with one entry per weight unit: the index of the weight it belongs to, as
    the character ``chr(48 + index)`` (``0`` to ``[``: no quote, no backslash), read back
    with ``ASCII(...) - 48``: an integer on both engines without a cast (a cast to INTEGER
    is NUMBER(38, 0), a 128-bit integer on DuckDB)."""
    if len(weights) > 44:
        raise ValueError("at most 44 weights per table")
    return _Table([chr(48 + i) for i, w in enumerate(weights) for _ in range(w)])


def _weighted(table: _Table, h: int) -> int:
    """The index ``h`` picks in a table of weight units (Python)."""
    return ord(table.get(h % table.size)) - 48


def _weighted_sql(table: _Table, column: str) -> str:
    """The index column ``column`` picks in a table of weight units (SQL)."""
    return f"(ASCII({table.sql(f'MOD({column}, {table.size})')}) - 48)"


def _midnight(day: datetime) -> str:
    """A day as a constant both engines fold (a string cast becomes a call per row on DuckDB)."""
    return f"TIMESTAMP_NTZ_FROM_PARTS({day.year}, {day.month}, {day.day}, 0, 0, 0)"


def _ceil_seconds(delta: timedelta) -> int:
    return -(-(delta // timedelta(microseconds=1)) // 1_000_000)


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


def booking_id(n: int) -> str:
    """The id of booking number ``n``."""
    return f"BK{n:09d}"


class BookingModel:
    """The bookings of one seed: movie popularity, the booking window, the customers."""

    def __init__(
        self,
        seed: int,
        *,
        start: datetime,
        end: datetime,
        movies: int = len(MOVIES),
        customers: int = 500,
    ) -> None:
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ConfigError("start and end must be naive datetimes (TIMESTAMP_NTZ)")
        if not start < end:
            raise ConfigError(f"start ({start}) must be before end ({end})")
        if not 1 <= movies <= len(MOVIES):
            raise ConfigError(f"movies must be between 1 and {len(MOVIES)} (the catalogue), not {movies}")
        if not 1 <= customers <= 99_999:
            raise ConfigError(f"customers must be between 1 and 99999, not {customers}")
        self.seed = seed
        self.start = start
        self.end = end
        keys = random.Random(f"moviecdc-bookings:{seed}")
        self._keys = {f: keys.randrange(1, P) for f in FIELDS}
        # Popularity: a Zipf-like curve over a seeded shuffle of the movies.
        self._movies = MOVIES[:movies]
        ranks = list(range(1, movies + 1))
        random.Random(f"moviecdc-popularity:{seed}").shuffle(ranks)
        self._movie_units = _units(tuple(max(1, round(_POPULARITY_SCALE / r**0.8)) for r in ranks))
        self._movie_ids = _Table([m.movie_id for m in self._movies])
        self._prices = _Table(
            [
                f"{clamp_to_tier(m.base_ticket_price + Decimal(p) / 100, m.price_tier):07.2f}"
                for m in self._movies
                for p in SEAT_PREMIUM_CENTS
            ]
        )
        self._customers = customers
        # Days: whole days from the one holding `start` to the one holding the last instant.
        self._first_day = datetime(start.year, start.month, start.day)
        last = end - timedelta(microseconds=1)
        self._days = (datetime(last.year, last.month, last.day) - self._first_day).days + 1
        # The day is picked in a weekly pattern laid from the Monday on or before the first
        # day: the hash picks a slot among the window's weight units, shifted by the units
        # of the days before the first, and the slot's week and weekday give the day.
        self._lead_days = self._first_day.weekday()
        self._lead_units = sum(DAY_WEIGHTS[: self._lead_days])
        self._day_units = sum(DAY_WEIGHTS[(self._lead_days + i) % 7] for i in range(self._days))
        self._span_seconds = max(1, int((end - start).total_seconds()))
        # The window in whole seconds from the first midnight: an instant ``first + s``
        # is inside it when ``lo <= s < hi``; a booking outside falls back to ``start``
        # plus a whole number of seconds (``start_us`` is start's offset in microseconds).
        self._lo = _ceil_seconds(start - self._first_day)
        self._hi = _ceil_seconds(end - self._first_day)
        self._start_us = (start - self._first_day) // timedelta(microseconds=1)

    # -- the picks, shared by the Python and the SQL forms ------------------------

    def _pick_day(self, h: int) -> int:
        slot = h % self._day_units + self._lead_units
        week, within = divmod(slot, _WEEKDAYS.size)
        return week * 7 + _weighted(_WEEKDAYS, within) - self._lead_days

    def booking(self, n: int, status: str | None = None) -> Booking:
        """Booking number ``n``: valid; ``status`` given, or CANCELLED one time in ten."""
        h = {f: mix_hash(n, k) for f, k in self._keys.items()}
        movie = _weighted(self._movie_units, h["movie"])
        premium = _weighted(_PREMIUMS, h["premium"])
        offset = self._pick_day(h["day"]) * 86_400 + _weighted(_HOURS, h["hour"]) * 3600 + h["second"] % 3600
        if self._lo <= offset < self._hi:
            when = self._first_day + timedelta(seconds=offset)
        else:
            fallback = self._start_us + (h["day"] + h["second"]) % self._span_seconds * 1_000_000
            when = self._first_day + timedelta(microseconds=fallback)
        if status is None:
            status = CANCELLED if h["status"] % 1000 < CANCELLED_PER_MILLE else BOOKED
        return Booking(
            booking_id=booking_id(n),
            customer_id=f"C{h['customer'] % self._customers + 1:05d}",
            movie_id=self._movie_ids.get(movie),
            booking_date=when,
            status=status,
            ticket_count=self.ticket_count(h["tickets"]),
            ticket_price=Decimal(self._prices.get(movie * len(SEAT_PREMIUM_CENTS) + premium)),
        )

    @staticmethod
    def ticket_count(h: int) -> int:
        """A ticket count drawn from hash (or random integer) ``h``."""
        return 1 + _weighted(_TICKETS, h)

    # -- SQL ------------------------------------------------------------------------

    def insert_sql(self, table: str, first: int, count: int) -> str:
        """One Snowflake statement inserting bookings ``first`` .. ``first + count - 1``.

        ``table`` must be a validated, qualified name; every other part is a number or
        a literal this class made.
        """
        if first < 1 or count < 1 or first + count - 1 > MAX_NUMBER:
            raise ConfigError(f"booking numbers {first}..{first + count - 1} are outside 1..{MAX_NUMBER}")
        keys = self._keys
        hashes = (
            f"SELECT {first - 1} + ROW_NUMBER() OVER (ORDER BY SEQ8()) AS n FROM TABLE(GENERATOR(ROWCOUNT => {count}))"
        )

        def layer(step: str, inner: str) -> str:
            return f"SELECT n, {', '.join(step.format(f=f, key=keys[f]) + f' AS h_{f}' for f in FIELDS)} FROM ({inner})"

        hashes = layer(f"MOD(n * {_STEP} + {{key}}, {P})", hashes)
        for c in _ROUNDS:
            hashes = layer(f"MOD(h_{{f}} * h_{{f}} + {c}, {P})", hashes)
        hashes = layer(f"MOD(h_{{f}} * h_{{f}} + {{key}}, {P})", hashes)
        slot = f"(MOD(h_day, {self._day_units}) + {self._lead_units})"
        week = _WEEKDAYS.size
        # whole weeks: an exact division, made an integer of both engines by NUMBER(18, 0)
        day_seconds = (
            f"CAST(({slot} - MOD({slot}, {week})) / {week} AS NUMBER(18, 0)) * 604800"
            f" + ({_weighted_sql(_WEEKDAYS, f'MOD({slot}, {week})')} - {self._lead_days}) * 86400"
        )
        picks = (
            f"SELECT n, h_status, h_customer, h_tickets, h_day + h_second AS h_fallback,"
            f" {_weighted_sql(self._movie_units, 'h_movie')} AS movie,"
            f" {_weighted_sql(_PREMIUMS, 'h_premium')} AS premium,"
            f" {day_seconds} + {_weighted_sql(_HOURS, 'h_hour')} * 3600 + MOD(h_second, 3600) AS offset"
            f" FROM ({hashes})"
        )
        first_day = _midnight(self._first_day)
        when = f"DATEADD(second, offset, {first_day})"
        if not (self._lo == 0 and self._hi == self._days * 86_400):  # not whole days: some fall outside
            fallback = f"{self._start_us} + MOD(h_fallback, {self._span_seconds}) * 1000000"
            when = (
                f"CASE WHEN offset >= {self._lo} AND offset < {self._hi} THEN {when}"
                f" ELSE DATEADD(microsecond, {fallback}, {first_day}) END"
            )
        return (
            f"INSERT INTO {table} (booking_id, customer_id, movie_id, booking_date, status, ticket_count,"
            " ticket_price) SELECT"
            " 'BK' || LPAD(TO_VARCHAR(n), 9, '0'),"
            f" 'C' || LPAD(TO_VARCHAR(MOD(h_customer, {self._customers}) + 1), 5, '0'),"
            f" {self._movie_ids.sql('movie')},"
            f" {when},"
            f" CASE WHEN MOD(h_status, 1000) < {CANCELLED_PER_MILLE} THEN '{CANCELLED}' ELSE '{BOOKED}' END,"
            f" 1 + {_weighted_sql(_TICKETS, 'h_tickets')},"
            f" CAST({self._prices.sql(f'movie * {len(SEAT_PREMIUM_CENTS)} + premium')} AS NUMBER(10, 2))"
            f" FROM ({picks})"
        )


_WEEKDAYS = _units(DAY_WEIGHTS)
_HOURS = _units(HOUR_WEIGHTS)
_PREMIUMS = _units(SEAT_PREMIUM_WEIGHTS)
_TICKETS = _units(TICKET_WEIGHTS)
