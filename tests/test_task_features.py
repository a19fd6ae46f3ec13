"""Tasks as Snowflake documents them in December 2026: graph settings, finalizers, return
values, configuration, retries, timeouts, the graph rules and the SHOW TASKS columns.

Each test names the documentation page it follows. Expected values are written out here,
not read back from the engine.
"""

from __future__ import annotations

import json

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import SqlError

CREATE_TASK = "https://docs.snowflake.com/en/sql-reference/sql/create-task"


def runs(engine: Engine, *names: str) -> list[tuple[object, ...]]:
    """(name, state, attempt) of each finished run, oldest first."""
    rows = engine.execute(
        "SELECT NAME, STATE, ATTEMPT_NUMBER, GRAPH_RUN_GROUP_ID FROM"
        " TABLE(INFORMATION_SCHEMA.TASK_HISTORY(RESULT_LIMIT => 1000))"
        " WHERE STATE <> 'SCHEDULED' ORDER BY COMPLETED_TIME"
    ).rows
    return [r[:3] for r in rows if not names or r[0] in names]


def groups(engine: Engine) -> set[object]:
    rows = engine.execute(
        "SELECT GRAPH_RUN_GROUP_ID FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY()) WHERE STATE <> 'SCHEDULED'"
    ).rows
    return {r[0] for r in rows}


@pytest.fixture
def graph(engine: Engine) -> Engine:
    """root -> child (reads a table that may not exist yet)."""
    engine.execute("CREATE TABLE log (step STRING)")
    engine.execute("CREATE TASK root SCHEDULE = '1 MINUTE' AS INSERT INTO log VALUES ('root')")
    engine.execute("CREATE TASK child AFTER root AS INSERT INTO log SELECT 'child' FROM maybe")
    return engine


def test_auto_retry_reruns_only_the_failed_part_of_the_graph(graph: Engine) -> None:
    """TASK_AUTO_RETRY_ATTEMPTS: a failed graph run is retried from the failed task, with
    ATTEMPT_NUMBER counting up and the same GRAPH_RUN_GROUP_ID ({CREATE_TASK}, and
    https://docs.snowflake.com/en/user-guide/tasks-graphs#automatically-retry-failed-task-graphs)."""
    graph.execute("ALTER TASK root SET TASK_AUTO_RETRY_ATTEMPTS = 2")
    graph.execute("ALTER TASK child RESUME")
    graph.execute("EXECUTE TASK root")
    assert runs(graph) == [
        ("ROOT", "SUCCEEDED", 1),
        ("CHILD", "FAILED", 1),
        ("CHILD", "FAILED", 2),
        ("CHILD", "FAILED", 3),
    ]
    assert len(groups(graph)) == 1
    assert graph.execute("SELECT count(*) FROM log WHERE step = 'root'").scalar() == 1


def test_auto_retry_is_a_root_setting_with_snowflakes_range(graph: Engine) -> None:
    """TASK_AUTO_RETRY_ATTEMPTS: root tasks only, 0 to 30 ({CREATE_TASK})."""
    with pytest.raises(SqlError, match="root task"):
        graph.execute("ALTER TASK child SET TASK_AUTO_RETRY_ATTEMPTS = 1")
    with pytest.raises(SqlError, match="0 to 30"):
        graph.execute("ALTER TASK root SET TASK_AUTO_RETRY_ATTEMPTS = 31")


def test_retry_last_reruns_the_failed_tasks_of_the_last_graph_run(graph: Engine) -> None:
    """EXECUTE TASK ... RETRY LAST: only the failed tasks run again, as attempt 2 of the same
    graph run (https://docs.snowflake.com/en/sql-reference/sql/execute-task)."""
    graph.execute("ALTER TASK child RESUME")
    graph.execute("EXECUTE TASK root")
    graph.execute("CREATE TABLE maybe (x INT)")
    graph.execute("INSERT INTO maybe VALUES (1)")
    graph.execute("EXECUTE TASK root RETRY LAST")
    assert runs(graph) == [("ROOT", "SUCCEEDED", 1), ("CHILD", "FAILED", 1), ("CHILD", "SUCCEEDED", 2)]
    assert len(groups(graph)) == 1
    assert sorted(r[0] for r in graph.execute("SELECT step FROM log").rows) == ["child", "root"]
    with pytest.raises(SqlError, match="no failed or cancelled task"):
        graph.execute("EXECUTE TASK root RETRY LAST")


