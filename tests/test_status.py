"""`moviecdc status`: every warning, produced by breaking the pipeline on purpose on the
local engine; the roll-up; the JSON schema; and Snowflake-shaped monitoring results."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.scheduler import run_pending
from moviecdc.status import StatusReport, collect_status
from moviecdc.status_view import render_status
from moviecdc.warehouse.base import Rows
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS

SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "status.schema.json").read_text())
RAW = f"{NS}.raw_movie_bookings"
TASK = f"{NS}.consume_stream_task"


def report(wh: Any, clock: ManualClock) -> StatusReport:
    rep = collect_status(wh, "MOVIECDC", "CDC", history=5, now=clock.now())
    jsonschema.validate(rep.as_dict(), SCHEMA)
    render_status(rep)  # the human view renders every report
    return rep


def findings(rep: StatusReport) -> list[tuple[str, str, str]]:
    return [(f.level, f.object, f.message) for f in rep.findings]


def has(rep: StatusReport, level: str, obj: str, pattern: str) -> bool:
    return any(lv == level and o.upper() == obj.upper() and re.search(pattern, m) for lv, o, m in findings(rep))


def book(wh: LocalWarehouse, booking_id: str = "B1") -> None:
    wh.execute(
        f"INSERT INTO {RAW} (booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price)"
        " VALUES (?, 'C1', 'M1', '2025-09-01 20:00', 'BOOKED', 2, 12)",
        [booking_id],
    )


@pytest.fixture
def healthy(pipeline: LocalWarehouse, clock: ManualClock) -> LocalWarehouse:
    book(pipeline)
    run_pending(pipeline.engine, catch_up=True)
    return pipeline


def test_a_caught_up_pipeline_is_ok(healthy: LocalWarehouse, clock: ManualClock) -> None:
    rep = report(healthy, clock)
    assert rep.health == "OK" and findings(rep) == []
    assert rep.source["rows"] == 1 and rep.events["rows"] == 1
    assert rep.streams[0]["pending_changes"] == 0 and rep.streams[0]["has_data"] is False
    task = rep.tasks[0]
    assert task["state"] == "started" and task["recent_runs"][0]["state"] == "SUCCEEDED"
    assert task["consecutive_failures"] == 0
    # the default task is triggered: no schedule, so no next run time (docs.snowflake.com/en/user-guide/tasks-triggered)
    assert (task["mode"], task["schedule"], task["next_run"]) == ("triggered", None, None)
    assert task["triggered_by"] == ["MOVIE_BOOKINGS_STREAM"] and task["expected_wait_sec"] == 30
    leaf = next(d for d in rep.dynamic_tables if d["name"] == "MOVIE_BOOKING_INSIGHTS")
    assert leaf["effective_target_lag_sec"] == 120 and leaf["actual_lag_sec"] == 0
    up = next(d for d in rep.dynamic_tables if d["name"] == "MOVIE_BOOKINGS_FILTERED")
    assert up["effective_target_lag_sec"] == 120  # DOWNSTREAM: its consumer's lag
    assert up["recent_refreshes"][0]["rows_inserted"] == 1


def test_downstream_leaf_is_a_failure(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights SET TARGET_LAG = DOWNSTREAM")
    rep = report(healthy, clock)
    assert has(rep, "FAIL", "MOVIE_BOOKING_INSIGHTS", "never refreshes")
    assert not has(rep, "FAIL", "MOVIE_BOOKINGS_FILTERED", "never refreshes")  # it has a reader
    assert rep.health == "FAIL"


def test_suspended_task_is_a_warning(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"ALTER TASK {TASK} SUSPEND")
    rep = report(healthy, clock)
    assert has(rep, "WARN", "CONSUME_STREAM_TASK", "suspended") and rep.health == "WARN"


def test_failing_task_is_a_failure_with_its_error(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"ALTER TASK {TASK} SUSPEND")
    healthy.execute(f"ALTER TASK {TASK} MODIFY AS INSERT INTO {NS}.movie_booking_cdc_events (ticket_count)"
                    f" SELECT CAST(status AS INT) FROM {NS}.movie_bookings_stream")  # fmt: skip
    healthy.execute(f"ALTER TASK {TASK} RESUME")
    book(healthy, "B2")
    run_pending(healthy.engine, catch_up=True)
    run_pending(healthy.engine, catch_up=True)
    rep = report(healthy, clock)
    assert has(rep, "FAIL", "CONSUME_STREAM_TASK", r"last run failed \(2 in a row\).*BOOKED")
    assert rep.tasks[0]["consecutive_failures"] == 2


def test_task_without_a_guard_on_an_idle_pipeline_wakes_the_warehouse(
    healthy: LocalWarehouse, clock: ManualClock
) -> None:
    healthy.execute(f"ALTER TASK {TASK} SUSPEND")
    healthy.execute(f"ALTER TASK {TASK} SET SCHEDULE = '1 MINUTE'")  # a scheduled task, as the original design had
    healthy.execute(f"ALTER TASK {TASK} REMOVE WHEN")
    healthy.execute(f"ALTER TASK {TASK} RESUME")
    clock.advance(minutes=1)
    run_pending(healthy.engine, catch_up=True)
    rep = report(healthy, clock)
    assert has(rep, "WARN", "CONSUME_STREAM_TASK", "no WHEN SYSTEM\\$STREAM_HAS_DATA guard. The pipeline is idle")
    assert has(rep, "WARN", "CONSUME_STREAM_TASK", "copied no change")


def test_stale_and_nearly_stale_streams(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"ALTER TABLE {RAW} SET DATA_RETENTION_TIME_IN_DAYS = 2, MAX_DATA_EXTENSION_TIME_IN_DAYS = 0")
    book(healthy, "B2")
    clock.advance(days=1, hours=12)
    rep = report(healthy, clock)
    assert has(rep, "WARN", "MOVIE_BOOKINGS_STREAM", "becomes stale")
    clock.advance(days=1)
    rep = report(healthy, clock)
    assert has(rep, "FAIL", "MOVIE_BOOKINGS_STREAM", "stale") and rep.streams[0]["stale"] is True


def test_failed_refreshes_are_failures(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"DROP TABLE {NS}.movie_booking_cdc_events")
    run_pending(healthy.engine, catch_up=True)
    rep = report(healthy, clock)
    assert has(rep, "FAIL", "MOVIE_BOOKINGS_FILTERED", "last refresh FAILED")
    assert has(rep, "FAIL", "MOVIE_BOOKING_INSIGHTS", "last refresh UPSTREAM_FAILED")
    assert has(rep, "FAIL", "movie_booking_cdc_events", "missing")


def test_lag_above_target_is_a_warning(healthy: LocalWarehouse, clock: ManualClock) -> None:
    clock.advance(minutes=5)
    rep = report(healthy, clock)
    assert has(rep, "WARN", "MOVIE_BOOKING_INSIGHTS", r"300 s behind, target 120 s")
    run_pending(healthy.engine)
    assert report(healthy, clock).health == "OK"


def test_full_refresh_mode_is_a_warning_with_its_reason(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"CREATE DYNAMIC TABLE {NS}.stamped TARGET_LAG = '5 minutes' WAREHOUSE = wh"
                    f" AS SELECT movie_id, CURRENT_TIMESTAMP() AS seen FROM {NS}.movie_booking_insights")  # fmt: skip
    rep = report(healthy, clock)
    assert has(rep, "WARN", "STAMPED", r"refresh mode FULL \(CURRENT_TIMESTAMP")


def test_suspended_dynamic_table_is_a_warning(healthy: LocalWarehouse, clock: ManualClock) -> None:
    healthy.execute(f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights SUSPEND")
    assert has(report(healthy, clock), "WARN", "MOVIE_BOOKING_INSIGHTS", "suspended")


def test_missing_pipeline_is_a_failure(clock: ManualClock) -> None:
    with LocalWarehouse(":memory:", clock=clock) as wh:
        rep = report(wh, clock)
    assert rep.health == "FAIL" and has(rep, "FAIL", "raw_movie_bookings", "deploy")


def test_human_view_shows_times_with_their_zone_and_plain_text_when_piped(
    healthy: LocalWarehouse, clock: ManualClock
) -> None:
    text = render_status(report(healthy, clock), color=False)
    assert "\x1b[" not in text and "health: OK" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \w+", text)
    assert "\x1b[32mOK" in render_status(report(healthy, clock), color=True)


# -- Snowflake-shaped results --------------------------------------------------------
T0 = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)

# column names and value shapes as the connector returns them (reference 1.9, 2.7, 2.8, 3.7, 3.9)
SF_STREAMS = Rows(
    columns=["created_on", "name", "database_name", "schema_name", "owner", "comment", "table_name", "source_type",
             "base_tables", "type", "stale", "mode", "stale_after", "invalid_reason", "owner_role_type"],
    rows=[(T0, "MOVIE_BOOKINGS_STREAM", "MOVIECDC", "CDC", "DEPLOYER", "", "MOVIECDC.CDC.RAW_MOVIE_BOOKINGS", "Table",
           "MOVIECDC.CDC.RAW_MOVIE_BOOKINGS", "DELTA", "false", "DEFAULT", T0 + timedelta(days=14), "N/A", "ROLE")],
)  # fmt: skip
SF_TASKS = Rows(
    columns=["created_on", "name", "id", "database_name", "schema_name", "owner", "comment", "warehouse", "schedule",
             "predecessors", "state", "definition", "condition", "allow_overlapping_execution", "error_integration",
             "last_committed_on", "last_suspended_on", "owner_role_type", "config", "budget", "task_relations",
             "last_suspended_reason"],
    rows=[(T0, "CONSUME_STREAM_TASK", "01b2-id", "MOVIECDC", "CDC", "DEPLOYER", "", "COMPUTE_WH", "1 MINUTE", "[]",
           "started", "INSERT INTO ...", "SYSTEM$STREAM_HAS_DATA('MOVIECDC.CDC.movie_bookings_stream')", "false",
           None, T0, None, "ROLE", None, None, '{"Predecessors":[]}', None)],
)  # fmt: skip
SF_HISTORY = Rows(
    columns=["STATE", "SCHEDULED_TIME", "QUERY_START_TIME", "COMPLETED_TIME", "ERROR_MESSAGE", "SCHEDULED_FROM", "SCHEMA_NAME"],
    rows=[("SCHEDULED", T0 + timedelta(minutes=11), None, None, None, "SCHEDULE", "CDC"),
          ("SKIPPED", T0 + timedelta(minutes=10), None, T0 + timedelta(minutes=10), None, "SCHEDULE", "CDC"),
          ("SUCCEEDED", T0 + timedelta(minutes=9), T0 + timedelta(minutes=9, seconds=2),
           T0 + timedelta(minutes=9, seconds=5), None, "SCHEDULE", "CDC")],
)  # fmt: skip


def sf_dynamic_tables(leaf_lag: str) -> Rows:
    filtered = (
        "CREATE OR ALTER DYNAMIC TABLE MOVIECDC.CDC.movie_bookings_filtered TARGET_LAG = DOWNSTREAM"
        " WAREHOUSE = COMPUTE_WH AS SELECT * FROM MOVIECDC.CDC.movie_booking_cdc_events"
    )
    insights = (f"CREATE OR ALTER DYNAMIC TABLE MOVIECDC.CDC.movie_booking_insights TARGET_LAG = {leaf_lag}"
                " WAREHOUSE = COMPUTE_WH AS SELECT movie_id, COUNT(*) AS n FROM MOVIECDC.CDC.movie_bookings_filtered"
                " GROUP BY movie_id")  # fmt: skip
    columns = ["created_on", "name", "reserved", "database_name", "schema_name", "cluster_by", "rows", "bytes", "owner",
               "target_lag", "refresh_mode", "refresh_mode_reason", "warehouse", "comment", "text",
               "automatic_clustering", "scheduling_state", "last_suspended_on", "is_clone", "is_replica",
               "data_timestamp"]  # fmt: skip
    ts = T0 + timedelta(minutes=9, seconds=30)
    return Rows(columns=columns, rows=[
        (T0, "MOVIE_BOOKINGS_FILTERED", "", "MOVIECDC", "CDC", "", 10, 4096, "DEPLOYER", "DOWNSTREAM", "INCREMENTAL",
         None, "COMPUTE_WH", "", filtered, "OFF", "RUNNING", None, "false", "false", ts),
        (T0, "MOVIE_BOOKING_INSIGHTS", "", "MOVIECDC", "CDC", "", 3, 2048, "DEPLOYER",
         leaf_lag.strip("'"), "INCREMENTAL", None, "COMPUTE_WH", "", insights, "OFF", "RUNNING", None, "false",
         "false", ts),
    ])  # fmt: skip


SF_REFRESHES = Rows(
    columns=["STATE", "STATE_MESSAGE", "REFRESH_ACTION", "REFRESH_TRIGGER", "DATA_TIMESTAMP", "REFRESH_START_TIME",
             "REFRESH_END_TIME", "STATISTICS"],
    rows=[("SUCCEEDED", "", "INCREMENTAL", "SCHEDULED", T0 + timedelta(minutes=9, seconds=30),
           T0 + timedelta(minutes=9, seconds=31), T0 + timedelta(minutes=9, seconds=33),
           '{\n  "numInsertedRows": 3,\n  "numDeletedRows": 1\n}')],
)  # fmt: skip


class RecordedSnowflake:
    """Answers status's monitoring SQL with recorded Snowflake result shapes."""

    target = "snowflake"

    def __init__(self, leaf_lag: str = "'2 minutes'") -> None:
        self.leaf_lag = leaf_lag
        self.sql: list[str] = []

    def execute(self, sql: str, params: object = None) -> Rows:
        self.sql.append(sql)
        answers = [
            (r"^SHOW STREAMS IN SCHEMA", SF_STREAMS),
            (r"^SHOW TASKS IN SCHEMA", SF_TASKS),
            (r"^SHOW DYNAMIC TABLES IN SCHEMA", sf_dynamic_tables(self.leaf_lag)),
            (r"TASK_HISTORY\(TASK_NAME => 'CONSUME_STREAM_TASK'", SF_HISTORY),
            (r"DYNAMIC_TABLE_REFRESH_HISTORY\(NAME => ", SF_REFRESHES),
            (r"SYSTEM\$STREAM_HAS_DATA", Rows(columns=["X"], rows=[(False,)])),
            (
                r"FROM MOVIECDC.CDC.MOVIECDC_DEPLOY_HISTORY WHERE script = '\(deploy\)' AND outcome = 'STARTED'",
                Rows(columns=["APPLIED_AT", "APPLIED_BY", "DATEDIFF"], rows=[]),
            ),  # no deploy left unfinished
            (r"COUNT\(\*\) FROM MOVIECDC.CDC.MOVIE_BOOKINGS_STREAM$", Rows(columns=["COUNT(*)"], rows=[(0,)])),
            (r"MAX\(updated_at\)", Rows(columns=["COUNT(*)", "MAX(UPDATED_AT)"], rows=[(10, T0)])),
            (
                r"MAX\(change_timestamp\)",
                Rows(columns=["COUNT(*)", "MAX"], rows=[(12, T0 + timedelta(minutes=9, seconds=3))]),
            ),
        ]
        for pattern, rows in answers:
            if re.search(pattern, sql):
                return rows
        raise AssertionError(f"unexpected SQL: {sql}")

    def insert_rows(self, *args: object) -> int:
        raise AssertionError

    def close(self) -> None:
        pass


