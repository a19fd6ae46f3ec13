"""Dynamic-table monitoring: DESCRIBE DYNAMIC TABLE and the INFORMATION_SCHEMA table
functions DYNAMIC_TABLE_GRAPH_HISTORY and DYNAMIC_TABLES (docs/snowflake-semantics.md,
"Monitoring")."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError, UnsupportedSqlError

GRAPH = "TABLE(INFORMATION_SCHEMA.DYNAMIC_TABLE_GRAPH_HISTORY({}))"
DTS = "TABLE(INFORMATION_SCHEMA.DYNAMIC_TABLES({}))"
T0 = datetime(2025, 9, 1, 12, 0, tzinfo=UTC)  # the clock fixture's start


def at(minute: int, second: int = 0) -> datetime:
    return datetime(2025, 9, 1, 12, minute, second, tzinfo=UTC)


@pytest.fixture
def chain(engine: Engine) -> Engine:
    """base (table) → v (view) → up (DOWNSTREAM) → leaf ('1 minute'), created at 12:00."""
    engine.execute("CREATE TABLE base (k STRING, n INT)")
    engine.execute("INSERT INTO base VALUES ('a', 1), ('b', 2)")
    engine.execute("CREATE VIEW v AS SELECT k, n FROM base")
    engine.execute("CREATE DYNAMIC TABLE up TARGET_LAG = DOWNSTREAM WAREHOUSE = wh AS SELECT k, n * 10 AS n10 FROM v")
    engine.execute(
        "CREATE DYNAMIC TABLE leaf TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT SUM(n10) AS total FROM up"
    )
    return engine


def graph(engine: Engine, args: str = "", cols: str = "*") -> list[dict[str, object]]:
    return engine.execute(f"SELECT {cols} FROM {GRAPH.format(args)} ORDER BY NAME, VALID_FROM").dicts()


def dts(engine: Engine, args: str = "") -> list[dict[str, object]]:
    return engine.execute(f"SELECT * FROM {DTS.format(args)}").dicts()


# ------------------------------------------------------------ DESCRIBE
def test_describe_dynamic_table_describes_its_columns(chain: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/desc-dynamic-table: "Describes the
    columns in a dynamic table", with DESCRIBE TABLE's columns (the example output of
    https://docs.snowflake.com/en/user-guide/dynamic-tables-monitor)."""
    res = chain.execute("DESC DYNAMIC TABLE up")
    assert res.columns == [
        "name", "type", "kind", "null?", "default", "primary key", "unique key", "check", "expression", "comment",
        "policy name", "privacy domain",
    ]  # fmt: skip
    assert res.rows == [
        ("K", "VARCHAR(16777216)", "COLUMN", "Y", None, "N", "N", None, None, None, None, None),
        ("N10", "NUMBER(38,0)", "COLUMN", "Y", None, "N", "N", None, None, None, None, None),
    ]
    with pytest.raises(SqlError, match="does not exist"):
        chain.execute("DESCRIBE DYNAMIC TABLE base")  # a table, not a dynamic table


