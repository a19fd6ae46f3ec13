"""Tests for moviecdc.dialect.schedule (snowflake-cdc-semantics.md 2.2, 2.4, 3.1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import example, given
from hypothesis import strategies as st

from moviecdc.dialect.schedule import (
    MAX_INTERVAL_SECONDS,
    CronSchedule,
    IntervalSchedule,
    Schedule,
    TargetLag,
    parse_duration_seconds,
    parse_schedule,
    parse_target_lag,
)
from moviecdc.errors import SqlError

LA = ZoneInfo("America/Los_Angeles")
EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def la(year: int, month: int, day: int, hour: int = 0, minute: int = 0, *, fold: int = 0) -> datetime:
    """A Los Angeles wall-clock time (fold=1: the repeated hour's second pass), in UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=LA, fold=fold).astimezone(UTC)


# --- parse_schedule: intervals (2.2) ---------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        pytest.param("1 MINUTE", 60, "1 MINUTE", id="minute"),
        pytest.param("5 MINUTES", 300, "5 MINUTES", id="minutes"),
        pytest.param("1 minutes", 60, "1 MINUTE", id="lowercase-plural"),
        pytest.param("5 M", 300, "5 MINUTES", id="m"),
        pytest.param("15 m", 900, "15 MINUTES", id="m-lowercase"),
        pytest.param("  10   Minutes \t", 600, "10 MINUTES", id="flexible-whitespace"),
        pytest.param("05 MINUTES", 300, "5 MINUTES", id="leading-zero"),
        pytest.param("10 SECONDS", 10, "10 SECONDS", id="seconds-minimum"),
        pytest.param("30 second", 30, "30 SECONDS", id="second"),
        pytest.param("90 SECONDS", 90, "90 SECONDS", id="seconds-not-whole-minute"),
        pytest.param("120 SECONDS", 120, "2 MINUTES", id="seconds-whole-minutes"),
        pytest.param("1 HOUR", 3600, "1 HOUR", id="hour"),
        pytest.param("3 hours", 10800, "3 HOURS", id="hours"),
        pytest.param("60 MINUTES", 3600, "1 HOUR", id="minutes-whole-hour"),
        pytest.param("11520 MINUTES", MAX_INTERVAL_SECONDS, "192 HOURS", id="minutes-maximum"),
    ],
)
def test_parse_schedule_accepts_interval(text: str, seconds: int, canonical: str) -> None:
    schedule = parse_schedule(text)
    assert schedule == IntervalSchedule(seconds)
    assert schedule.describe() == canonical
    assert parse_schedule(schedule.describe()) == schedule


# --- parse_schedule: cron (2.2) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expression", "timezone"),
    [
        pytest.param(
            "USING CRON 0 9 * * MON-FRI Europe/London",
            "0 9 * * MON-FRI",
            "Europe/London",
            id="weekdays",
        ),
        pytest.param("using cron */5 * * * * UTC", "*/5 * * * *", "UTC", id="lowercase-keywords"),
        pytest.param(
            "  USING   CRON  0  23  *  *  *   America/Los_Angeles ",
            "0 23 * * *",
            "America/Los_Angeles",
            id="flexible-whitespace",
        ),
        pytest.param(
            "USING CRON 0 0 10-20 * TUE,THU America/Los_Angeles",
            "0 0 10-20 * TUE,THU",
            "America/Los_Angeles",
            id="ranges-and-lists",
        ),
        pytest.param("USING CRON 0 0 L * * UTC", "0 0 L * *", "UTC", id="last-day-of-month"),
        pytest.param("USING CRON 0 12 * * 5L UTC", "0 12 * * 5L", "UTC", id="last-friday-number"),
        pytest.param("USING CRON 0 12 * * friL UTC", "0 12 * * FRIL", "UTC", id="last-friday-name"),
        pytest.param("USING CRON 0 0 * * L UTC", "0 0 * * L", "UTC", id="dow-l"),
        pytest.param("USING CRON 0 0 1 jan-mar,DEC * UTC", "0 0 1 JAN-MAR,DEC *", "UTC", id="month-names"),
        pytest.param("USING CRON 0 0 1 4/3 * UTC", "0 0 1 4/3 *", "UTC", id="month-step"),
        pytest.param("USING CRON 0 0 * * 0-6 UTC", "0 0 * * 0-6", "UTC", id="dow-numbers"),
        pytest.param("USING CRON 0 9 * * * america/new_york", "0 9 * * *", "America/New_York", id="tz-case"),
    ],
)
def test_parse_schedule_accepts_cron(text: str, expression: str, timezone: str) -> None:
    schedule = parse_schedule(text)
    assert schedule == CronSchedule(expression, timezone)
    assert schedule.describe() == f"USING CRON {expression} {timezone}"
    assert parse_schedule(schedule.describe()) == schedule