def test_retry_last_refuses_a_graph_changed_since(graph: Engine) -> None:
    """RETRY LAST needs the graph unmodified since the failed run
    (https://docs.snowflake.com/en/sql-reference/sql/execute-task)."""
    graph.execute("ALTER TASK child RESUME")
    graph.execute("EXECUTE TASK root")
    graph.execute("ALTER TASK root SET COMMENT = 'changed'")
    with pytest.raises(SqlError, match="modified"):
        graph.execute("EXECUTE TASK root RETRY LAST")


def test_finalizer_runs_after_the_graph_whether_it_failed_or_not(graph: Engine) -> None:
    """FINALIZE = <root>: the finalizer runs once every other task has finished or failed,
    and not when the root run was skipped
    (https://docs.snowflake.com/en/user-guide/tasks-graphs#finalizer-task)."""
    graph.execute("CREATE TASK fin FINALIZE = root AS INSERT INTO log VALUES ('fin')")
    graph.execute("ALTER TASK child RESUME")
    graph.execute("ALTER TASK fin RESUME")
    graph.execute("EXECUTE TASK root")
    assert runs(graph) == [("ROOT", "SUCCEEDED", 1), ("CHILD", "FAILED", 1), ("FIN", "SUCCEEDED", 1)]
    graph.execute("ALTER TASK root MODIFY WHEN 1 = 0")
    graph.execute("EXECUTE TASK root")
    assert runs(graph, "FIN") == [("FIN", "SUCCEEDED", 1)]  # the skipped root ran no finalizer
    relations = {r["name"]: json.loads(r["task_relations"]) for r in graph.execute("SHOW TASKS").dicts()}
    assert relations["ROOT"]["FinalizerTask"] == "DB.S.FIN"
    assert relations["FIN"]["FinalizedRootTask"] == "DB.S.ROOT"


def test_finalizer_rules(graph: Engine) -> None:
    """A finalizer has no schedule, no predecessors, no children, and a root has one
    ({CREATE_TASK}: FINALIZE)."""
    graph.execute("CREATE TASK fin FINALIZE = root AS SELECT 1")
    with pytest.raises(SqlError, match="already has a finalizer"):
        graph.execute("CREATE TASK fin2 FINALIZE = root AS SELECT 1")
    with pytest.raises(SqlError, match="root task"):
        graph.execute("CREATE TASK fin3 FINALIZE = child AS SELECT 1")
    with pytest.raises(SqlError, match="cannot have child"):
        graph.execute("CREATE TASK after_fin AFTER fin AS SELECT 1")
    with pytest.raises(SqlError, match="only accepts a root"):
        graph.execute("EXECUTE TASK fin")


def test_return_value_reaches_the_next_task(engine: Engine) -> None:
    """SYSTEM$SET_RETURN_VALUE / SYSTEM$GET_PREDECESSOR_RETURN_VALUE, the documentation's
    example (https://docs.snowflake.com/en/sql-reference/functions/system_set_return_value)."""
    engine.execute("CREATE TABLE return_values (str VARCHAR)")
    engine.execute(
        "CREATE TASK set_return_value SCHEDULE = '1 MINUTE'"
        " AS CALL SYSTEM$SET_RETURN_VALUE('The quick brown fox jumps over the lazy dog')"
    )
    engine.execute(
        "CREATE TASK get_return_value AFTER set_return_value"
        " AS INSERT INTO return_values VALUES (SYSTEM$GET_PREDECESSOR_RETURN_VALUE())"
    )
    engine.execute("ALTER TASK get_return_value RESUME")
    engine.execute("EXECUTE TASK set_return_value")
    assert engine.execute("SELECT str FROM return_values").rows == [("The quick brown fox jumps over the lazy dog",)]
    values = engine.execute(
        "SELECT NAME, RETURN_VALUE FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY()) WHERE STATE = 'SUCCEEDED'"
    ).rows
    assert dict(values)["SET_RETURN_VALUE"] == "The quick brown fox jumps over the lazy dog"
    with pytest.raises(SqlError, match="task run"):
        engine.execute("SELECT SYSTEM$GET_PREDECESSOR_RETURN_VALUE('x')")