def test_status_reads_recorded_snowflake_result_shapes() -> None:
    """Snowflake's own column layouts (recorded above, not produced by the local engine)
    give a healthy report with the figures they hold, in the documented JSON shape."""
    wh = RecordedSnowflake()
    clock = ManualClock(T0 + timedelta(minutes=10))
    rep = report(wh, clock)
    jsonschema.validate(rep.as_dict(), SCHEMA)
    assert rep.health == "OK", findings(rep)
    assert rep.tasks[0]["next_run"] == T0 + timedelta(minutes=11)
    assert [r["state"] for r in rep.tasks[0]["recent_runs"]] == ["SKIPPED", "SUCCEEDED"]
    leaf = rep.dynamic_tables[1]
    assert leaf["recent_refreshes"][0]["rows_inserted"] == 3 and leaf["recent_refreshes"][0]["duration_sec"] == 2
    assert rep.dynamic_tables[0]["effective_target_lag_sec"] == 120
    assert all("INFORMATION_SCHEMA" not in s or s.count("MOVIECDC.INFORMATION_SCHEMA") == 1 for s in wh.sql)


def test_snowflake_downstream_leaf_is_flagged() -> None:
    rep = report(RecordedSnowflake(leaf_lag="DOWNSTREAM"), ManualClock(T0 + timedelta(minutes=10)))
    assert has(rep, "FAIL", "MOVIE_BOOKING_INSIGHTS", "never refreshes")