# --- parse_schedule: rejections ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("", "not an interval", id="empty"),
        pytest.param("MINUTES", "not an interval", id="no-number"),
        pytest.param("5", "not an interval", id="no-unit"),
        pytest.param("5MINUTES", "not an interval", id="no-space"),
        pytest.param("1.5 MINUTES", "not an interval", id="decimal"),
        pytest.param("-5 MINUTES", "not an interval", id="negative"),
        pytest.param("5 DAYS", "not an interval", id="days-not-a-schedule-unit"),
        pytest.param("5 MINS", "not an interval", id="unknown-unit"),
        pytest.param("every 5 minutes", "not an interval", id="prose"),
        pytest.param("0 MINUTES", "positive integer", id="zero"),
        pytest.param("9 SECONDS", "minimum interval is 10 SECONDS", id="below-minimum"),
        pytest.param("11521 MINUTES", "maximum interval is 11520 MINUTES", id="above-maximum"),
        pytest.param("193 HOURS", "maximum interval", id="hours-above-maximum"),
        pytest.param("USING CRON", "5 fields and a time zone", id="cron-empty"),
        pytest.param("USING CRON 0 9 * * *", "5 fields and a time zone", id="cron-no-timezone"),
        pytest.param("USING CRON 0 9 * * UTC", "5 fields and a time zone", id="cron-four-fields"),
        pytest.param("USING CRON 0 0 9 * * * UTC", "5 fields and a time zone", id="cron-seconds"),
        pytest.param("USING CRON 0 9 * * * Mars/Olympus", "unknown time zone", id="cron-bad-tz"),
        pytest.param("USING CRON 60 9 * * * UTC", "invalid cron expression", id="minute-60"),
        pytest.param("USING CRON 0 24 * * * UTC", "invalid cron expression", id="hour-24"),
        pytest.param("USING CRON 0 0 32 * * UTC", "invalid cron expression", id="dom-32"),
        pytest.param("USING CRON 0 0 * 13 * UTC", "invalid cron expression", id="month-13"),
        pytest.param("USING CRON 0 0 * MON * UTC", "month field", id="dow-name-in-month"),
        pytest.param("USING CRON 0 0 * * JAN UTC", "day_of_week field", id="month-name-in-dow"),
        pytest.param("USING CRON 0 L * * * UTC", "hour field", id="l-in-hour"),
        pytest.param("USING CRON 0 0 ? * * UTC", "day_of_month field", id="question-mark"),
        pytest.param("USING CRON 0 0 * * 5#3 UTC", "day_of_week field", id="nth-weekday"),
        pytest.param("USING CRON H 0 * * * UTC", "minute field", id="hashed"),
        pytest.param("USING CRON R 0 * * * UTC", "minute field", id="random"),
        pytest.param("USING CRON 0 0 1,,2 * * UTC", "day_of_month field", id="empty-list-item"),
        pytest.param("USING CRON 0 0 31 2 * UTC", "never matches", id="february-31"),
        pytest.param("USING CRONX 0 0 * * * UTC", "not an interval", id="cron-typo"),
    ],
)
def test_parse_schedule_rejects(text: str, reason: str) -> None:
    with pytest.raises(SqlError) as info:
        parse_schedule(text)
    message = str(info.value)
    assert f"[{text!r}]" in message
    assert "'SCHEDULE'" in message
    assert reason in message
    assert "MINUTES" in message and "USING CRON" in message  # names the accepted forms


