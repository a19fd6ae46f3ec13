"""Bookings generated on the target, and changes that read only the rows they draw.

- A bulk load is one generating statement: its rows equal the Python definition of each
  booking number (the two forms of one function), for any seed and booking window.
- The bulk rows keep the generator's properties (tiers, evening peaks, weekends, the
  cancelled share), checked on the table.
- Changes to a table the generator did not make are applicable (an independent model of
  the table checks each), never touch invalid rows, and cost lookups in proportion to the
  changes, not to the table.
- Through `Simulation`, the oracle holds and a seed gives the same table twice.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st

from moviecdc.clock import ManualClock
from moviecdc.emulator.scheduler import run_pending
from moviecdc.movies import MOVIES, TIER_BANDS
from moviecdc.simulate.generator import (
    BOOKED,
    CANCELLED,
    GONE,
    INERT,
    Cancel,
    ChangeGenerator,
    Delete,
    Insert,
    InsertInvalid,
    Reinsert,
    Row,
    Update,
)
from moviecdc.simulate.keyed import BookingModel, booking_id
from moviecdc.simulate.session import Simulation, SimulationPlan
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.test_simulate_oracle import check_consistency

TABLE = f"{NS}.raw_movie_bookings"
COLUMNS = "booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price"


def loaded(wh: LocalWarehouse, model: BookingModel, first: int, count: int) -> list[tuple[Any, ...]]:
    wh.execute(model.insert_sql(TABLE, first, count))
    return wh.execute(f"SELECT {COLUMNS} FROM {TABLE} ORDER BY booking_id").rows


def as_row(model: BookingModel, n: int) -> tuple[Any, ...]:
    b = model.booking(n)
    return (b.booking_id, b.customer_id, b.movie_id, b.booking_date, b.status, b.ticket_count, b.ticket_price)


@pytest.fixture(scope="module")
def table() -> Any:
    wh = LocalWarehouse(":memory:", clock=ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC)))
    deploy_pipeline(wh)
    yield wh
    wh.close()


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(min_value=-(2**40), max_value=2**40),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    span=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=400)),
    first=st.integers(min_value=1, max_value=999_999_000),
)
def test_the_generating_statement_makes_the_python_bookings(
    table: LocalWarehouse, seed: int, start: datetime, span: timedelta, first: int
) -> None:
    model = BookingModel(seed, start=start, end=start + span)
    table.execute(f"DELETE FROM {TABLE}")
    rows = loaded(table, model, first, 300)
    assert rows == [as_row(model, n) for n in range(first, first + 300)]
    assert all(start <= r[3] < start + span for r in rows)


def test_bulk_bookings_keep_the_generators_properties(table: LocalWarehouse) -> None:
    table.execute(f"DELETE FROM {TABLE}")
    model = BookingModel(5, start=datetime(2025, 9, 1), end=datetime(2025, 10, 1))  # 8 weekend days, 22 weekdays
    rows = loaded(table, model, 1, 20_000)
    assert [r[0] for r in rows] == [booking_id(n) for n in range(1, 20_001)]
    assert 0.08 < sum(r[4] == CANCELLED for r in rows) / len(rows) < 0.12
    assert sum(17 <= r[3].hour <= 22 for r in rows) / len(rows) > 0.5  # six of 24 hours
    weekend = sum(r[3].weekday() >= 5 for r in rows)
    assert 1.4 < (weekend / 8) / ((len(rows) - weekend) / 22) < 1.8  # a weekend day weighs 1.6
    tiers = {m.movie_id: m.price_tier for m in MOVIES}
    assert {r[2] for r in rows} == set(tiers)
    for r in rows:
        lo, hi = TIER_BANDS[tiers[r[2]]]
        assert lo <= r[6] <= hi and r[6] == r[6].quantize(Decimal("0.01"))
    tickets = Counter(r[5] for r in rows)
    assert set(tickets) == set(range(1, 9)) and tickets[1] + tickets[2] > 0.5 * len(rows)
    popular = Counter(r[2] for r in rows).most_common()
    assert popular[0][1] > 3 * popular[-1][1]  # a popularity curve, not a flat draw
    assert len({r[1] for r in rows}) == 500


def test_the_generating_statement_is_snowflake_sql_of_integers_only() -> None:
    """The rows are the same on both engines because only +, *, MOD, SUBSTR and ASCII on
    integers below 2**63 and string literals decide them: no RANDOM, no HASH, no floats."""
    sql = BookingModel(3, start=datetime(2025, 9, 1, 6), end=datetime(2025, 9, 20)).insert_sql(TABLE, 41, 1000)
    tree = sqlglot.parse_one(sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
    names = {type(node).__name__ for node in tree.walk()}
    assert not names & {"Rand", "Randn", "Random", "Uniform", "Anonymous", "Float"}, names
    assert "HASH(" not in sql.upper() and "RANDOM(" not in sql.upper()
    divisions = list(tree.find_all(sqlglot.exp.Div))
    assert len(divisions) == 1  # whole weeks, an exact division cast to NUMBER(18, 0)
    assert isinstance(divisions[0].parent, sqlglot.exp.Cast)


# -- changes to a table the generator did not make -------------------------------------


class Table:
    """An independent model of a table of bookings, and the generator's lookup into it."""

    def __init__(self, rng: random.Random, n: int) -> None:
        model = BookingModel(9, start=datetime(2025, 9, 1), end=datetime(2025, 10, 1))
        self.rows: dict[str, tuple[str, int]] = {}
        self.invalid: set[str] = set()
        for i in range(1, n + 1):
            roll = rng.random()
            if roll < 0.1:
                continue  # deleted before: gone
            b = model.booking(i)
            self.rows[b.booking_id] = (b.status, b.ticket_count)  # type: ignore[index,assignment]
            if roll < 0.15:
                self.invalid.add(b.booking_id)  # type: ignore[arg-type]
        self.asked = 0
        self.next = n + 1

    def lookup(self, ids: Any) -> dict[str, Row]:
        self.asked += len(ids)
        return {
            i: Row(INERT) if i in self.invalid else Row(*self.rows[i])  # type: ignore[arg-type]
            for i in ids
            if i in self.rows
        }

    def apply(self, change: Any) -> None:
        if isinstance(change, Insert | InsertInvalid):
            bid = change.booking.booking_id
            if bid is None:
                return
            assert bid not in self.rows and int(bid[2:]) >= self.next, "a new booking needs a fresh id"
            self.rows[bid] = (change.booking.status, change.booking.ticket_count)  # type: ignore[assignment]
            self.next = int(bid[2:]) + 1
            if isinstance(change, InsertInvalid):
                self.invalid.add(bid)
        elif isinstance(change, Reinsert):
            bid = change.booking.booking_id
            assert bid not in self.rows and bid is not None, "reinsert of an id that is present"
            self.rows[bid] = (BOOKED, change.booking.ticket_count)  # type: ignore[assignment]
        else:
            bid = change.booking_id
            assert bid in self.rows and bid not in self.invalid, f"{change.kind} of a missing or invalid row"
            status, count = self.rows[bid]
            if isinstance(change, Update):
                assert status == BOOKED and change.ticket_count != count
                self.rows[bid] = (status, change.ticket_count)
            elif isinstance(change, Cancel):
                assert status == BOOKED
                self.rows[bid] = (CANCELLED, count)
            else:
                assert isinstance(change, Delete)
                del self.rows[bid]


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**31), size=st.integers(0, 3000), batches=st.lists(st.integers(1, 400), max_size=5))
def test_changes_to_a_table_made_before_are_applicable(seed: int, size: int, batches: list[int]) -> None:
    table = Table(random.Random(seed), size)
    gen = ChangeGenerator(seed, next_number=table.next, lookup=table.lookup if size else None)
    for n in batches:
        changes = gen.changes(n)
        assert len(changes) == n
        for change in changes:
            table.apply(change)