def _suspend_task(wh: LocalWarehouse, clock: ManualClock) -> None:
    wh.execute(f"ALTER TASK {TASK} SUSPEND")


def _fail_task(wh: LocalWarehouse, clock: ManualClock) -> None:
    wh.execute(f"DROP TABLE {NS}.movie_booking_cdc_events")
    book(wh, "B2")
    run_pending(wh.engine, catch_up=True)


def _stale_stream(wh: LocalWarehouse, clock: ManualClock) -> None:
    book(wh, "B2")
    clock.advance(days=20)


STATES = {
    "task suspended": (_suspend_task, None),
    "task failing": (_fail_task, None),
    "stream stale": (_stale_stream, None),
    "stream dropped": (lambda wh, c: wh.execute(f"DROP STREAM {NS}.movie_bookings_stream"), "STREAM"),
    "task dropped": (lambda wh, c: wh.execute(f"DROP TASK {TASK}"), "TASK"),
    "dynamic table dropped": (
        lambda wh, c: wh.execute(f"DROP DYNAMIC TABLE {NS}.movie_booking_insights"),
        "DYNAMIC TABLE",
    ),
    "both dynamic tables dropped": (
        lambda wh, c: [
            wh.execute(f"DROP DYNAMIC TABLE {NS}.{n}") for n in ("movie_booking_insights", "movie_bookings_filtered")
        ],
        "DYNAMIC TABLE",
    ),
}