# --- interval slots (2.2) ---------------------------------------------------------------------


def test_interval_next_run_anchored_at_resume() -> None:
    """Docs: resume at 9:03 with '10 MINUTES' → 9:13, 9:23, ..."""
    schedule = parse_schedule("10 MINUTES")
    resumed = utc(2025, 9, 1, 9, 3)
    first = schedule.next_run(resumed, resumed)
    second = schedule.next_run(resumed, first)
    assert (first, second) == (utc(2025, 9, 1, 9, 13), utc(2025, 9, 1, 9, 23))


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        pytest.param(utc(2025, 9, 1, 8, 0), utc(2025, 9, 1, 9, 13), id="before-anchor"),
        pytest.param(utc(2025, 9, 1, 9, 12, 59), utc(2025, 9, 1, 9, 13), id="just-before-slot"),
        pytest.param(utc(2025, 9, 1, 9, 13), utc(2025, 9, 1, 9, 23), id="on-slot-is-exclusive"),
        pytest.param(utc(2025, 9, 1, 12, 0), utc(2025, 9, 1, 12, 3), id="hours-later"),
    ],
)
def test_interval_next_run_is_strictly_after(after: datetime, expected: datetime) -> None:
    assert parse_schedule("10 MINUTES").next_run(utc(2025, 9, 1, 9, 3), after) == expected


def test_interval_next_run_returns_utc_for_other_zones() -> None:
    anchor = datetime(2025, 9, 1, 11, 3, tzinfo=ZoneInfo("Europe/Paris"))
    result = parse_schedule("10 MINUTES").next_run(anchor, anchor)
    assert result == utc(2025, 9, 1, 9, 13)
    assert result.tzinfo is UTC


@pytest.mark.parametrize(
    ("after", "now", "expected"),
    [
        pytest.param(utc(2025, 9, 1, 9, 3), utc(2025, 9, 1, 9, 12), None, id="none-before-first-slot"),
        pytest.param(utc(2025, 9, 1, 9, 13), utc(2025, 9, 1, 9, 22), None, id="none-since-last-run"),
        pytest.param(utc(2025, 9, 1, 9, 3), utc(2025, 9, 1, 9, 13), utc(2025, 9, 1, 9, 13), id="one-exact"),
        pytest.param(
            utc(2025, 9, 1, 9, 13),
            utc(2025, 9, 1, 9, 25),
            utc(2025, 9, 1, 9, 23),
            id="one-late",
        ),
        pytest.param(
            utc(2025, 9, 1, 9, 13),
            utc(2025, 9, 2, 9, 5),
            utc(2025, 9, 2, 9, 3),
            id="many-runs-latest-once",
        ),
    ],
)
def test_interval_latest_slot(after: datetime, now: datetime, expected: datetime | None) -> None:
    schedule = parse_schedule("10 MINUTES")
    assert schedule.latest_slot(utc(2025, 9, 1, 9, 3), after, now) == expected


@given(
    anchor=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)),
    seconds=st.integers(min_value=10, max_value=MAX_INTERVAL_SECONDS),
    offset=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=400)),
)
@example(anchor=utc(2025, 9, 1, 9, 3), seconds=600, offset=timedelta(0))
@example(anchor=utc(2025, 9, 1, 9, 3), seconds=600, offset=timedelta(minutes=10))
def test_interval_next_run_property(anchor: datetime, seconds: int, offset: timedelta) -> None:
    """next_run(anchor, t) is in (t, t + interval] and on the anchor's grid."""
    step = timedelta(seconds=seconds)
    schedule = IntervalSchedule(seconds)
    after = anchor + offset
    slot = schedule.next_run(anchor, after)
    assert after < slot <= after + step
    assert (slot - anchor) % step == timedelta(0)
    latest = schedule.latest_slot(anchor, anchor, after)
    if after < anchor + step:
        assert latest is None
    else:
        assert latest is not None
        assert after - step < latest <= after
        assert schedule.next_run(anchor, latest) == slot