def test_graph_config_and_a_per_run_override(engine: Engine) -> None:
    """CONFIG on the root, read with SYSTEM$GET_TASK_GRAPH_CONFIG; EXECUTE TASK ... USING
    CONFIG overrides it for one run
    (https://docs.snowflake.com/en/sql-reference/functions/system_get_task_graph_config)."""
    engine.execute("CREATE TABLE my_table (name VARCHAR, value VARCHAR)")
    engine.execute(
        "CREATE TASK my_task_root SCHEDULE = '1 MINUTE' USER_TASK_TIMEOUT_MS = 60000"
        ' CONFIG = $${"environment": "production", "dir": "/my_prod_directory/"}$$ AS SELECT 1'
    )
    engine.execute(
        "CREATE TASK my_child_task AFTER my_task_root AS INSERT INTO my_table"
        " SELECT 'dir', SYSTEM$GET_TASK_GRAPH_CONFIG('dir')::STRING"
    )
    engine.execute("ALTER TASK my_child_task RESUME")
    engine.execute("EXECUTE TASK my_task_root")
    engine.execute("""EXECUTE TASK my_task_root USING CONFIG = $${"dir": "/tmp/"}$$""")
    assert engine.execute("SELECT value FROM my_table").rows == [("/my_prod_directory/",), ("/tmp/",)]
    show = engine.execute("SHOW TASKS LIKE 'MY_TASK_ROOT'").dicts()[0]
    assert json.loads(str(show["config"])) == {"environment": "production", "dir": "/my_prod_directory/"}
    with pytest.raises(SqlError, match="JSON"):
        engine.execute("ALTER TASK my_task_root SET CONFIG = 'not json'")


