"""Tasks: lifecycle, schedules, WHEN, history states and errors (reference section 2)."""

from __future__ import annotations

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import SqlError

HISTORY = (
    "SELECT STATE, ERROR_MESSAGE, SCHEDULED_FROM, QUERY_ID FROM"
    " TABLE(INFORMATION_SCHEMA.TASK_HISTORY(TASK_NAME => 'copy_task'))"
    " WHERE STATE <> 'SCHEDULED' ORDER BY COMPLETED_TIME"
)


@pytest.fixture
def setup(engine: Engine) -> Engine:
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("CREATE STREAM s ON TABLE t")
    engine.execute("CREATE TABLE sink (id INT, v STRING)")
    engine.execute(
        "CREATE TASK copy_task WAREHOUSE = wh SCHEDULE = '1 MINUTE'"
        " WHEN SYSTEM$STREAM_HAS_DATA('s') AS INSERT INTO sink SELECT id, v FROM s"
    )
    return engine


def states(engine: Engine) -> list[str]:
    return [r[0] for r in engine.execute(HISTORY).rows]


def test_task_is_created_suspended_and_does_not_run(setup: Engine, clock: ManualClock) -> None:
    assert setup.execute("SHOW TASKS").dicts()[0]["state"] == "suspended"
    setup.execute("INSERT INTO t VALUES (1, 'a')")
    clock.advance(minutes=5)
    run_pending(setup)
    run_pending(setup, catch_up=True)
    assert states(setup) == []
    assert setup.execute("SELECT count(*) FROM sink").scalar() == 0


def test_resumed_task_runs_on_its_interval_from_resume_time(setup: Engine, clock: ManualClock) -> None:
    setup.execute("ALTER TASK copy_task RESUME")
    setup.execute("INSERT INTO t VALUES (1, 'a')")
    clock.advance(seconds=59)
    run_pending(setup)
    assert states(setup) == []
    clock.advance(seconds=1)
    run_pending(setup)
    assert states(setup) == ["SUCCEEDED"]
    assert setup.execute("SELECT * FROM sink").rows == [(1, "a")]
    # many missed slots run once, for the latest slot
    setup.execute("INSERT INTO t VALUES (2, 'b')")
    clock.advance(minutes=10)
    run_pending(setup)
    assert states(setup) == ["SUCCEEDED", "SUCCEEDED"]


def test_false_when_records_a_skipped_run_without_query(setup: Engine) -> None:
    setup.execute("ALTER TASK copy_task RESUME")
    run_pending(setup, catch_up=True)
    rows = setup.execute(HISTORY).rows
    assert [(r[0], r[3]) for r in rows] == [("SKIPPED", None)]


def test_failed_run_records_the_error_and_rolls_back(setup: Engine) -> None:
    setup.execute("ALTER TASK copy_task SUSPEND")
    setup.execute("ALTER TASK copy_task MODIFY AS INSERT INTO sink SELECT CAST(v AS INT), v FROM s")
    setup.execute("ALTER TASK copy_task RESUME")
    setup.execute("INSERT INTO t VALUES (1, 'not a number')")
    run_pending(setup, catch_up=True)
    ((state, error, source, query_id),) = setup.execute(HISTORY).rows
    assert state == "FAILED" and "not a number" in error and query_id is not None
    # the run was one transaction: nothing written, the change is still pending
    assert setup.execute("SELECT count(*) FROM sink").scalar() == 0
    assert setup.execute("SELECT count(*) FROM s").scalar() == 1


def test_task_suspends_itself_after_consecutive_failures(setup: Engine) -> None:
    setup.execute("ALTER TASK copy_task SET SUSPEND_TASK_AFTER_NUM_FAILURES = 2")
    setup.execute("ALTER TASK copy_task MODIFY AS INSERT INTO sink SELECT CAST(v AS INT), v FROM s")
    setup.execute("ALTER TASK copy_task RESUME")
    setup.execute("INSERT INTO t VALUES (1, 'x')")
    run_pending(setup, catch_up=True)
    run_pending(setup, catch_up=True)
    run_pending(setup, catch_up=True)  # suspended now: does not run
    assert states(setup) == ["FAILED", "FAILED_AND_AUTO_SUSPENDED"]
    task = setup.execute("SHOW TASKS").dicts()[0]
    assert task["state"] == "suspended"
    assert task["last_suspended_reason"] == "SUSPENDED_DUE_TO_ERRORS"