# --- cron slots (2.2) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "after", "expected"),
    [
        pytest.param(
            "USING CRON 0 9 * * * America/Los_Angeles",
            la(2025, 3, 8, 9, 0),
            la(2025, 3, 9, 9, 0),
            id="la-09h-across-spring-forward",
        ),
        pytest.param(
            "USING CRON 0 9 * * * America/Los_Angeles",
            utc(2025, 3, 8, 17, 0),
            utc(2025, 3, 9, 16, 0),
            id="la-09h-utc-offset-changes",
        ),
        pytest.param(
            "USING CRON 0 2 * * * America/Los_Angeles",
            la(2025, 3, 8, 2, 0),
            la(2025, 3, 10, 2, 0),
            id="la-02h-skipped-on-spring-forward",
        ),
        pytest.param(
            "USING CRON 30 2 * * * America/Los_Angeles",
            la(2025, 3, 9, 1, 59),
            la(2025, 3, 10, 2, 30),
            id="la-0230-does-not-exist",
        ),
        pytest.param(
            "USING CRON 0 1 * * * America/Los_Angeles",
            la(2025, 11, 2, 1, 0),
            la(2025, 11, 2, 1, 0, fold=1),
            id="la-01h-runs-twice-on-fall-back",
        ),
        pytest.param(
            "USING CRON 0 1 * * * America/Los_Angeles",
            la(2025, 11, 2, 1, 0, fold=1),
            la(2025, 11, 3, 1, 0),
            id="la-01h-then-next-day",
        ),
        pytest.param(
            "USING CRON 0 0 L * * UTC",
            utc(2024, 2, 1),
            utc(2024, 2, 29),
            id="last-day-of-leap-february",
        ),
        pytest.param(
            "USING CRON 0 0 L * * UTC",
            utc(2024, 2, 29),
            utc(2024, 3, 31),
            id="last-day-exclusive",
        ),
        pytest.param(
            "USING CRON 0 12 * * 5L UTC",
            utc(2025, 9, 1),
            utc(2025, 9, 26, 12),
            id="last-friday",
        ),
        pytest.param(
            "USING CRON 0 12 * * FRIL America/Los_Angeles",
            utc(2025, 10, 1),
            la(2025, 10, 31, 12),
            id="last-friday-name-la",
        ),
        pytest.param("USING CRON 0 0 * * L UTC", utc(2025, 9, 1), utc(2025, 9, 6), id="dow-l-sat"),
        pytest.param(
            "USING CRON 0 9 * * MON-FRI Europe/London",
            utc(2025, 9, 5, 9),
            utc(2025, 9, 8, 8),
            id="weekdays-london-bst",
        ),
        pytest.param("USING CRON 0 0 1 4/3 * UTC", utc(2025, 7, 1), utc(2025, 10, 1), id="month-step"),
        pytest.param("USING CRON 0 0 1 4/3 * UTC", utc(2025, 10, 1), utc(2026, 4, 1), id="wrap"),
    ],
)
def test_cron_next_run(text: str, after: datetime, expected: datetime) -> None:
    result = parse_schedule(text).next_run(EPOCH, after)
    assert result == expected
    assert result.tzinfo is UTC


def test_cron_ignores_anchor() -> None:
    schedule = parse_schedule("USING CRON 0 * * * * UTC")
    after = utc(2025, 9, 1, 9, 3)
    assert schedule.next_run(after, after) == schedule.next_run(EPOCH, after) == utc(2025, 9, 1, 10)