def test_lookups_grow_with_the_changes_not_with_the_table() -> None:
    asked = {}
    for size in (20_000, 200_000):
        table = Table(random.Random(1), size)
        gen = ChangeGenerator(1, next_number=table.next, lookup=table.lookup)
        for change in gen.changes(1000):
            table.apply(change)
        asked[size] = table.asked
    assert asked[20_000] <= 2000 and asked[200_000] <= 2000, asked


def test_changes_to_old_bookings_spread_over_the_whole_table() -> None:
    table = Table(random.Random(2), 50_000)
    gen = ChangeGenerator(2, mix={"update": 1}, next_number=table.next, lookup=table.lookup)
    touched = [int(c.booking_id[2:]) for c in gen.changes(4000) if isinstance(c, Update)]
    assert len(touched) == 4000
    deciles = Counter(n * 10 // 50_001 for n in touched)
    assert all(300 < deciles[d] < 500 for d in range(10)), deciles


def test_a_generator_without_a_lookup_cannot_start_after_existing_rows() -> None:
    with pytest.raises(ValueError):
        ChangeGenerator(1, next_number=10)
    assert GONE.status is None


# -- whole simulate runs ----------------------------------------------------------------


def simulate(wh: LocalWarehouse, seed: int, **plan: Any) -> Simulation:
    sim = Simulation(SimulationPlan(seed=seed, **plan), NS, seed)
    sim.run(wh)
    return sim


@pytest.mark.parametrize("seed", [3, 17])
def test_oracle_holds_after_simulate_runs_on_a_table_it_reads_only_in_part(seed: int) -> None:
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh)
        simulate(wh, seed, sample=True, bookings=3000)
        clock.advance(seconds=61)
        run_pending(wh.engine, catch_up=True)
        for run in range(3):  # each run starts from the table alone, as a new process does
            sim = simulate(wh, seed + run, changes=700, batch_size=300)
            assert sim.counts.total == 700
            clock.advance(seconds=61)
            run_pending(wh.engine, catch_up=True)
        check_consistency(wh)


def test_a_seed_gives_the_same_table_twice() -> None:
    tables = []
    for _ in range(2):
        with LocalWarehouse(":memory:", clock=ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))) as wh:
            deploy_pipeline(wh)
            simulate(wh, 11, sample=True, bookings=2000, changes=900, batch_size=250)
            simulate(wh, 12, changes=500)
            tables.append(wh.execute(f"SELECT {COLUMNS} FROM {TABLE} ORDER BY 1, 2, 3, 4, 5, 6, 7").rows)
    assert tables[0] == tables[1] and len(tables[0]) > 2000


def test_simulate_reads_only_the_rows_its_changes_draw() -> None:
    """Rows crossing from the target to Python for 1,000 changes: the same on a table ten
    times larger (a few lookups of drawn ids), never the table."""
    fetched = {}
    for size in (5_000, 50_000):
        with LocalWarehouse(":memory:", clock=ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))) as wh:
            deploy_pipeline(wh)
            simulate(wh, 5, bookings=size)
            seen = []
            real = wh.execute

            def counting(sql: str, params: Any = None, _real: Any = real, _seen: list[int] = seen) -> Any:
                res = _real(sql, params)
                _seen.append(len(res.rows))
                return res

            wh.execute = counting  # type: ignore[method-assign]
            simulate(wh, 6, changes=1000)
            fetched[size] = sum(seen)
    assert fetched[50_000] <= 2500 and fetched[50_000] < 1.5 * fetched[5_000], fetched
