"""Fuzzing the local engine: random statements — valid and invalid SQL, DDL on the
pipeline's objects, DML on the source, transactions left open, scheduler passes —
thrown at a deployed pipeline. Afterwards the database still opens, and once the
pipeline is redeployed and caught up, the oracle holds.

Statements that throw data away on purpose (dropping the stream, the source or the
events table) are left out: after those there is nothing left for an oracle to check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviecdc.clock import ManualClock
from moviecdc.deploy import deploy
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import MovieCdcError
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.test_deploy import scripts
from tests.test_simulate_oracle import check_consistency

RAW = f"{NS}.raw_movie_bookings"
INSERT = (
    f"INSERT INTO {RAW} (booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

values = st.tuples(
    st.sampled_from(["B1", "B2", "B3", None, "X" * 80]),
    st.sampled_from(["C1", None]),
    st.sampled_from(["M001", "M009", "M404", None]),
    st.sampled_from([datetime(2025, 9, 3, 19), datetime(1970, 1, 1), None]),
    st.sampled_from(["BOOKED", "CANCELLED", "LOST", None]),
    st.sampled_from([2, 0, -3, None, 2_000_000_000]),
    st.sampled_from(["12.50", "0", "-1.00", None, "99999999.99"]),
).map(list)

fixed = st.sampled_from([
    # DML on the source, some of it failing
    f"UPDATE {RAW} SET status = 'CANCELLED' WHERE booking_id = 'B1'",
    f"UPDATE {RAW} SET ticket_count = ticket_count + 1 WHERE status = 'BOOKED'",
    f"UPDATE {RAW} SET ticket_count = 'many' WHERE booking_id = 'B2'",
    f"DELETE FROM {RAW} WHERE booking_id = 'B2'",
    f"DELETE FROM {RAW} WHERE ticket_count <= 0",
    f"TRUNCATE TABLE {RAW}",
    f"INSERT INTO {RAW} (booking_id) VALUES ('B9', 'extra')",
    f"MERGE INTO {RAW} t USING (SELECT 'B1' AS id) s ON t.booking_id = s.id WHEN MATCHED THEN DELETE",
    # invalid SQL
    "SELEC 1",
    f"SELECT * FROM {NS}.no_such_table",
    "INSERT INTO",
    "CREATE TASK t AS",
    "'unterminated",
    # DDL and control on the pipeline's objects
    f"ALTER TASK {NS}.consume_stream_task SUSPEND",
    f"ALTER TASK {NS}.consume_stream_task RESUME",
    f"ALTER TASK {NS}.consume_stream_task SET SCHEDULE = '5 MINUTES'",
    f"ALTER TASK {NS}.consume_stream_task REMOVE WHEN",
    f"EXECUTE TASK {NS}.consume_stream_task",
    f"DROP TASK {NS}.consume_stream_task",
    f"CREATE OR REPLACE TASK {NS}.consume_stream_task SCHEDULE = '1 MINUTE' AS SELECT 1",
    f"ALTER DYNAMIC TABLE {NS}.movie_bookings_filtered SUSPEND",
    f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights REFRESH",
    f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights SET TARGET_LAG = DOWNSTREAM",
    f"DROP DYNAMIC TABLE {NS}.movie_booking_insights",
    f"DROP DYNAMIC TABLE {NS}.movie_bookings_filtered",
    f"DELETE FROM {NS}.movie_booking_insights",
    f"CREATE OR REPLACE STREAM {NS}.movie_bookings_stream2 ON TABLE {RAW}",
    f"SELECT * FROM {NS}.movie_bookings_stream",
    f"SELECT SYSTEM$STREAM_HAS_DATA('{NS}.movie_bookings_stream')",
    "SHOW TASKS", "SHOW STREAMS IN ACCOUNT", "SHOW WAREHOUSES",
    # transactions, possibly left open
    "BEGIN TRANSACTION", "COMMIT", "ROLLBACK",
])  # fmt: skip

steps = st.lists(
    st.one_of(fixed.map(lambda s: (s, None)), values.map(lambda v: (INSERT, v)), st.just(("RUN", None))),
    max_size=25,
)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=steps)
def test_random_statements_never_break_the_pipeline(
    ops: list[tuple[str, list[object] | None]], tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    fuzz(ops, tmp_path_factory)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=steps)
def test_random_statements_never_break_the_pipeline_thoroughly(
    ops: list[tuple[str, list[object] | None]], tmp_path_factory
) -> None:  # type: ignore[no-untyped-def]
    fuzz(ops, tmp_path_factory)


def fuzz(ops: list[tuple[str, list[object] | None]], tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    db: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.duckdb"
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    with LocalWarehouse(db, clock=clock) as wh:
        deploy_pipeline(wh)
        for sql, params in ops:
            try:
                if sql == "RUN":
                    clock.advance(seconds=61)
                    run_pending(wh.engine, catch_up=True)
                else:
                    wh.execute(sql, params)
            except MovieCdcError:
                pass  # errors are fine; what matters is what they leave behind
    with LocalWarehouse(db, clock=clock) as wh:  # the engine still opens
        deploy(wh, scripts())
        clock.advance(seconds=61)
        run_pending(wh.engine, catch_up=True)
        check_consistency(wh)