@pytest.mark.parametrize("state", sorted(STATES))
def test_status_json_is_valid_and_fails_in_every_broken_state(
    healthy: LocalWarehouse, clock: ManualClock, state: str
) -> None:
    breaker, missing_kind = STATES[state]
    breaker(healthy, clock)
    rep = report(healthy, clock)  # validated against docs/status.schema.json
    json.dumps(rep.as_dict(), allow_nan=False)  # strict JSON
    assert rep.health in ("WARN", "FAIL")
    if missing_kind is not None:
        assert rep.health == "FAIL" and any(m["kind"] == missing_kind for m in rep.missing)
        assert any("`moviecdc deploy` recreates it" in f.message for f in rep.findings)


def test_status_json_is_valid_before_deploy_and_after_teardown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import duckdb

    from tests.test_cli import run

    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()  # a DuckDB file with nothing in it
    env = {"MOVIECDC_DB": str(empty), "MOVIECDC_TARGET": "local"}
    code, out, _ = run(["status", "--json"], env, capsys)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert code == 0 and doc["health"] == "FAIL" and doc["missing"] == []  # nothing deployed: the source says so
    assert run(["deploy"], env, capsys)[0] == 0
    assert run(["teardown", "--yes"], env, capsys)[0] == 0
    code, out, _ = run(["status", "--json", "--check"], env, capsys)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert code == 1 and doc["health"] == "FAIL"
