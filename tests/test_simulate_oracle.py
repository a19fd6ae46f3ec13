"""The oracle after simulated workloads: whatever `simulate` does, once the pipeline
has caught up the insights equal figures recomputed from raw_movie_bookings, the
events replay to exactly the source table, and invalid rows are flagged downstream."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moviecdc.clock import ManualClock
from moviecdc.emulator.scheduler import run_pending
from moviecdc.movies import MOVIES
from moviecdc.simulate.generator import ChangeGenerator, sample_bookings
from moviecdc.simulate.runner import INSERT_COLUMNS, apply_changes, booking_row, load_sample
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.exactly_once import Ledger
from tests.test_oracle import COUNTED, FIELDS, expected_insights, is_valid

TITLES = {m.movie_id: m.title for m in MOVIES}


def events_by_batch(wh: LocalWarehouse) -> list[list[tuple[str, bool, tuple[Any, ...]]]]:
    rows = wh.execute(
        f"SELECT change_timestamp, source_row_id, change_action, is_update, {', '.join(FIELDS)}"
        f" FROM {NS}.movie_booking_cdc_events ORDER BY change_timestamp, source_row_id, change_action"
    ).rows
    batches: dict[object, list[tuple[str, bool, tuple[Any, ...]]]] = {}
    for ts, _, action, upd, *values in rows:
        batches.setdefault(ts, []).append((action, upd, tuple(values)))
    return list(batches.values())


def check_consistency(wh: LocalWarehouse, ledger: Ledger | None = None) -> None:
    """The oracle once the pipeline has caught up. ``ledger`` carries the exactly-once
    model across earlier checkpoints; without one, all events are checked at once."""
    raw = wh.execute(f"SELECT {', '.join(FIELDS)} FROM {NS}.raw_movie_bookings").dicts()
    # the events are every change of the source exactly once (an independent stream model)
    (ledger or Ledger()).check(wh)
    # the insights equal figures recomputed from the raw table (and, for change metrics, the events)
    expected = expected_insights(raw, events_by_batch(wh))
    got = {
        (r["movie_id"], r["booking_day"]): r for r in wh.execute(f"SELECT * FROM {NS}.movie_booking_insights").dicts()
    }
    assert set(got) == set(expected)
    for key, exp_row in expected.items():
        for col in COUNTED:
            assert got[key][col] == exp_row[col], (key, col)
        assert Decimal(got[key]["active_revenue"]) == exp_row["active_revenue"]
        assert Decimal(got[key]["lost_revenue"]) == exp_row["lost_revenue"]
        assert got[key]["movie_title"] == TITLES.get(key[0])
    # invalid rows are in the source and flagged invalid downstream
    flags = Counter(wh.execute(f"SELECT is_valid_booking FROM {NS}.movie_bookings_filtered").rows)
    assert flags[(False,)] == sum(not is_valid(r) for r in raw)
    assert flags[(True,)] == sum(is_valid(r) for r in raw)


mixes = st.fixed_dictionaries(
    {k: st.sampled_from([0.0, 0.05, 0.2, 0.5]) for k in ("update", "cancel", "delete", "reinsert", "invalid")}
).map(lambda m: {"insert": 0.3, **m})


@settings(max_examples=3, deadline=None)
@given(seed=st.integers(0, 2**31), mix=mixes, batches=st.lists(st.integers(1, 150), min_size=1, max_size=4),
       catch_up_between=st.booleans())  # fmt: skip
def test_oracle_holds_after_simulated_workloads(
    seed: int, mix: dict[str, float], batches: list[int], catch_up_between: bool
) -> None:
    check_simulated_workload(seed, mix, batches, catch_up_between)


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31), mix=mixes, batches=st.lists(st.integers(1, 300), min_size=1, max_size=6),
       catch_up_between=st.booleans())  # fmt: skip
def test_oracle_holds_after_simulated_workloads_thoroughly(
    seed: int, mix: dict[str, float], batches: list[int], catch_up_between: bool
) -> None:
    check_simulated_workload(seed, mix, batches, catch_up_between)


def check_simulated_workload(seed: int, mix: dict[str, float], batches: list[int], catch_up_between: bool) -> None:
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh)
        gen = ChangeGenerator(seed, mix=mix)
        ledger = Ledger()
        load_sample(wh, NS)
        gen.known(sample_bookings())
        wh.insert_rows(f"{NS}.raw_movie_bookings", INSERT_COLUMNS, [booking_row(b) for b in gen.bookings(40)])
        for n in batches:
            apply_changes(wh, NS, gen.changes(n))
            if catch_up_between:
                clock.advance(seconds=61)
                run_pending(wh.engine, catch_up=True)
                ledger.check(wh)
        clock.advance(seconds=61)
        run_pending(wh.engine, catch_up=True)
        check_consistency(wh, ledger)


def test_prices_follow_each_movies_tier() -> None:
    tiers = {m.movie_id: m.price_tier for m in MOVIES}
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh)
        gen = ChangeGenerator(7)
        wh.insert_rows(f"{NS}.raw_movie_bookings", INSERT_COLUMNS, [booking_row(b) for b in gen.bookings(2000)])
        run_pending(wh.engine, catch_up=True)
        rows = wh.execute(f"SELECT movie_id, price_category, movie_title FROM {NS}.movie_bookings_filtered").rows
    assert {m for m, _, _ in rows} == set(tiers)  # every movie of the catalogue is booked
    assert all(category == tiers[movie] for movie, category, _ in rows)
    assert all(title == TITLES[movie] for movie, _, title in rows)


def test_invalid_only_workload_is_counted_in_data_quality() -> None:
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh)
        gen = ChangeGenerator(3, mix={"invalid": 1.0})
        apply_changes(wh, NS, gen.changes(200))
        run_pending(wh.engine, catch_up=True)
        raw = wh.execute(f"SELECT count(*) FROM {NS}.raw_movie_bookings").scalar()
        totals = wh.execute(f"SELECT SUM(total_bookings), SUM(valid_bookings) FROM {NS}.movie_booking_insights").rows[0]
        check_consistency(wh)
    assert raw == 200 and totals == (200, 0)
