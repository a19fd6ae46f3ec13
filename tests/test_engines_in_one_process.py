"""Engines of one process share compiled refresh plans; each must keep working on its own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from moviecdc.clock import ManualClock
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline

TABLES = ("movie_bookings_filtered", "movie_booking_insights")


def last_actions(wh: LocalWarehouse) -> dict[str, str]:
    rows = wh.execute(
        "SELECT NAME, REFRESH_ACTION, STATE FROM TABLE(INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY())"
        " ORDER BY REFRESH_START_TIME"
    ).rows
    return {str(name).lower(): f"{state} {action}" for name, action, state in rows}


def differences(wh: LocalWarehouse, table: str) -> int:
    """Rows of the table and of its query recomputed now that are in one and not the other."""
    dt = wh.engine.catalog.dynamic_tables[("CDC", table.upper())]
    extra = wh.execute(f"SELECT count(*) FROM (SELECT * FROM {table} EXCEPT ALL ({dt.query}))").scalar()
    missing = wh.execute(f"SELECT count(*) FROM (({dt.query}) EXCEPT ALL SELECT * FROM {table})").scalar()
    return int(extra) + int(missing)


# a query whose delta asks the engine for its columns (a union's are named by its first branch);
# {tag} keeps other tests' compiled plans of it out of the way
UNION = (
    "CREATE DYNAMIC TABLE booking_changes TARGET_LAG = '1 minute' WAREHOUSE = compute_wh"
    " REFRESH_MODE = INCREMENTAL AS"
    " SELECT booking_id, status FROM raw_movie_bookings WHERE status = 'BOOKED'"
    " UNION ALL SELECT booking_id, status FROM raw_movie_bookings WHERE status <> 'BOOKED' AND booking_id <> '{tag}'"
)
COLUMNS = ("booking_id", "customer_id", "movie_id", "booking_date", "status", "ticket_count", "ticket_price")


def bookings(start: int, n: int) -> list[tuple[object, ...]]:
    day = datetime(2025, 9, 1, 18, 0)
    return [
        (f"B{i:04d}", f"C{i % 7}", f"M00{1 + i % 3}", day, "BOOKED", 1 + i % 4, 9.5) for i in range(start, start + n)
    ]


@pytest.mark.parametrize("closed_compiled", ["first", "last"])
def test_closing_one_engine_leaves_the_others_refreshes_working(tmp_path: Path, closed_compiled: str) -> None:
    """Engine A is closed; it compiled the queries both engines share before B or after it."""
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    a = LocalWarehouse(tmp_path / "a.duckdb", clock=clock)
    b = LocalWarehouse(tmp_path / "b.duckdb", clock=clock)
    order = (a, b) if closed_compiled == "first" else (b, a)
    tables = (*TABLES, "booking_changes")
    try:
        for wh in order:  # same queries over the same storage: compiled once for both
            deploy_pipeline(wh)
            wh.execute(f"USE SCHEMA {NS}")
            wh.execute(UNION.format(tag=f"{closed_compiled}-{tmp_path.name}"))
            wh.insert_rows("raw_movie_bookings", COLUMNS, bookings(0, 40))
        clock.advance(seconds=90)
        for wh in order:
            wh.run_pipeline(catch_up=True)
        a.close()

        # updates as well as inserts: refresh plans none of the engines compiled yet
        b.insert_rows("raw_movie_bookings", COLUMNS, bookings(40, 10))
        b.execute("UPDATE raw_movie_bookings SET status = 'CANCELLED', updated_at = '2025-09-01 12:02:00'"
                  " WHERE booking_id IN ('B0003', 'B0041')")  # fmt: skip
        clock.advance(seconds=90)
        b.run_pipeline(catch_up=True)
        for table in tables:
            assert last_actions(b)[table] == "SUCCEEDED INCREMENTAL", table
            assert differences(b, table) == 0, table
    finally:
        a.close()
        b.close()
