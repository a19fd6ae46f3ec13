"""The exactly-once check can fail: fed the events of a real run with one change
doubled, lost or given a wrong image, it says so; fed them untouched, it passes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.scheduler import run_pending
from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import INSERT_COLUMNS, apply_changes, booking_row
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.exactly_once import Event, Image, Ledger, NotExactlyOnce, batches, read_events, read_source
from tests.test_simulate_oracle import check_consistency

Run = list[tuple[list[Event], Counter[Image]]]  # (all events, source) at each checkpoint


def workload(wh: LocalWarehouse, clock: ManualClock) -> Run:
    """Bookings, then batches of changes heavy in updates and deletes, caught up between."""
    gen = ChangeGenerator(11, mix={"insert": 0.2, "update": 0.4, "cancel": 0.2, "delete": 0.1, "reinsert": 0.1})
    wh.insert_rows(f"{NS}.raw_movie_bookings", INSERT_COLUMNS, [booking_row(b) for b in gen.bookings(40)])
    run: Run = []
    for n in (0, 30, 30, 30):
        apply_changes(wh, NS, gen.changes(n))
        clock.advance(seconds=61)
        run_pending(wh.engine, catch_up=True)
        run.append((read_events(wh), read_source(wh)))
    return run


@pytest.fixture(scope="module")
def recorded() -> Run:
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh)
        return workload(wh, clock)


def replay(run: Run, tamper=lambda events: events) -> None:  # type: ignore[no-untyped-def]
    ledger = Ledger()
    for events, source in run:
        ledger.advance(tamper(list(events)), source)


def first_batch(run: Run) -> list[Event]:
    return batches(run[-1][0])[0]


def changed_later(run: Run) -> set[str]:
    """Rows of the first batch that later batches change again."""
    first = {e.row_id for e in first_batch(run)}
    return first & {e.row_id for b in batches(run[-1][0])[1:] for e in b}


def test_the_recorded_run_is_a_fair_test(recorded: Run) -> None:
    events = recorded[-1][0]
    assert len(batches(events)) == len(recorded)  # one task run per checkpoint
    assert len(changed_later(recorded)) > 5
    assert any(e.is_update for e in events) and any(e.action == "DELETE" and not e.is_update for e in events)
    replay(recorded)  # untouched, it passes


def test_a_duplicated_event_is_caught(recorded: Run) -> None:
    def doubled(events: list[Event]) -> list[Event]:
        return events + [e for e in events if not e.is_update]

    with pytest.raises(NotExactlyOnce, match="appears as"):
        replay(recorded, doubled)


def test_one_duplicated_insert_is_caught(recorded: Run) -> None:
    victim = next(e for e in first_batch(recorded) if e.action == "INSERT" and e.row_id not in changed_later(recorded))
    with pytest.raises(NotExactlyOnce):
        replay(recorded, lambda events: [*events, victim] if victim in events else events)


def test_a_batch_delivered_twice_is_caught(recorded: Run) -> None:
    first = first_batch(recorded)
    later = batches(recorded[-1][0])[1][0].change_timestamp

    def redelivered(events: list[Event]) -> list[Event]:
        if any(e.change_timestamp == later for e in events):
            return events + [replace(e, change_timestamp=later) for e in first]
        return events

    with pytest.raises(NotExactlyOnce):
        replay(recorded, redelivered)


def test_lost_events_of_rows_that_changed_later_are_caught(recorded: Run) -> None:
    again = changed_later(recorded)
    first_ts = first_batch(recorded)[0].change_timestamp

    def lost(events: list[Event]) -> list[Event]:
        return [e for e in events if not (e.change_timestamp == first_ts and e.row_id in again)]

    with pytest.raises(NotExactlyOnce, match=r"no earlier change inserted|replay to"):
        replay(recorded, lost)


def test_one_lost_event_that_nothing_follows_is_caught(recorded: Run) -> None:
    last = batches(recorded[-1][0])[-1]
    victim = next(e for e in last if not e.is_update)
    with pytest.raises(NotExactlyOnce, match="replay to"):
        replay(recorded, lambda events: [e for e in events if e != victim])


@pytest.mark.parametrize("action", ["INSERT", "DELETE"])
def test_a_wrong_image_is_caught(recorded: Run, action: str) -> None:
    events = recorded[-1][0]
    victim = next(e for e in events if e.action == action and e.is_update)
    count = list(victim.image)
    count[5] = (count[5] or 0) + 1  # ticket_count
    wrong = replace(victim, image=tuple(count))
    with pytest.raises(NotExactlyOnce):
        replay(recorded, lambda evs: [wrong if e == victim else e for e in evs])


def test_an_update_reported_as_two_plain_events_is_caught(recorded: Run) -> None:
    victim = next(e for e in recorded[-1][0] if e.is_update)
    with pytest.raises(NotExactlyOnce, match="appears as"):
        replay(recorded, lambda evs: [replace(e, is_update=False) if e == victim else e for e in evs])


def test_events_rewritten_after_a_checkpoint_are_caught(recorded: Run) -> None:
    victim = first_batch(recorded)[0]
    ledger = Ledger()
    for i, (events, source) in enumerate(recorded):
        if i == 2:
            events = [e for e in events if e != victim]
            with pytest.raises(NotExactlyOnce, match="changed after they were checked"):
                ledger.advance(events, source)
            return
        ledger.advance(events, source)


def test_the_oracle_catches_a_tampered_events_table(clock: ManualClock) -> None:
    """End to end: the check that the crash, soak and fuzz tests call reads the table."""
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh)
        workload(wh, clock)
        check_consistency(wh)
        wh.execute(f"INSERT INTO {NS}.movie_booking_cdc_events SELECT * FROM {NS}.movie_booking_cdc_events"
                   " WHERE NOT is_update")  # fmt: skip
        with pytest.raises(NotExactlyOnce):
            check_consistency(wh)