@pytest.mark.parametrize(
    ("text", "after", "now", "expected"),
    [
        pytest.param(
            "USING CRON * * * * * UTC",
            utc(2025, 9, 1, 9, 0),
            utc(2025, 9, 1, 9, 0, 59),
            None,
            id="none",
        ),
        pytest.param(
            "USING CRON * * * * * UTC",
            utc(2025, 9, 1, 9, 0),
            utc(2025, 9, 1, 9, 1, 30),
            utc(2025, 9, 1, 9, 1),
            id="one",
        ),
        pytest.param(
            "USING CRON * * * * * UTC",
            utc(2025, 9, 1, 9, 0),
            utc(2025, 9, 3, 17, 42, 10),
            utc(2025, 9, 3, 17, 42),
            id="many-every-minute",
        ),
        pytest.param(
            "USING CRON 0 9 * * MON-FRI Europe/London",
            utc(2025, 9, 1, 8),
            utc(2025, 9, 7, 12),
            utc(2025, 9, 5, 8),
            id="many-weekdays",
        ),
        pytest.param(
            "USING CRON 0 1 * * * America/Los_Angeles",
            la(2025, 11, 1, 1, 0),
            la(2025, 11, 2, 1, 30, fold=1),
            la(2025, 11, 2, 1, 0, fold=1),
            id="fall-back-second-occurrence",
        ),
        pytest.param(
            "USING CRON 0 1 * * * America/Los_Angeles",
            la(2025, 11, 1, 1, 0),
            la(2025, 11, 2, 1, 30),
            la(2025, 11, 2, 1, 0),
            id="fall-back-first-occurrence",
        ),
        pytest.param(
            "USING CRON 0 2 * * * America/Los_Angeles",
            la(2025, 3, 8, 2, 0),
            la(2025, 3, 10, 1, 0),
            None,
            id="spring-forward-no-slot",
        ),
    ],
)
def test_cron_latest_slot(text: str, after: datetime, now: datetime, expected: datetime | None) -> None:
    result = parse_schedule(text).latest_slot(EPOCH, after, now)
    assert result == expected
    assert result is None or result.tzinfo is UTC


