"""Tests for the booking/change generator and the runner that applies it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moviecdc.errors import ConfigError
from moviecdc.simulate.generator import (
    BOOKED,
    CANCELLED,
    CHANGE_KINDS,
    DEFAULT_MIX,
    Booking,
    Cancel,
    Change,
    ChangeGenerator,
    Delete,
    Insert,
    InsertInvalid,
    Reinsert,
    Update,
    sample_bookings,
)
from moviecdc.simulate.runner import (
    INSERT_COLUMNS,
    ChangeCounts,
    apply_changes,
    booking_row,
    load_sample,
    plan_segments,
    source_table,
)
from moviecdc.warehouse.base import Params, Rows
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import deploy_pipeline
from tests.support import RecordingWarehouse
from tests.test_oracle import is_valid

NS = "MOVIECDC.CDC"
TABLE = f"{NS}.raw_movie_bookings"
SELECT_SAMPLE_SQL = f"SELECT booking_id FROM {TABLE} WHERE booking_id IN (?, ?, ?, ?, ?)"


def valid(b: Booking) -> bool:
    """The pipeline's data-quality rule (tests/test_oracle.py), applied to a generated booking."""
    return is_valid(asdict(b))


# -- helpers -------------------------------------------------------------------------


@dataclass
class Model:
    """An independent replay of the table: asserts each change is applicable."""

    live: dict[str, Booking] = field(default_factory=dict)
    deleted: dict[str, Booking] = field(default_factory=dict)
    seen_ids: set[str] = field(default_factory=set)

    def add(self, booking: Booking) -> None:
        assert booking.booking_id is not None
        self.live[booking.booking_id] = booking
        self.seen_ids.add(booking.booking_id)

    def apply(self, change: Change) -> None:
        if isinstance(change, Insert):
            b = change.booking
            assert valid(b) and b.status == BOOKED
            assert b.booking_id not in self.seen_ids, "insert must use a fresh id"
            self.add(b)
        elif isinstance(change, Reinsert):
            b = change.booking
            assert valid(b)
            assert b.booking_id in self.deleted, "reinsert of an id never deleted"
            assert b.booking_id not in self.live
            del self.deleted[b.booking_id]
            self.add(b)
        elif isinstance(change, InsertInvalid):
            b = change.booking
            assert not valid(b)
            assert b.booking_id is None or b.booking_id not in self.seen_ids
            if b.booking_id is not None:
                self.seen_ids.add(b.booking_id)
        elif isinstance(change, Update):
            current = self.live[change.booking_id]  # KeyError: not live
            assert current.status == BOOKED
            assert 1 <= change.ticket_count <= 8
            assert change.ticket_count != current.ticket_count
            self.live[change.booking_id] = Booking(**{**current.__dict__, "ticket_count": change.ticket_count})
        elif isinstance(change, Cancel):
            current = self.live[change.booking_id]
            assert current.status == BOOKED
            self.live[change.booking_id] = Booking(**{**current.__dict__, "status": CANCELLED})
        elif isinstance(change, Delete):
            self.deleted[change.booking_id] = self.live.pop(change.booking_id)
        else:  # pragma: no cover
            raise AssertionError(change)


class CapturingWarehouse(RecordingWarehouse):
    """A RecordingWarehouse that also keeps the rows handed to insert_rows."""

    def __init__(self) -> None:
        super().__init__()
        self.inserts: list[tuple[str, tuple[str, ...], list[tuple[object, ...]]]] = []

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        self.inserts.append((table, tuple(columns), [tuple(r) for r in rows]))
        return super().insert_rows(table, columns, rows)