def test_execute_task_runs_a_suspended_task_once(setup: Engine) -> None:
    setup.execute("INSERT INTO t VALUES (1, 'a')")
    setup.execute("EXECUTE TASK copy_task")
    assert [(r[0], r[2]) for r in setup.execute(HISTORY).rows] == [("SUCCEEDED", "EXECUTE_TASK")]
    assert setup.execute("SHOW TASKS").dicts()[0]["state"] == "suspended"
    assert setup.execute("SELECT count(*) FROM sink").scalar() == 1


def test_started_task_cannot_be_altered(setup: Engine) -> None:
    setup.execute("ALTER TASK copy_task RESUME")
    with pytest.raises(SqlError, match="not suspended"):
        setup.execute("ALTER TASK copy_task SET SCHEDULE = '5 MINUTES'")
    with pytest.raises(SqlError, match="not suspended"):
        setup.execute("CREATE OR ALTER TASK copy_task SCHEDULE = '5 MINUTES' AS SELECT 1")


def test_create_or_alter_keeps_history_and_id(setup: Engine) -> None:
    task_id = setup.execute("SHOW TASKS").dicts()[0]["id"]
    setup.execute("EXECUTE TASK copy_task")
    setup.execute(
        "CREATE OR ALTER TASK copy_task WAREHOUSE = wh SCHEDULE = '2 MINUTES'"
        " WHEN SYSTEM$STREAM_HAS_DATA('s') AS INSERT INTO sink SELECT id, v FROM s"
    )
    shown = setup.execute("SHOW TASKS").dicts()[0]
    assert shown["id"] == task_id and shown["schedule"] == "2 MINUTES"
    assert states(setup) == ["SKIPPED"]


def test_task_history_lists_newest_first_with_the_next_scheduled_run(setup: Engine, clock: ManualClock) -> None:
    setup.execute("ALTER TASK copy_task RESUME")
    for _ in range(3):
        clock.advance(minutes=1)
        run_pending(setup)
    rows = setup.execute(
        "SELECT STATE, SCHEDULED_TIME FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY("
        "TASK_NAME => 'COPY_TASK', RESULT_LIMIT => 3))"
    ).rows
    assert [r[0] for r in rows] == ["SCHEDULED", "SKIPPED", "SKIPPED"]
    times = [r[1] for r in rows]
    assert times == sorted(times, reverse=True)


def test_cron_schedule(setup: Engine, clock: ManualClock) -> None:
    setup.execute("ALTER TASK copy_task SET SCHEDULE = 'USING CRON 30 12 * * * UTC'")
    setup.execute("ALTER TASK copy_task RESUME")
    clock.advance(minutes=29)
    run_pending(setup)
    assert states(setup) == []
    clock.advance(minutes=1)
    run_pending(setup)
    assert states(setup) == ["SKIPPED"]


def test_invalid_schedule_is_rejected(setup: Engine) -> None:
    with pytest.raises(SqlError, match="SCHEDULE"):
        setup.execute("CREATE TASK bad SCHEDULE = 'every minute' AS SELECT 1")


def test_child_task_runs_after_its_root(setup: Engine) -> None:
    setup.execute("CREATE TABLE audit (n INT)")
    setup.execute("CREATE TASK child AFTER copy_task AS INSERT INTO audit SELECT count(*) FROM sink")
    setup.execute("ALTER TASK child RESUME")
    setup.execute("ALTER TASK copy_task RESUME")
    setup.execute("INSERT INTO t VALUES (1, 'a')")
    run_pending(setup, catch_up=True)
    assert setup.execute("SELECT n FROM audit").rows == [(1,)]


def test_scripting_block_body_runs_each_statement(setup: Engine) -> None:
    setup.execute(
        "CREATE TASK block_task AS BEGIN INSERT INTO sink VALUES (7, 'x'); INSERT INTO sink VALUES (8, 'y'); END"
    )
    setup.execute("EXECUTE TASK block_task")
    assert setup.execute("SELECT count(*) FROM sink").scalar() == 2


def test_scheduler_refuses_to_run_inside_an_open_transaction(setup: Engine) -> None:
    setup.execute("ALTER TASK copy_task RESUME")
    setup.execute("BEGIN TRANSACTION")
    with pytest.raises(SqlError, match="transaction is open"):
        run_pending(setup, catch_up=True)
    setup.execute("ROLLBACK")
    run_pending(setup, catch_up=True)
    assert states(setup) == ["SKIPPED"]