def test_describe_task_keeps_the_show_tasks_row(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/desc-task: "The command provides the
    same output as SHOW TASKS"."""
    engine.execute("CREATE TASK t WAREHOUSE = wh SCHEDULE = '5 MINUTE' AS SELECT 1")
    res = engine.execute("DESCRIBE TASK t")
    assert res.columns[:5] == ["created_on", "name", "id", "database_name", "schema_name"]
    assert [r["name"] for r in res.dicts()] == ["T"]
    assert res.dicts()[0]["schedule"] == "5 MINUTE"


# ------------------------------------------------------------ DYNAMIC_TABLE_GRAPH_HISTORY
def test_graph_history_without_arguments_describes_each_dynamic_table(chain: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_table_graph_history:
    without arguments, the most recent description of each existing dynamic table, with the
    documented columns; INPUTS name the tables, views and dynamic tables read."""
    res = chain.execute(f"SELECT * FROM {GRAPH.format('')} ORDER BY NAME")
    assert res.columns == [
        "NAME", "SCHEMA_NAME", "DATABASE_NAME", "QUALIFIED_NAME", "INPUTS", "TARGET_LAG_TYPE", "TARGET_LAG_SEC",
        "QUERY_TEXT", "VALID_FROM", "VALID_TO", "SCHEDULING_STATE", "ALTER_TRIGGER", "SCHEDULER",
    ]  # fmt: skip
    leaf, up = res.dicts()
    assert (leaf["name"], leaf["schema_name"], leaf["database_name"], leaf["qualified_name"]) == (
        "LEAF", "S", "DB", "DB.S.LEAF",
    )  # fmt: skip
    assert json.loads(str(leaf["inputs"])) == [{"name": "DB.S.UP", "kind": "DYNAMIC_TABLE"}]
    assert json.loads(str(up["inputs"])) == [{"name": "DB.S.V", "kind": "VIEW"}]
    assert (leaf["target_lag_type"], leaf["target_lag_sec"]) == ("USER_DEFINED", 60)
    assert (up["target_lag_type"], up["target_lag_sec"]) == ("DOWNSTREAM", None)
    assert leaf["query_text"] == "SELECT SUM(n10) AS total FROM up"
    assert (leaf["valid_from"], leaf["valid_to"]) == (T0, None)
    assert json.loads(str(leaf["scheduling_state"])) == {"state": "ACTIVE"}
    assert json.loads(str(leaf["alter_trigger"])) == ["CREATE_DYNAMIC_TABLE"]


def test_alter_suspend_resume_and_drop_make_new_entries(chain: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_table_graph_history:
    altering the target lag makes a new entry; VALID_FROM / VALID_TO bound each description;
    ALTER_TRIGGER says why (ALTER_TARGET_LAG, SUSPEND, RESUME); HISTORY_START returns the
    descriptions valid in the range and AS_OF the graph at a time. SCHEDULING_STATE per
    https://docs.snowflake.com/en/release-notes/bcr-bundles/2024_02/bcr-1543 (ACTIVE)."""
    clock.advance(minutes=1)
    chain.execute("ALTER DYNAMIC TABLE leaf SET TARGET_LAG = '5 minutes'")
    clock.advance(minutes=1)
    chain.execute("ALTER DYNAMIC TABLE leaf SUSPEND")
    clock.advance(minutes=1)
    chain.execute("ALTER DYNAMIC TABLE leaf RESUME")
    clock.advance(minutes=1)
    chain.execute("DROP DYNAMIC TABLE leaf")
    rows = graph(chain, "HISTORY_START => '2025-09-01 11:00:00'", "NAME, VALID_FROM, VALID_TO, TARGET_LAG_SEC,"
                 " SCHEDULING_STATE, ALTER_TRIGGER")  # fmt: skip
    leaf = [(r["valid_from"], r["valid_to"], r["target_lag_sec"], json.loads(str(r["scheduling_state"])),
             json.loads(str(r["alter_trigger"]))) for r in rows if r["name"] == "LEAF"]  # fmt: skip
    assert leaf == [
        (T0, at(1), 60, {"state": "ACTIVE"}, ["CREATE_DYNAMIC_TABLE"]),
        (at(1), at(2), 300, {"state": "ACTIVE"}, ["ALTER_TARGET_LAG"]),
        (at(2), at(3), 300, {"state": "SUSPENDED", "reason_code": "USER_SUSPENDED",
                             "suspended_on": "2025-09-01 12:02:00.000 Z"}, ["SUSPEND"]),
        (at(3), at(4), 300, {"state": "ACTIVE", "resumed_on": "2025-09-01 12:03:00.000 Z"}, ["RESUME"]),
    ]  # fmt: skip
    assert [r["name"] for r in rows if r["name"] == "UP"] == ["UP"]  # nothing changed it
    assert [r["name"] for r in graph(chain)] == ["UP"]  # a dropped table has no current description
    as_of = graph(chain, "AS_OF => '2025-09-01 12:01:30'", "NAME, TARGET_LAG_SEC")
    assert as_of == [{"name": "LEAF", "target_lag_sec": 300}, {"name": "UP", "target_lag_sec": None}]
    window = graph(chain, "HISTORY_START => '2025-09-01 12:02:30', HISTORY_END => '2025-09-01 12:02:45'", "NAME")
    assert window == [{"name": "LEAF"}, {"name": "UP"}]  # the suspended description, and UP's


def test_suspension_of_an_input_suspends_downstream_with_its_reason(chain: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/dynamic-tables-suspend-resume: suspending a
    dynamic table suspends the ones downstream; SCHEDULING_STATE says SUSPENDED with a
    reason code and the time."""
    chain.execute("ALTER DYNAMIC TABLE up SUSPEND")
    states = {r["name"]: json.loads(str(r["scheduling_state"])) for r in graph(chain)}
    assert states == {
        "UP": {"state": "SUSPENDED", "reason_code": "USER_SUSPENDED", "suspended_on": "2025-09-01 12:00:00.000 Z"},
        "LEAF": {"state": "SUSPENDED", "reason_code": "UPSTREAM_USER_SUSPENDED",
                 "suspended_on": "2025-09-01 12:00:00.000 Z"},
    }  # fmt: skip


def test_graph_history_arguments_are_checked(chain: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_table_graph_history:
    HISTORY_END must be specified with HISTORY_START; the arguments are AS_OF,
    HISTORY_START and HISTORY_END."""
    with pytest.raises(SqlError, match="HISTORY_START"):
        graph(chain, "HISTORY_END => '2025-09-01 13:00:00'")
    with pytest.raises(SqlError, match="NAME"):
        graph(chain, "NAME => 'leaf'")
    with pytest.raises(UnsupportedSqlError, match="AS_OF together with HISTORY_START"):
        graph(chain, "AS_OF => '2025-09-01 12:00:00', HISTORY_START => '2025-09-01 11:00:00'")


# ------------------------------------------------------------ DYNAMIC_TABLES
def test_dynamic_tables_columns_and_lag_statistics(chain: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_tables: the documented
    columns; the lag statistics over the refreshes in the window. The only refresh (12:00,
    at creation) leaves the actual lag growing from 0 to 100 s at 12:01:40: mean 50,
    maximum 100, 40 s above the 60 s target, within it 60 of 100 s."""
    clock.advance(seconds=100)
    res = chain.execute(f"SELECT * FROM {DTS.format('')} ORDER BY NAME")
    assert res.columns == [
        "NAME", "SCHEMA_NAME", "DATABASE_NAME", "QUALIFIED_NAME", "TARGET_LAG_SEC", "TARGET_LAG_TYPE",
        "SCHEDULING_STATE", "MEAN_LAG_SEC", "MAXIMUM_LAG_SEC", "TIME_ABOVE_TARGET_LAG_SEC",
        "TIME_WITHIN_TARGET_LAG_RATIO", "LATEST_DATA_TIMESTAMP", "LAST_COMPLETED_REFRESH_STATE",
        "LAST_COMPLETED_REFRESH_STATE_CODE", "LAST_COMPLETED_REFRESH_STATE_MESSAGE", "EXECUTING_REFRESH_QUERY_ID",
        "SCHEDULER",
    ]  # fmt: skip
    leaf, up = res.dicts()
    assert (leaf["qualified_name"], leaf["target_lag_sec"], leaf["target_lag_type"]) == (
        "DB.S.LEAF",
        60,
        "USER_DEFINED",
    )
    assert json.loads(str(leaf["scheduling_state"])) == {"state": "RUNNING"}
    assert (leaf["mean_lag_sec"], leaf["maximum_lag_sec"], leaf["time_above_target_lag_sec"]) == (50, 100, 40)
    assert leaf["time_within_target_lag_ratio"] == pytest.approx(0.6, abs=1e-6)
    assert leaf["latest_data_timestamp"] == T0
    # the documentation's example shows SUCCESS and no message for a successful refresh
    assert (leaf["last_completed_refresh_state"], leaf["last_completed_refresh_state_code"]) == ("SUCCEEDED", "SUCCESS")
    assert leaf["last_completed_refresh_state_message"] is None
    assert leaf["executing_refresh_query_id"] is None  # no refresh is running between statements
    # DOWNSTREAM: no target lag was specified, so there is no time above or within it
    assert (up["target_lag_sec"], up["target_lag_type"]) == (None, "DOWNSTREAM")
    assert (up["mean_lag_sec"], up["maximum_lag_sec"]) == (50, 100)
    assert (up["time_above_target_lag_sec"], up["time_within_target_lag_ratio"]) == (None, None)


def test_lag_statistics_follow_each_refresh(chain: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_tables (MEAN_LAG_SEC,
    MAXIMUM_LAG_SEC, TIME_ABOVE_TARGET_LAG_SEC, TIME_WITHIN_TARGET_LAG_RATIO;
    REFRESH_DATA_TIMESTAMP_START keeps refreshes with a data timestamp at or after it).
    Refreshes at 12:00 and 12:01:40, read at 12:02: the lag rises 0→100 s, then 0→20 s:
    mean (100²/2 + 20²/2) / 120 = 43.3, maximum 100, 40 s above 60 s, 80 of 120 s within.
    From 12:01 only the second counts: mean 10, maximum 20, never above."""
    clock.advance(seconds=100)
    chain.execute("ALTER DYNAMIC TABLE leaf REFRESH")
    clock.advance(seconds=20)
    (leaf,) = dts(chain, "NAME => 'leaf'")
    assert (leaf["mean_lag_sec"], leaf["maximum_lag_sec"], leaf["time_above_target_lag_sec"]) == (43, 100, 40)
    assert leaf["time_within_target_lag_ratio"] == pytest.approx(80 / 120, abs=1e-6)
    assert leaf["latest_data_timestamp"] == at(1, 40)
    (late,) = dts(chain, "NAME => 'S.LEAF', REFRESH_DATA_TIMESTAMP_START => '2025-09-01 12:01:00'")
    assert (late["mean_lag_sec"], late["maximum_lag_sec"], late["time_above_target_lag_sec"]) == (10, 20, 0)
    assert late["time_within_target_lag_ratio"] == pytest.approx(1.0)


def test_failed_refreshes_sort_first_with_their_codes(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_tables: by default the
    rows are sorted by the last completed refresh state (FAILED, then UPSTREAM_FAILED ...); for a failure the code and message are the error's. The codes follow the
    examples of https://docs.snowflake.com/en/user-guide/dynamic-tables-monitor (100038 for
    a numeric value not recognized; UPSTREAM_FAILURE, "Skipped refreshing because an input
    DT failed")."""
    engine.execute("CREATE TABLE nums (v STRING)")
    engine.execute("INSERT INTO nums VALUES ('1')")
    engine.execute(
        "CREATE DYNAMIC TABLE up TARGET_LAG = DOWNSTREAM WAREHOUSE = wh AS SELECT CAST(v AS INT) AS n FROM nums"
    )
    engine.execute("CREATE DYNAMIC TABLE leaf TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT SUM(n) AS s FROM up")
    engine.execute("INSERT INTO nums VALUES ('x')")
    with pytest.raises(SqlError):
        engine.execute("ALTER DYNAMIC TABLE leaf REFRESH")
    rows = [(r["name"], r["last_completed_refresh_state"], r["last_completed_refresh_state_code"]) for r in dts(engine)]
    assert rows == [("UP", "FAILED", "100038"), ("LEAF", "UPSTREAM_FAILED", "UPSTREAM_FAILURE")]  # not by name
    leaf = dts(engine, "NAME => 'leaf'")[0]
    assert leaf["last_completed_refresh_state_message"] == "Skipped refreshing because an input DT failed."
    assert leaf["latest_data_timestamp"] == T0  # the last successful refresh's


def test_include_connected_and_the_arguments(chain: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/dynamic_tables: INCLUDE_CONNECTED
    returns the dynamic tables connected to NAME's, and needs NAME and no RESULT_LIMIT;
    RESULT_LIMIT is 1 to 10000; the arguments are NAME, REFRESH_DATA_TIMESTAMP_START,
    RESULT_LIMIT and INCLUDE_CONNECTED (no NAME_PREFIX)."""
    chain.execute("CREATE DYNAMIC TABLE other TARGET_LAG = '1 hour' WAREHOUSE = wh AS SELECT k FROM base")
    assert sorted(r["name"] for r in dts(chain, "NAME => 'DB.S.LEAF', INCLUDE_CONNECTED => TRUE")) == ["LEAF", "UP"]
    assert [r["name"] for r in dts(chain, "NAME => 'other'")] == ["OTHER"]
    assert len(dts(chain, "RESULT_LIMIT => 2")) == 2
    with pytest.raises(SqlError, match="INCLUDE_CONNECTED"):
        dts(chain, "NAME => 'leaf', INCLUDE_CONNECTED => TRUE, RESULT_LIMIT => 10")
    with pytest.raises(SqlError, match="INCLUDE_CONNECTED"):
        dts(chain, "INCLUDE_CONNECTED => TRUE")
    with pytest.raises(SqlError, match="RESULT_LIMIT"):
        dts(chain, "RESULT_LIMIT => 0")
    with pytest.raises(SqlError, match="NAME_PREFIX"):
        dts(chain, "NAME_PREFIX => 'DB.S'")
