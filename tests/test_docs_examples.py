"""Behaviours found by running Snowflake's documentation examples on the local engine:
the session clock, result column names, dynamic tables not yet initialised, clones.

Each test names the page it follows; expected values are written out.
"""

from __future__ import annotations

from datetime import date, time

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError


def test_current_date_and_time_read_the_engine_clock(engine: Engine, clock: ManualClock) -> None:
    """CURRENT_DATE / CURRENT_TIME are the session's current time, like CURRENT_TIMESTAMP
    (https://docs.snowflake.com/en/sql-reference/functions/current_date)."""
    today, now, ts = engine.execute("SELECT CURRENT_DATE, CURRENT_TIME(), CURRENT_TIMESTAMP()").rows[0]
    assert (today, now) == (date(2025, 9, 1), time(12, 0))
    assert ts.year == 2025


def test_relative_time_in_a_history_function_reads_the_engine_clock(engine: Engine) -> None:
    """The documented TASK_HISTORY call with DATEADD('hour', -1, CURRENT_TIMESTAMP())
    (https://docs.snowflake.com/en/sql-reference/functions/task_history)."""
    engine.execute("CREATE TASK mytask AS SELECT 1")
    engine.execute("EXECUTE TASK mytask")
    rows = engine.execute(
        "SELECT name, state FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY("
        "SCHEDULED_TIME_RANGE_START => DATEADD('hour', -1, CURRENT_TIMESTAMP()),"
        " RESULT_LIMIT => 10, TASK_NAME => 'MYTASK'))"
    ).rows
    assert rows == [("MYTASK", "SUCCEEDED")]


def test_unnamed_result_columns_have_snowflakes_names(engine: Engine) -> None:
    """An expression's result column is named by its text in upper case, as the docs'
    shown outputs have it (https://docs.snowflake.com/en/sql-reference/functions/system_stream_has_data)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("CREATE STREAM s ON TABLE t")
    assert engine.execute("SELECT SYSTEM$STREAM_HAS_DATA('s')").columns == ["SYSTEM$STREAM_HAS_DATA('S')"]
    cols = engine.execute("SELECT count(*), sum(id), id, id AS x FROM t GROUP BY id").columns
    assert cols == ["COUNT(*)", "SUM(ID)", "ID", "X"]


def test_a_dynamic_table_not_yet_initialised_cannot_be_queried(engine: Engine) -> None:
    """INITIALIZE = ON_SCHEDULE: until its first refresh the table is not initialised and a
    query of it fails (https://docs.snowflake.com/en/user-guide/dynamic-tables-refresh)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("INSERT INTO t VALUES (1)")
    engine.execute(
        "CREATE DYNAMIC TABLE u TARGET_LAG = DOWNSTREAM WAREHOUSE = w INITIALIZE = ON_SCHEDULE AS SELECT id FROM t"
    )
    with pytest.raises(SqlError, match="not initialized"):
        engine.execute("SELECT * FROM u")
    engine.execute("ALTER DYNAMIC TABLE u REFRESH")
    assert engine.execute("SELECT * FROM u").rows == [(1,)]


def test_dynamic_table_clone_has_the_definition_and_the_rows(engine: Engine) -> None:
    """CREATE DYNAMIC TABLE ... CLONE (https://docs.snowflake.com/en/sql-reference/sql/create-dynamic-table)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("INSERT INTO t VALUES (1), (2)")
    engine.execute(
        "CREATE DYNAMIC TABLE product TARGET_LAG = '20 minutes' WAREHOUSE = mywh AS SELECT id FROM t WHERE id > 1"
    )
    engine.execute("CREATE DYNAMIC TABLE product_clone CLONE product")
    assert engine.execute("SELECT id FROM product_clone").rows == [(2,)]
    row = engine.execute("SHOW DYNAMIC TABLES LIKE 'PRODUCT_CLONE'").dicts()[0]
    assert (row["target_lag"], row["warehouse"]) == ("20 minutes", "MYWH")