class TableWarehouse(CapturingWarehouse):
    """A tiny fake table that answers load_sample's lookup and keeps inserted rows."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, object]] = []

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        super().execute(sql, params)
        p = list(params or [])
        if sql == SELECT_SAMPLE_SQL:
            hits = [(r["booking_id"],) for r in self.rows if r["booking_id"] in p]
            return Rows(columns=["BOOKING_ID"], rows=hits)
        raise AssertionError(f"unexpected SQL: {sql}")

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        assert table == TABLE
        self.rows.extend(dict(zip(columns, row, strict=True)) for row in rows)
        return super().insert_rows(table, columns, rows)


def kinds(changes: Sequence[Change]) -> list[str]:
    return [c.kind for c in changes]


def booking(bid: str | None = "X1", count: int | None = 2) -> Booking:
    return Booking(bid, "C1", "M001", datetime(2025, 9, 3, 20), BOOKED, count, Decimal("11.50"))


# -- samples -------------------------------------------------------------------------


def test_sample_bookings_match_the_project_description() -> None:
    samples = sample_bookings()
    assert len(samples) == 5
    assert len({b.booking_id for b in samples}) == 5
    assert len({b.movie_id for b in samples}) == 5
    assert {b.status for b in samples} == {BOOKED, CANCELLED}
    for b in samples:
        assert valid(b)
        assert (b.booking_date.year, b.booking_date.month) == (2025, 9)
        assert b.booking_date.tzinfo is None
        assert Decimal(10) <= b.ticket_price <= Decimal(25)  # type: ignore[operator]
        assert 1 <= b.ticket_count <= 4  # type: ignore[operator]
        assert b.ticket_price == b.ticket_price.quantize(Decimal("0.01"))  # type: ignore[union-attr]
    assert sample_bookings() == samples


# -- generator determinism -------------------------------------------------------------


def run_script(gen: ChangeGenerator) -> tuple[list[Booking], list[Change]]:
    gen.known(sample_bookings())
    first = gen.bookings(50)
    return first, gen.changes(200) + gen.changes(100)


def test_same_seed_same_output() -> None:
    assert run_script(ChangeGenerator(7)) == run_script(ChangeGenerator(7))


def test_different_seed_different_output() -> None:
    a_bookings, a_changes = run_script(ChangeGenerator(7))
    b_bookings, b_changes = run_script(ChangeGenerator(8))
    assert a_bookings != b_bookings
    assert a_changes != b_changes


def test_generator_never_touches_the_global_rng() -> None:
    import random

    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    run_script(ChangeGenerator(3))
    assert random.random() == expected


def test_output_is_identical_across_python_processes() -> None:
    script = (
        "from moviecdc.simulate.generator import ChangeGenerator, sample_bookings\n"
        "g = ChangeGenerator(42, movies=5)\n"
        "g.known(sample_bookings())\n"
        "print(repr(g.bookings(20)))\n"
        "print(repr(g.changes(300)))\n"
    )
    src = str(Path(__file__).resolve().parents[1] / "src")
    outputs = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": src}
        done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
        outputs.add(done.stdout)
    assert len(outputs) == 1


# -- generated values ------------------------------------------------------------------


def test_bookings_are_valid_with_unique_increasing_ids() -> None:
    gen = ChangeGenerator(1, movies=8)
    out = gen.bookings(2000)
    ids = [b.booking_id for b in out]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"BK\d{9}", i or "") for i in ids)
    assert all(valid(b) for b in out)
    assert {b.movie_id for b in out} == {f"M{i:03d}" for i in range(1, 9)}
    assert all(1 <= b.ticket_count <= 8 for b in out)  # type: ignore[operator]
    counts = Counter(b.ticket_count for b in out)
    assert counts[1] + counts[2] > counts[5] + counts[6] + counts[7] + counts[8]
    # Each movie's prices sit in one band at most $4 wide.
    by_movie: dict[str, list[Decimal]] = {}
    for b in out:
        by_movie.setdefault(b.movie_id, []).append(b.ticket_price)  # type: ignore[arg-type]
    for prices in by_movie.values():
        assert max(prices) - min(prices) <= 4
        assert all(p == p.quantize(Decimal("0.01")) and p > 0 for p in prices)
    assert gen.live_ids() == ids


def test_booking_times_favour_evenings_and_weekends() -> None:
    gen = ChangeGenerator(5)  # September 2025: 8 weekend days, 22 weekdays
    out = gen.bookings(6000)
    evening = sum(17 <= b.booking_date.hour <= 22 for b in out) / len(out)
    assert evening > 0.5  # six of 24 hours
    weekend = sum(b.booking_date.weekday() >= 5 for b in out)
    assert weekend / 8 > 1.3 * (len(out) - weekend) / 22


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(min_value=0, max_value=2**32),
    start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    span=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=120)),
)
def test_booking_times_lie_within_start_end(seed: int, start: datetime, span: timedelta) -> None:
    gen = ChangeGenerator(seed, start=start, end=start + span)
    out = gen.bookings(30) + [c.booking for c in gen.changes(60) if isinstance(c, Insert | InsertInvalid)]
    assert all(start <= b.booking_date < start + span for b in out)


def test_invalid_inserts_are_invalid_and_cover_every_defect() -> None:
    gen = ChangeGenerator(11, mix={"invalid": 1.0})
    bad = [c.booking for c in gen.changes(700)]
    assert all(not valid(b) for b in bad)
    defects = Counter()
    for b in bad:
        defects["null_booking_id"] += b.booking_id is None
        defects["null_customer_id"] += b.customer_id is None
        defects["null_movie_id"] += b.movie_id is None
        defects["bad_count"] += b.ticket_count is not None and b.ticket_count <= 0
        defects["bad_price"] += b.ticket_price is not None and b.ticket_price <= 0
    assert all(defects[k] > 0 for k in defects) and len(defects) == 5
    assert gen.live_ids() == []  # invalid rows never become live


# -- mix -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "mix",
    [
        dict(DEFAULT_MIX),
        {
            "insert": 0.2,
            "update": 0.2,
            "cancel": 0.1,
            "delete": 0.2,
            "reinsert": 0.2,
            "invalid": 0.1,
        },
    ],
)
def test_mix_shares_within_two_points(mix: dict[str, float]) -> None:
    gen = ChangeGenerator(2024, mix=mix)
    gen.known(gen.bookings(4000))
    changes = gen.changes(10_000)
    shares = Counter(kinds(changes))
    total = sum(mix.values())
    for kind in CHANGE_KINDS:
        assert abs(shares[kind] / 10_000 - mix[kind] / total) < 0.02, kind


def test_impossible_kinds_fall_back_to_insert() -> None:
    gen = ChangeGenerator(3, mix={"update": 1, "cancel": 1, "delete": 1, "reinsert": 1})
    first = gen.changes(1)
    assert kinds(first) == ["insert"]  # nothing live, nothing deleted yet
    only_reinsert = ChangeGenerator(3, mix={"reinsert": 1})
    assert set(kinds(only_reinsert.changes(50))) == {"insert"}


def test_partial_mix_leaves_missing_kinds_out() -> None:
    gen = ChangeGenerator(9, mix={"insert": 1, "cancel": 1})
    assert set(kinds(gen.changes(500))) == {"insert", "cancel"}


@pytest.mark.parametrize(
    "mix",
    [{"insert": 1, "upsert": 1}, {"insert": -1, "update": 2}, {"insert": 0}, {}, {"update": "x"}],
)
def test_bad_mix_is_a_config_error(mix: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ChangeGenerator(1, mix=mix)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": datetime(2025, 10, 1), "end": datetime(2025, 9, 1)},
        {"start": datetime(2025, 9, 1), "end": datetime(2025, 9, 1)},
        {"movies": 0},
    ],
)
def test_bad_generator_settings_are_config_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ChangeGenerator(1, **kwargs)  # type: ignore[arg-type]


# -- model consistency -----------------------------------------------------------------


def test_changes_only_touch_live_ids_and_reinsert_deleted_ones() -> None:
    gen = ChangeGenerator(77)
    model = Model()
    for b in sample_bookings():
        model.add(b)
    gen.known(sample_bookings())
    for b in gen.bookings(300):
        model.add(b)
    for _ in range(20):
        for change in gen.changes(500):
            model.apply(change)
    assert gen.live_ids() and sorted(gen.live_ids()) == sorted(model.live)
    assert sorted(gen.deleted_ids()) == sorted(model.deleted)
    assert all(gen.status(i) == b.status for i, b in model.live.items())


def test_known_continues_after_highest_generated_id() -> None:
    gen = ChangeGenerator(1)
    gen.known([booking("BK000000041"), booking(None), booking("B0001")])
    assert gen.bookings(1)[0].booking_id == "BK000000042"


weights = st.floats(min_value=0, max_value=1, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(
    seed=st.integers(min_value=-(2**40), max_value=2**40),
    mix=st.fixed_dictionaries({k: weights for k in CHANGE_KINDS}).filter(lambda m: sum(m.values()) > 0.01),
    with_samples=st.booleans(),
    initial=st.integers(min_value=0, max_value=30),
    batches=st.lists(st.integers(min_value=0, max_value=80), max_size=5),
)
def test_any_seed_every_change_is_applicable(
    seed: int,
    mix: dict[str, float],
    with_samples: bool,
    initial: int,
    batches: list[int],
) -> None:
    gen = ChangeGenerator(seed, mix=mix, movies=3)
    model = Model()
    if with_samples:
        gen.known(sample_bookings())
        for b in sample_bookings():
            model.add(b)
    for b in gen.bookings(initial):
        model.add(b)
    for n in batches:
        changes = gen.changes(n)
        assert len(changes) == n
        for change in changes:
            model.apply(change)
    assert sorted(gen.live_ids()) == sorted(model.live)
    assert sorted(gen.deleted_ids()) == sorted(model.deleted)


# -- runner ----------------------------------------------------------------------------


def test_segments_keep_each_bookings_changes_in_order() -> None:
    a, b, c, d = (booking(f"X{i}") for i in range(4))
    bad = booking(None, count=0)
    changes: list[Change] = [
        Insert(a),
        Insert(b),
        Update("X0", 3),  # X0 again: after its insert
        Insert(c),
        Reinsert(d),
        InsertInvalid(bad),  # no booking id: never conflicts
        Delete("X1"),
        Cancel("X2"),  # after X2's insert
        Insert(booking("X5")),
    ]
    segs = plan_segments(changes)
    assert [(len(s.inserts), s.updates, s.cancels, s.deletes) for s in segs] == [
        (6, [], [], []),
        (0, [("X0", 3)], ["X2"], ["X1"]),
    ]
    counts = apply_changes(CapturingWarehouse(), NS, changes)
    assert counts == ChangeCounts(insert=4, update=1, cancel=1, delete=1, reinsert=1, invalid=1)
    assert counts.as_dict() == {"insert": 4, "update": 1, "cancel": 1, "delete": 1, "reinsert": 1, "invalid": 1}
    assert counts.total == 9
    assert counts + counts == ChangeCounts(8, 2, 2, 2, 2, 2)


def one_by_one(wh: LocalWarehouse, changes: Sequence[Change]) -> None:
    """The reference: each change as its own statement."""
    for ch in changes:
        if isinstance(ch, Insert | Reinsert | InsertInvalid):
            wh.insert_rows(TABLE, INSERT_COLUMNS, [booking_row(ch.booking)])
        elif isinstance(ch, Update):
            wh.execute(f"UPDATE {TABLE} SET ticket_count = ? WHERE booking_id = ?", [ch.ticket_count, ch.booking_id])
        elif isinstance(ch, Cancel):
            wh.execute(
                f"UPDATE {TABLE} SET status = 'CANCELLED' WHERE booking_id = ? AND status = 'BOOKED'", [ch.booking_id]
            )
        else:
            wh.execute(f"DELETE FROM {TABLE} WHERE booking_id = ?", [ch.booking_id])


def table_state(wh: LocalWarehouse) -> Counter[tuple[object, ...]]:
    return Counter(wh.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM {TABLE}").rows)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 120))
def test_batched_apply_equals_applying_each_change_in_order(seed: int, n: int) -> None:
    check_batched_equals_one_by_one(seed, n)


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300))
def test_batched_apply_equals_applying_each_change_in_order_thoroughly(seed: int, n: int) -> None:
    check_batched_equals_one_by_one(seed, n)


def check_batched_equals_one_by_one(seed: int, n: int) -> None:
    results = []
    for apply in (lambda wh, ch: apply_changes(wh, NS, ch), one_by_one):
        gen = ChangeGenerator(seed, movies=3, customers=5)
        with LocalWarehouse(":memory:") as wh:
            wh.execute(f"CREATE SCHEMA IF NOT EXISTS {NS}")
            wh.execute(f"CREATE TABLE {TABLE} (booking_id STRING, customer_id STRING, movie_id STRING,"
                       " booking_date TIMESTAMP_NTZ, status STRING, ticket_count INT, ticket_price NUMBER(10, 2),"
                       " updated_at TIMESTAMP_NTZ)")  # fmt: skip
            wh.insert_rows(TABLE, INSERT_COLUMNS, [booking_row(b) for b in gen.bookings(8)])
            apply(wh, gen.changes(n))
            results.append(table_state(wh))
    assert results[0] == results[1]


def test_runner_emits_only_parameterised_sql_in_few_statements() -> None:
    gen = ChangeGenerator(31)
    gen.known(sample_bookings())
    gen.known(gen.bookings(3000))
    wh = CapturingWarehouse()
    changes = gen.changes(2000)
    counts = apply_changes(wh, NS, changes)
    assert counts.total == 2000
    assert counts.as_dict() == dict(Counter(kinds(changes)))
    values = {
        str(v)
        for ch in changes
        for v in (
            ch.booking.__dict__.values() if isinstance(ch, Insert | Reinsert | InsertInvalid) else ch.__dict__.values()
        )
        if v is not None and v not in (BOOKED, CANCELLED)  # constants of the cancel statement
    }
    executed = [(s, p) for s, p in wh.statements if p is not None]
    assert executed
    for sql, params in executed:
        assert sql.count("?") == len(params)
        assert not re.search(r"\d", sql)
        assert not any(v in sql for v in values if len(v) > 1)
    inserted = sum(len(rows) for _, _, rows in wh.inserts)
    assert inserted == counts.insert + counts.reinsert + counts.invalid
    assert len(wh.statements) < 25  # not one round trip per row


def test_applied_changes_leave_the_table_matching_the_model() -> None:
    gen = ChangeGenerator(5)
    with LocalWarehouse(":memory:") as wh:
        deploy_pipeline(wh)
        assert load_sample(wh, NS) == 5
        assert load_sample(wh, NS) == 0
        gen.known(sample_bookings())
        wh.insert_rows(TABLE, INSERT_COLUMNS, [booking_row(b) for b in gen.bookings(50)])
        for _ in range(10):
            apply_changes(wh, NS, gen.changes(200))
        rows = wh.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM {TABLE}").dicts()
    valid = {r["booking_id"]: r["status"] for r in rows if is_valid(r)}  # type: ignore[arg-type]
    assert valid == {i: gen.status(i) for i in gen.live_ids()}
    assert not set(valid) & set(gen.deleted_ids())


def test_load_sample_is_idempotent() -> None:
    wh = TableWarehouse()
    assert load_sample(wh, NS) == 5
    assert load_sample(wh, NS) == 0
    assert len(wh.rows) == 5
    assert [r["booking_id"] for r in wh.rows] == [b.booking_id for b in sample_bookings()]
    selects = [(s, p) for s, p in wh.statements if s.startswith("SELECT")]
    assert selects == [(SELECT_SAMPLE_SQL, [b.booking_id for b in sample_bookings()])] * 2


def test_load_sample_skips_when_any_sample_id_is_present() -> None:
    wh = TableWarehouse()
    wh.rows.append({"booking_id": "B0003", "status": CANCELLED})
    assert load_sample(wh, NS) == 0
    assert wh.inserts == []


def test_load_sample_dry_run_records_insert() -> None:
    wh = RecordingWarehouse()
    assert load_sample(wh, NS) == 5
    assert [s for s, _ in wh.statements] == [
        SELECT_SAMPLE_SQL,
        f"INSERT INTO {TABLE} ({', '.join(INSERT_COLUMNS)}) <5 rows>",
    ]


@pytest.mark.parametrize("ns", ["MOVIECDC", "MOVIECDC.CDC", "db.sch.x", "_a$1.b_2"])
def test_good_namespaces(ns: str) -> None:
    assert source_table(ns) == f"{ns}.raw_movie_bookings"


@pytest.mark.parametrize(
    "ns",
    [
        "",
        "1DB.CDC",
        "DB..CDC",
        "DB.CDC.",
        "a.b.c.d",
        "DB.CDC; DROP TABLE x",
        'DB."CD"C"',
        'DB.""',
        "DB.CDC\n",
        "DB CDC",
        "DB.CDC--",
    ],
)
def test_bad_namespace_is_a_config_error(ns: str) -> None:
    wh = RecordingWarehouse()
    with pytest.raises(ConfigError):
        apply_changes(wh, ns, [Delete("X1")])
    with pytest.raises(ConfigError):
        load_sample(wh, ns)
    assert wh.statements == []