def _brute_force_slots(expression: str, zone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every UTC minute in [start, end) whose wall-clock time in zone matches the cron."""
    tz = ZoneInfo(zone)
    slots = []
    minute = start
    while minute < end:
        if croniter.match(expression, minute.astimezone(tz).replace(tzinfo=None)):
            slots.append(minute)
        minute += timedelta(minutes=1)
    return slots


@pytest.mark.parametrize(
    ("text", "start"),
    [
        pytest.param("USING CRON */15 * * * * America/Los_Angeles", la(2025, 3, 9), id="la-spring"),
        pytest.param("USING CRON */15 * * * * America/Los_Angeles", la(2025, 11, 2), id="la-fall"),
        pytest.param("USING CRON 30 1,2 * * * Europe/London", utc(2025, 10, 25, 12), id="london"),
        pytest.param("USING CRON */10 1-2 * * * Australia/Lord_Howe", utc(2025, 4, 5), id="lhi-30m"),
        pytest.param("USING CRON */20 * * * * Australia/Lord_Howe", utc(2025, 10, 4, 6), id="lhi-spring"),
    ],
)
def test_cron_slots_match_wall_clock_brute_force(text: str, start: datetime) -> None:
    """Across a DST change, next_run walks exactly the instants whose local time matches."""
    schedule = parse_schedule(text)
    assert isinstance(schedule, CronSchedule)
    end = start + timedelta(hours=30)
    expected = _brute_force_slots(schedule.expression, schedule.timezone, start, end)
    walked = []
    slot = schedule.next_run(EPOCH, start - timedelta(seconds=1))
    while slot < end:
        walked.append(slot)
        slot = schedule.next_run(EPOCH, slot)
    assert walked == expected
    for previous, current in pairwise(expected):
        assert schedule.latest_slot(EPOCH, previous, current + timedelta(seconds=30)) == current
        assert schedule.latest_slot(EPOCH, current, current + timedelta(seconds=30)) is None


_CRON_SAMPLES = [
    "USING CRON 0 9 * * * America/Los_Angeles",
    "USING CRON */15 1-3 * * * America/Los_Angeles",
    "USING CRON 30 1 * * * Europe/London",
    "USING CRON 0 0 L * * Australia/Sydney",
    "USING CRON 0 12 * * 5L Asia/Tokyo",
    "USING CRON */10 * * * * Australia/Lord_Howe",
]


@given(
    text=st.sampled_from(_CRON_SAMPLES),
    after=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 1, 1), timezones=st.just(UTC)),
)
@example(text=_CRON_SAMPLES[1], after=la(2025, 11, 2, 1, 20))
@example(text=_CRON_SAMPLES[1], after=la(2025, 11, 2, 1, 20, fold=1))
@example(text=_CRON_SAMPLES[2], after=utc(2025, 10, 26, 0, 40))
def test_cron_next_and_latest_agree(text: str, after: datetime) -> None:
    """next_run is the only slot in (after, next_run]; latest_slot finds it there."""
    schedule = parse_schedule(text)
    slot = schedule.next_run(EPOCH, after)
    assert slot > after
    assert schedule.latest_slot(EPOCH, after, slot) == slot
    assert schedule.latest_slot(EPOCH, after, slot - timedelta(microseconds=1)) is None


@pytest.mark.parametrize(
    "schedule",
    [
        pytest.param(IntervalSchedule(60), id="interval"),
        pytest.param(CronSchedule("* * * * *", "UTC"), id="cron"),
    ],
)
def test_schedule_rejects_naive_datetimes(schedule: Schedule) -> None:
    naive = datetime(2025, 9, 1, 9, 3)
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.next_run(EPOCH, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        schedule.latest_slot(naive, EPOCH, EPOCH)


# --- TARGET_LAG (3.1) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds", "canonical"),
    [
        pytest.param("60 seconds", 60, "1 minute", id="seconds-minimum"),
        pytest.param("90 second", 90, "90 seconds", id="second"),
        pytest.param("1 minute", 60, "1 minute", id="minute"),
        pytest.param("2 minutes", 120, "2 minutes", id="minutes"),
        pytest.param("10 MINUTES", 600, "10 minutes", id="uppercase"),
        pytest.param(" 5   Minutes ", 300, "5 minutes", id="flexible-whitespace"),
        pytest.param("1 hour", 3600, "1 hour", id="hour"),
        pytest.param("6 hours", 21600, "6 hours", id="hours"),
        pytest.param("1 day", 86400, "1 day", id="day"),
        pytest.param("7 days", 604800, "7 days", id="days"),
        pytest.param("48 hours", 172800, "2 days", id="hours-whole-days"),
    ],
)
def test_parse_target_lag_accepts_duration(text: str, seconds: int, canonical: str) -> None:
    lag = parse_target_lag(text)
    assert lag == TargetLag(seconds)
    assert not lag.is_downstream
    assert lag.describe() == canonical
    assert parse_target_lag(lag.describe()) == lag


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("DOWNSTREAM", id="upper"),
        pytest.param("downstream", id="lower"),
        pytest.param("  Downstream ", id="mixed-padded"),
    ],
)
def test_parse_target_lag_accepts_downstream(text: str) -> None:
    lag = parse_target_lag(text)
    assert lag == TargetLag(None)
    assert lag.is_downstream
    assert lag.describe() == "DOWNSTREAM"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        pytest.param("59 seconds", "minimum target lag is 60 seconds", id="below-minimum"),
        pytest.param("0 minutes", "minimum target lag is 60 seconds", id="zero"),
        pytest.param("", "Expected", id="empty"),
        pytest.param("5", "Expected", id="no-unit"),
        pytest.param("5 M", "Expected", id="schedule-abbreviation"),
        pytest.param("1 week", "Expected", id="weeks"),
        pytest.param("1.5 hours", "Expected", id="decimal"),
        pytest.param("DOWNSTREAMS", "Expected", id="keyword-typo"),
        pytest.param("USING CRON 0 * * * * UTC", "Expected", id="cron"),
    ],
)
def test_parse_target_lag_rejects(text: str, reason: str) -> None:
    with pytest.raises(SqlError) as info:
        parse_target_lag(text)
    message = str(info.value)
    assert f"[{text!r}]" in message
    assert "'TARGET_LAG'" in message
    assert reason in message


# --- parse_duration_seconds -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("3 days", 259200, id="days"),
        pytest.param("1 SECOND", 1, id="second"),
        pytest.param("0 minutes", 0, id="zero-is-parsed"),
        pytest.param("3 weeks", None, id="unknown-unit"),
        pytest.param("three days", None, id="words"),
    ],
)
def test_parse_duration_seconds(text: str, expected: int | None) -> None:
    assert parse_duration_seconds(text) == expected