def test_trigger_interval_sets_the_spacing_of_triggered_runs(engine: Engine, clock: ManualClock) -> None:
    """USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS: a triggered task runs at most once per
    interval (10 s to 7 days; 30 s by default)
    (https://docs.snowflake.com/en/user-guide/tasks-triggered)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("CREATE STREAM s ON TABLE t")
    engine.execute("CREATE TABLE sink (id INT)")
    engine.execute(
        "CREATE TASK trig WAREHOUSE = wh USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS = 120"
        " WHEN SYSTEM$STREAM_HAS_DATA('s') AS INSERT INTO sink SELECT id FROM s"
    )
    engine.execute("ALTER TASK trig RESUME")
    engine.execute("INSERT INTO t VALUES (1)")
    run_pending(engine)
    engine.execute("INSERT INTO t VALUES (2)")
    clock.advance(seconds=60)  # more than the default 30 s, less than 120 s
    run_pending(engine)
    assert engine.execute("SELECT count(*) FROM sink").scalar() == 1
    clock.advance(seconds=61)
    run_pending(engine)
    assert engine.execute("SELECT count(*) FROM sink").scalar() == 2
    with pytest.raises(SqlError, match="10 to 604800"):
        engine.execute("ALTER TASK trig SUSPEND")  # (suspended first: a started task cannot be altered)
        engine.execute("ALTER TASK trig SET USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS = 5")


def test_a_serverless_triggered_task_needs_a_target_completion_interval(engine: Engine) -> None:
    """A triggered task runs on a warehouse, or serverless with TARGET_COMPLETION_INTERVAL
    (https://docs.snowflake.com/en/user-guide/tasks-triggered#create-a-triggered-task)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("CREATE STREAM s ON TABLE t")
    with pytest.raises(SqlError, match="TARGET_COMPLETION_INTERVAL"):
        engine.execute(
            "CREATE TASK trig WHEN SYSTEM$STREAM_HAS_DATA('s') AS DELETE FROM t WHERE id IN (SELECT id FROM s)"
        )
    engine.execute(
        "CREATE TASK trig TARGET_COMPLETION_INTERVAL = '1 MINUTE' WHEN SYSTEM$STREAM_HAS_DATA('s')"
        " AS DELETE FROM t WHERE id IN (SELECT id FROM s)"
    )
    assert engine.execute("SHOW TASKS").dicts()[0]["schedule"] is None


def test_timeout_fails_the_run_and_rolls_it_back(engine: Engine) -> None:
    """USER_TASK_TIMEOUT_MS: a run past the timeout is FAILED ({CREATE_TASK}). The engine
    cannot stop a statement midway: the run is rolled back when it ends."""
    engine.execute("CREATE TABLE sink (n INT)")
    engine.execute(
        "CREATE TASK slow USER_TASK_TIMEOUT_MS = 1 AS INSERT INTO sink"
        " SELECT count(*) FROM TABLE(GENERATOR(ROWCOUNT => 3000000))"
    )
    engine.execute("EXECUTE TASK slow")
    state, code, message = engine.execute(
        "SELECT STATE, ERROR_CODE, ERROR_MESSAGE FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY()) WHERE STATE <> 'SCHEDULED'"
    ).rows[0]
    assert (state, code) == ("FAILED", "000630")
    assert "timeout" in str(message)
    assert engine.execute("SELECT count(*) FROM sink").scalar() == 0


def test_cost_settings_are_kept_shown_and_noted(engine: Engine) -> None:
    """TARGET_COMPLETION_INTERVAL and SUCCESS_INTEGRATION size and notify on Snowflake; the
    engine shows them in SHOW TASKS (scheduling_mode, target_completion_interval,
    success_integration, execute_as_user) and names them as having no effect
    (https://docs.snowflake.com/en/sql-reference/sql/show-tasks)."""
    engine.execute(
        "CREATE TASK serverless TARGET_COMPLETION_INTERVAL = '5 MINUTES' SUCCESS_INTEGRATION = my_int"
        " SCHEDULE = '1 MINUTE' EXECUTE AS USER etl_user AS SELECT 1"
    )
    engine.execute("CREATE TASK on_wh WAREHOUSE = wh SCHEDULE = '1 MINUTE' AS SELECT 1")
    rows = {r["name"]: r for r in engine.execute("SHOW TASKS").dicts()}
    assert rows["SERVERLESS"]["scheduling_mode"] == "FLEXIBLE"
    assert rows["SERVERLESS"]["target_completion_interval"] == "5 MINUTES"
    assert rows["SERVERLESS"]["success_integration"] == "MY_INT"
    assert rows["SERVERLESS"]["execute_as_user"] == "ETL_USER"
    assert rows["ON_WH"]["scheduling_mode"] is None
    notes = engine.notes()
    assert any("SERVERLESS sets TARGET_COMPLETION_INTERVAL" in n for n in notes)
    assert any("SERVERLESS sets SUCCESS_INTEGRATION" in n for n in notes)
    assert not any("ON_WH" in n for n in notes)


def test_overlap_settings_map_and_are_noted(engine: Engine) -> None:
    """ALLOW_OVERLAPPING_EXECUTION = TRUE is OVERLAP_POLICY = ALLOW_CHILD_OVERLAP; runs never
    overlap locally, which a NOTE says ({CREATE_TASK}: OVERLAP_POLICY)."""
    engine.execute("CREATE TASK r SCHEDULE = '1 MINUTE' ALLOW_OVERLAPPING_EXECUTION = TRUE AS SELECT 1")
    assert engine.execute("SHOW TASKS").dicts()[0]["allow_overlapping_execution"] == "true"
    assert any("R sets OVERLAP_POLICY" in n for n in engine.notes())
    with pytest.raises(SqlError, match="OVERLAP_POLICY"):
        engine.execute("CREATE TASK r2 OVERLAP_POLICY = SOMETIMES AS SELECT 1")


def test_unknown_and_out_of_range_properties_are_refused(engine: Engine) -> None:
    """A property CREATE TASK does not know is an error, not ignored ({CREATE_TASK})."""
    with pytest.raises(SqlError, match="invalid property 'SCHEDUEL'"):
        engine.execute("CREATE TASK t1 SCHEDUEL = '1 MINUTE' AS SELECT 1")
    with pytest.raises(SqlError, match="USER_TASK_TIMEOUT_MS"):
        engine.execute("CREATE TASK t1 USER_TASK_TIMEOUT_MS = 999999999999 AS SELECT 1")
    with pytest.raises(SqlError, match="either"):
        engine.execute("CREATE TASK t1 WAREHOUSE = wh USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE = 'SMALL' AS SELECT 1")
    engine.execute("CREATE TASK t1 QUERY_TAG = 'etl' TIMEZONE = 'Europe/Paris' AS SELECT 1")
    notes = engine.notes()
    assert any("T1 sets TIMEZONE" in n for n in notes) and not any("QUERY_TAG" in n for n in notes)


def test_a_started_root_freezes_its_graph(graph: Engine) -> None:
    """With the root started, resuming a suspended child, adding a task after the root or
    changing a member fails: the root must be suspended first
    (https://docs.snowflake.com/en/sql-reference/sql/alter-task, usage notes)."""
    graph.execute("ALTER TASK root RESUME")
    with pytest.raises(SqlError, match="not suspended"):
        graph.execute("ALTER TASK child RESUME")
    with pytest.raises(SqlError, match="not suspended"):
        graph.execute("CREATE TASK child2 AFTER root AS SELECT 1")
    with pytest.raises(SqlError, match="not suspended"):
        graph.execute("ALTER TASK child MODIFY AS SELECT 2")
    with pytest.raises(SqlError, match="not suspended"):
        graph.execute("CREATE OR REPLACE TASK child AFTER root AS SELECT 2")
    graph.execute("ALTER TASK root SUSPEND")
    graph.execute("ALTER TASK child RESUME")
    graph.execute("ALTER TASK root RESUME")
    assert {r["name"]: r["state"] for r in graph.execute("SHOW TASKS").dicts()} == {
        "ROOT": "started",
        "CHILD": "started",
    }


def test_replacing_a_started_standalone_task_gives_a_new_suspended_one(engine: Engine) -> None:
    """CREATE OR REPLACE TASK of a started task that is in no graph recreates it: a new id,
    suspended ({CREATE_TASK}, usage notes)."""
    engine.execute("CREATE TASK solo SCHEDULE = '1 MINUTE' AS SELECT 1")
    engine.execute("ALTER TASK solo RESUME")
    before = engine.execute("SHOW TASKS").dicts()[0]
    engine.execute("CREATE OR REPLACE TASK solo SCHEDULE = '2 MINUTES' AS SELECT 2")
    after = engine.execute("SHOW TASKS").dicts()[0]
    assert (after["state"], after["schedule"], after["definition"]) == ("suspended", "2 MINUTES", "SELECT 2")
    assert after["id"] != before["id"]
    scheduled = engine.execute(
        "SELECT count(*) FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY()) WHERE STATE = 'SCHEDULED'"
    ).scalar()
    assert scheduled == 0


def test_execute_task_sets_last_committed_on(engine: Engine) -> None:
    """last_committed_on: when a version of the task was last set, by a resume or a manual
    run; NULL before (https://docs.snowflake.com/en/sql-reference/sql/show-tasks)."""
    engine.execute("CREATE TASK solo AS SELECT 1")
    assert engine.execute("SHOW TASKS").dicts()[0]["last_committed_on"] is None
    engine.execute("EXECUTE TASK solo")
    assert engine.execute("SHOW TASKS").dicts()[0]["last_committed_on"] is not None


def test_task_dependents_enable_resumes_the_whole_graph(graph: Engine) -> None:
    """SYSTEM$TASK_DEPENDENTS_ENABLE resumes every task of the graph, the root last
    (https://docs.snowflake.com/en/sql-reference/functions/system_task_dependents_enable)."""
    graph.execute("CREATE TASK grandchild AFTER child AS SELECT 1")
    graph.execute("CREATE TASK fin FINALIZE = root AS SELECT 1")
    graph.execute("SELECT SYSTEM$TASK_DEPENDENTS_ENABLE('db.s.root')")
    states = {r["name"]: r["state"] for r in graph.execute("SHOW TASKS").dicts()}
    assert states == {"ROOT": "started", "CHILD": "started", "GRANDCHILD": "started", "FIN": "started"}
    with pytest.raises(SqlError, match="not a root"):
        graph.execute("SELECT SYSTEM$TASK_DEPENDENTS_ENABLE('child')")


def test_task_dependents_lists_the_graph_below_a_task(graph: Engine) -> None:
    """INFORMATION_SCHEMA.TASK_DEPENDENTS: the task and the tasks after it, recursively by
    default (https://docs.snowflake.com/en/sql-reference/functions/task_dependents)."""
    graph.execute("CREATE TASK grandchild AFTER child AS SELECT 1")
    rows = graph.execute(
        "SELECT name FROM TABLE(INFORMATION_SCHEMA.TASK_DEPENDENTS(TASK_NAME => 'db.s.root', RECURSIVE => TRUE))"
    ).rows
    assert [r[0] for r in rows] == ["ROOT", "CHILD", "GRANDCHILD"]
    rows = graph.execute(
        "SELECT name FROM TABLE(INFORMATION_SCHEMA.TASK_DEPENDENTS(TASK_NAME => 'root', RECURSIVE => FALSE))"
    ).rows
    assert [r[0] for r in rows] == ["ROOT", "CHILD"]


def test_show_tasks_filters_are_applied_not_ignored(graph: Engine) -> None:
    """SHOW [TERSE] TASKS ... STARTS WITH / ROOT ONLY / LIMIT n FROM; TERSE has a NULL kind
    column; anything else after them is a syntax error
    (https://docs.snowflake.com/en/sql-reference/sql/show-tasks)."""
    graph.execute("CREATE TASK alone AS SELECT 1")
    names = lambda sql: [r["name"] for r in graph.execute(sql).dicts()]  # noqa: E731
    assert names("SHOW TASKS ROOT ONLY") == ["ALONE", "ROOT"]
    assert names("SHOW TASKS STARTS WITH 'C'") == ["CHILD"]
    assert names("SHOW TASKS STARTS WITH 'c'") == []  # case-sensitive
    assert names("SHOW TASKS LIMIT 1 FROM 'B'") == ["CHILD"]
    terse = graph.execute("SHOW TERSE TASKS IN SCHEMA s LIMIT 1")
    assert terse.columns == ["created_on", "name", "kind", "database_name", "schema_name", "schedule"]
    assert terse.rows[0][1:3] == ("ALONE", None)
    with pytest.raises(SqlError, match="syntax error"):
        graph.execute("SHOW TASKS ORDER BY name")


def test_complete_and_current_task_graphs(graph: Engine) -> None:
    """COMPLETE_TASK_GRAPHS: a row per finished graph run with its state and first error, none
    for a skipped root; CURRENT_TASK_GRAPHS: the next scheduled run of a started root
    (https://docs.snowflake.com/en/sql-reference/functions/complete_task_graphs,
    https://docs.snowflake.com/en/sql-reference/functions/current_task_graphs)."""
    graph.execute("ALTER TASK child RESUME")
    graph.execute("EXECUTE TASK root")
    graph.execute("ALTER TASK child SUSPEND")
    graph.execute("EXECUTE TASK root")
    graph.execute("ALTER TASK root MODIFY WHEN 1 = 0")
    graph.execute("EXECUTE TASK root")
    rows = graph.execute(
        "SELECT ROOT_TASK_NAME, STATE, FIRST_ERROR_TASK_NAME, FIRST_ERROR_CODE, SCHEDULED_FROM"
        " FROM TABLE(INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS(ROOT_TASK_NAME => 'root'))"
    ).rows
    assert rows == [
        ("ROOT", "SUCCEEDED", None, None, "EXECUTE_TASK"),
        ("ROOT", "FAILED", "CHILD", 2003, "EXECUTE_TASK"),
    ]
    errors = graph.execute("SELECT STATE FROM TABLE(INFORMATION_SCHEMA.COMPLETE_TASK_GRAPHS(ERROR_ONLY => TRUE))").rows
    assert errors == [("FAILED",)]
    graph.execute("ALTER TASK root REMOVE WHEN")
    graph.execute("ALTER TASK root RESUME")
    current = graph.execute("SELECT ROOT_TASK_NAME, STATE FROM TABLE(INFORMATION_SCHEMA.CURRENT_TASK_GRAPHS())").rows
    assert current == [("ROOT", "SCHEDULED")]


def test_task_runtime_info_names_the_running_task(graph: Engine) -> None:
    """SYSTEM$TASK_RUNTIME_INFO: the current task, its root and the graph run, inside a run
    (https://docs.snowflake.com/en/sql-reference/functions/system_task_runtime_info)."""
    graph.execute("CREATE TABLE info (task STRING, root STRING, grp STRING)")
    graph.execute(
        "CREATE OR REPLACE TASK child AFTER root AS INSERT INTO info SELECT"
        " SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_NAME'), SYSTEM$TASK_RUNTIME_INFO('CURRENT_ROOT_TASK_NAME'),"
        " SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_GRAPH_RUN_GROUP_ID')"
    )
    graph.execute("ALTER TASK child RESUME")
    graph.execute("EXECUTE TASK root")
    task, root, grp = graph.execute("SELECT * FROM info").rows[0]
    assert (task, root) == ("DB.S.CHILD", "DB.S.ROOT")
    assert grp in groups(graph)
    with pytest.raises(SqlError, match="task run"):
        graph.execute("SELECT SYSTEM$TASK_RUNTIME_INFO('CURRENT_TASK_NAME')")


def test_status_names_what_a_pipeline_task_sets_but_the_engine_does_not_emulate(pipeline: object) -> None:
    """A setting kept but not emulated is said in `status` as a NOTE, never ignored without a
    word ({CREATE_TASK}: TARGET_COMPLETION_INTERVAL, SUCCESS_INTEGRATION)."""
    from moviecdc.status import collect_status
    from moviecdc.warehouse.local import LocalWarehouse

    assert isinstance(pipeline, LocalWarehouse)
    pipeline.execute("ALTER TASK MOVIECDC.CDC.CONSUME_STREAM_TASK SUSPEND")
    pipeline.execute("ALTER TASK MOVIECDC.CDC.CONSUME_STREAM_TASK SET SUCCESS_INTEGRATION = ops_sns")
    notes = collect_status(pipeline, "MOVIECDC", "CDC").notes
    assert any("CONSUME_STREAM_TASK sets SUCCESS_INTEGRATION, which has no effect locally" in n for n in notes)


def test_a_triggered_task_records_no_run_while_its_stream_is_empty(engine: Engine, clock: ManualClock) -> None:
    """A triggered task runs when its stream has data and uses nothing otherwise: no SKIPPED
    rows pile up, and its runs come FROM 'TRIGGER', in a catch-up pass too
    (https://docs.snowflake.com/en/user-guide/tasks-triggered)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("CREATE STREAM s ON TABLE t")
    engine.execute("CREATE TABLE sink (id INT)")
    engine.execute(
        "CREATE TASK trig WAREHOUSE = wh WHEN SYSTEM$STREAM_HAS_DATA('s') AS INSERT INTO sink SELECT id FROM s"
    )
    engine.execute("CREATE TASK manual AS INSERT INTO sink VALUES (-1)")  # no schedule, no stream: never on its own
    engine.execute("ALTER TASK trig RESUME")
    engine.execute("ALTER TASK manual RESUME")
    for _ in range(5):
        clock.advance(seconds=40)
        run_pending(engine)
    run_pending(engine, catch_up=True)
    assert runs(engine) == []
    engine.execute("INSERT INTO t VALUES (1)")
    run_pending(engine, catch_up=True)
    sources = engine.execute(
        "SELECT NAME, STATE, SCHEDULED_FROM FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY()) WHERE STATE <> 'SCHEDULED'"
    ).rows
    assert sources == [("TRIG", "SUCCEEDED", "TRIGGER")]
    assert engine.execute("SELECT id FROM sink").rows == [(1,)]


def test_clone_copies_the_definition_suspended(engine: Engine) -> None:
    """CREATE TASK ... CLONE: the source's definition under a new name, created suspended
    (https://docs.snowflake.com/en/sql-reference/sql/create-task, CREATE TASK ... CLONE)."""
    engine.execute("CREATE TASK mytask_minute WAREHOUSE = mywh SCHEDULE = '5 MINUTE' COMMENT = 'c' AS SELECT 1")
    engine.execute("ALTER TASK mytask_minute RESUME")
    engine.execute("CREATE TASK t_clone CLONE mytask_minute")
    row = {r["name"]: r for r in engine.execute("SHOW TASKS").dicts()}["T_CLONE"]
    assert (row["warehouse"], row["schedule"], row["comment"], row["definition"], row["state"]) == (
        "MYWH",
        "5 MINUTE",
        "c",
        "SELECT 1",
        "suspended",
    )
    with pytest.raises(SqlError, match="does not exist"):
        engine.execute("CREATE TASK t2 CLONE nothing")


def test_current_user_task_name_inside_a_run(engine: Engine) -> None:
    """SYSTEM$CURRENT_USER_TASK_NAME: the running task's name
    (https://docs.snowflake.com/en/sql-reference/functions/system_current_user_task_name)."""
    engine.execute("CREATE TABLE log (n STRING)")
    engine.execute("CREATE TASK tk AS INSERT INTO log SELECT SYSTEM$CURRENT_USER_TASK_NAME()")
    engine.execute("EXECUTE TASK tk")
    assert engine.execute("SELECT n FROM log").rows == [("TK",)]
