"""The consume task is a triggered task by default (no SCHEDULE, WHEN SYSTEM$STREAM_HAS_DATA
on its stream), with a scheduled variant (`--var task_mode=scheduled`): what each deploys,
how deploy plans and drift detection tell them apart, switching between them without
losing a change, how `run` runs a triggered task, and what `status` shows for it."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest

from moviecdc.clock import ManualClock
from moviecdc.config import Settings
from moviecdc.deploy import DeployPlan, deploy, plan_deploy
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import ConfigError
from moviecdc.render import RenderedScript, render_all, template_variables
from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import apply_changes, load_sample
from moviecdc.status_view import render_status
from moviecdc.warehouse.base import Rows
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.exactly_once import Ledger
from tests.test_simulate_oracle import check_consistency
from tests.test_status import SF_TASKS, RecordedSnowflake, findings, has, report

TASK = f"{NS}.consume_stream_task"
GUARD = "SYSTEM$STREAM_HAS_DATA('MOVIECDC.CDC.movie_bookings_stream')"


def scripts(**overrides: str) -> list[RenderedScript]:
    return render_all(None, template_variables(Settings(), overrides))


def task_sql(**overrides: str) -> str:
    script = next(s for s in scripts(**overrides) if s.name == "050_consume_stream_task.sql")
    return next(st.sql for st in script.statements if st.sql.startswith("CREATE OR ALTER TASK"))


def shown_task(wh: LocalWarehouse) -> dict[str, Any]:
    return wh.execute(f"SHOW TASKS LIKE 'CONSUME_STREAM_TASK' IN SCHEMA {NS}").dicts()[0]


def runs(wh: LocalWarehouse) -> list[tuple[str, str]]:
    """(state, scheduled_from) of the task's runs, oldest first."""
    rows = wh.execute(
        "SELECT STATE, SCHEDULED_FROM FROM TABLE(MOVIECDC.INFORMATION_SCHEMA.TASK_HISTORY("
        "TASK_NAME => 'CONSUME_STREAM_TASK')) WHERE STATE <> 'SCHEDULED' ORDER BY SCHEDULED_TIME"
    ).rows
    return [(str(s), str(f)) for s, f in rows]


def test_the_default_template_is_a_triggered_task_on_a_warehouse(pipeline: LocalWarehouse) -> None:
    """https://docs.snowflake.com/en/user-guide/tasks-triggered: a triggered task has a WHEN
    on its stream and no SCHEDULE; one that runs on a user-managed warehouse names it with
    WAREHOUSE (only a serverless one needs TARGET_COMPLETION_INTERVAL). SHOW TASKS shows no
    schedule for it (https://docs.snowflake.com/en/sql-reference/sql/show-tasks)."""
    sql = task_sql()
    assert "SCHEDULE" not in sql and "WAREHOUSE = COMPUTE_WH" in sql and f"WHEN {GUARD}" in sql
    assert "TARGET_COMPLETION_INTERVAL" not in sql
    task = shown_task(pipeline)
    assert task["schedule"] is None and task["condition"] == GUARD
    assert task["warehouse"] == "COMPUTE_WH" and task["state"] == "started"


def test_the_scheduled_variant_is_chosen_with_a_var() -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/create-task: SCHEDULE = '<num> MINUTES'
    with the same WHEN guard; `--var task_schedule` alone asks for it too, a schedule for a
    triggered task is a contradiction, and a mistyped mode or key is refused with the
    closest known one."""
    assert "SCHEDULE = '1 MINUTE'" in task_sql(task_mode="scheduled") and GUARD in task_sql(task_mode="scheduled")
    assert "SCHEDULE = '5 MINUTES'" in task_sql(task_schedule="5 minutes")
    assert "SCHEDULE = '5 MINUTES'" in task_sql(task_mode="SCHEDULED", task_schedule="5 MINUTES")
    assert template_variables(Settings(task_schedule="2 MINUTES"))["task_mode"] == "scheduled"  # MOVIECDC_TASK_SCHEDULE
    assert template_variables(Settings())["task_mode"] == "triggered"
    with pytest.raises(ConfigError, match="triggered takes no schedule"):
        template_variables(Settings(), {"task_mode": "triggered", "task_schedule": "5 MINUTES"})
    with pytest.raises(ConfigError, match="invalid task_mode") as bad_mode:
        template_variables(Settings(), {"task_mode": "schedule"})
    assert bad_mode.value.hint == "did you mean scheduled?"
    with pytest.raises(ConfigError, match="unknown template variable") as bad_key:
        template_variables(Settings(), {"task_mod": "scheduled"}, check_names=True)
    assert bad_key.value.hint == "did you mean task_mode?"


def test_the_run_loop_triggers_the_task_when_the_stream_has_data(pipeline: LocalWarehouse, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/user-guide/tasks-triggered: the task runs when the
    stream has new data, at most once per USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS (30 s
    by default, https://docs.snowflake.com/en/sql-reference/sql/create-task); the local
    engine's scheduler loop (`moviecdc run`) does the same, each change exactly once."""
    ledger = Ledger()
    load_sample(pipeline, NS)
    gen = ChangeGenerator(11)
    apply_changes(pipeline, NS, gen.changes(40))
    first = run_pending(pipeline.engine)  # the loop's pass, not a catch-up
    assert first.tasks == [("CDC.CONSUME_STREAM_TASK", "SUCCEEDED")]
    ledger.check(pipeline)

    apply_changes(pipeline, NS, gen.changes(40))
    clock.advance(seconds=10)
    assert run_pending(pipeline.engine).tasks == []  # within 30 s of the last run: not yet
    clock.advance(seconds=25)
    assert run_pending(pipeline.engine).tasks == [("CDC.CONSUME_STREAM_TASK", "SUCCEEDED")]
    ledger.check(pipeline)
    assert {f for s, f in runs(pipeline) if s == "SUCCEEDED"} == {"TRIGGER"}
    assert ledger.checkpoints == 2 and len(ledger.seen) > 40


def test_run_once_delivers_the_pending_changes_of_a_triggered_task(
    pipeline: LocalWarehouse, capsys: pytest.CaptureFixture[str]
) -> None:
    """https://docs.snowflake.com/en/user-guide/tasks-triggered: `run --once` runs the task
    now (EXECUTE TASK on Snowflake, https://docs.snowflake.com/en/sql-reference/sql/execute-task,
    which runs any task, triggered ones included); then the dynamic tables agree with the
    source and every change is in the events exactly once."""
    load_sample(pipeline, NS)
    apply_changes(pipeline, NS, ChangeGenerator(3).changes(150))
    result = pipeline.run_pipeline(catch_up=True)
    assert ("task CDC.CONSUME_STREAM_TASK", "SUCCEEDED") in [(s.label, s.outcome) for s in result.steps], result
    check_consistency(pipeline)
    assert pipeline.execute(f"SELECT COUNT(*) FROM {NS}.movie_bookings_stream").scalar() == 0


def _task_plan(planned: DeployPlan) -> dict[str, Any]:
    """The plan's status of 050 and the state and detail of the task it creates."""
    item = next(i for i in planned.items if i.script.name == "050_consume_stream_task.sql")
    task = next(o for o in planned.objects if o.kind == "TASK")
    return {"status": item.status, "state": task.state, "detail": task.detail}


def _plan(wh: LocalWarehouse, **overrides: str) -> dict[str, Any]:
    return _task_plan(plan_deploy(wh, NS, scripts(**overrides)))


def _deploy(wh: LocalWarehouse, **overrides: str) -> dict[str, Any]:
    """Plan and apply as `moviecdc deploy` does; what the plan said of the task."""
    rendered = scripts(**overrides)
    planned = plan_deploy(wh, NS, rendered)
    deploy(wh, rendered, ns=NS, items=planned.items)
    return _task_plan(planned)


def test_switching_variants_on_redeploy_keeps_every_change_exactly_once(clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/create-or-alter: CREATE OR ALTER keeps
    the task (its id and history) and resets what the statement leaves out, so the
    scheduled variant sets a SCHEDULE and the triggered one unsets it (the migration
    https://docs.snowflake.com/en/user-guide/tasks-triggered describes: suspend, unset the
    schedule, keep the WHEN, resume). Changes pending in the stream across a switch are
    delivered once; the plan compares the deployed schedule with the template both ways."""
    ledger = Ledger()
    with LocalWarehouse(":memory:", clock=clock) as wh:
        assert _deploy(wh)["status"] == "new"
        task_id = shown_task(wh)["id"]
        load_sample(wh, NS)
        gen = ChangeGenerator(8)
        apply_changes(wh, NS, gen.changes(30))
        wh.run_pipeline(catch_up=True)
        ledger.check(wh)

        apply_changes(wh, NS, gen.changes(30))  # pending in the stream while the task changes
        assert _deploy(wh, task_mode="scheduled") == {"status": "changed", "state": "drift",
                                                      "detail": "triggered (no schedule), not schedule 1 MINUTE"}  # fmt: skip
        task = shown_task(wh)
        assert (task["schedule"], task["id"], task["state"], task["condition"]) == (
            "1 MINUTE",
            task_id,
            "started",
            GUARD,
        )
        assert _plan(wh, task_mode="scheduled") == {"status": "unchanged", "state": "ok", "detail": ""}
        apply_changes(wh, NS, gen.changes(30))
        assert _deploy(wh) == {
            "status": "changed",
            "state": "drift",
            "detail": "schedule 1 MINUTE, not triggered (no schedule)",
        }
        task = shown_task(wh)
        assert (task["schedule"], task["id"], task["state"]) == (None, task_id, "started")
        assert _plan(wh) == {"status": "unchanged", "state": "ok", "detail": ""}
        wh.run_pipeline(catch_up=True)
        check_consistency(wh, ledger)
        assert ledger.checkpoints == 2


def test_status_of_a_triggered_task(pipeline: LocalWarehouse, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/user-guide/tasks-triggered: a triggered task has no
    schedule, so status shows no next run time but the stream that triggers it; with its
    WHEN removed it has nothing left that runs it (only EXECUTE TASK,
    https://docs.snowflake.com/en/sql-reference/sql/execute-task) and status says so."""
    load_sample(pipeline, NS)
    run_pending(pipeline.engine, catch_up=True)
    rep = report(pipeline, clock)
    assert rep.health == "OK", findings(rep)
    text = render_status(rep)
    assert (
        "task CONSUME_STREAM_TASK: started, triggered (no schedule): runs when MOVIE_BOOKINGS_STREAM has data" in text
    )
    assert "at most once every 30 s" in text and "next run" not in text

    pipeline.execute(f"ALTER TASK {TASK} SUSPEND")
    pipeline.execute(f"ALTER TASK {TASK} REMOVE WHEN")
    pipeline.execute(f"ALTER TASK {TASK} RESUME")
    rep = report(pipeline, clock)
    assert rep.tasks[0]["mode"] == "manual" and rep.tasks[0]["triggered_by"] == []
    assert has(rep, "WARN", "CONSUME_STREAM_TASK", "never runs on its own")
    assert not has(rep, "WARN", "CONSUME_STREAM_TASK", "wakes warehouse")  # it does not run at all
    assert "runs only by EXECUTE TASK" in render_status(rep)


class RecordedTriggered(RecordedSnowflake):
    """Snowflake's answers for a triggered task: SHOW TASKS' schedule is NULL and its runs
    come from the trigger (no SCHEDULED row ahead of them)."""

    def execute(self, sql: str, params: object = None) -> Rows:
        if re.search(r"^SHOW TASKS IN SCHEMA", sql):
            index = SF_TASKS.columns.index("schedule")
            row = list(SF_TASKS.rows[0])
            row[index] = None
            return Rows(columns=SF_TASKS.columns, rows=[tuple(row)])
        rows = super().execute(sql, params)
        if "TASK_HISTORY(" in sql:
            source = rows.columns.index("SCHEDULED_FROM")
            kept = [r for r in rows.rows if r[0] != "SCHEDULED"]
            return Rows(columns=rows.columns, rows=[(*r[:source], "TRIGGER", *r[source + 1 :]) for r in kept])
        return rows


def test_status_reads_a_triggered_task_in_snowflake_result_shapes() -> None:
    """https://docs.snowflake.com/en/user-guide/tasks-triggered and
    https://docs.snowflake.com/en/sql-reference/functions/task_history: a triggered task's
    SHOW TASKS row has no schedule and its history no future SCHEDULED run; status reports
    it healthy, triggered by its stream, with no next run."""
    from tests.test_status import T0

    rep = report(RecordedTriggered(), ManualClock(T0 + timedelta(minutes=10)))
    assert rep.health == "OK", findings(rep)
    task = rep.tasks[0]
    assert (task["mode"], task["schedule"], task["next_run"]) == ("triggered", None, None)
    assert task["triggered_by"] == ["MOVIE_BOOKINGS_STREAM"] and task["expected_wait_sec"] == 30
    assert {r["scheduled_from"] for r in task["recent_runs"]} == {"TRIGGER"}


def test_status_of_the_scheduled_variant_keeps_its_next_run(clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/task_history: a scheduled task
    has its next run as a SCHEDULED row; status shows it, with the schedule's interval."""
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh, task_mode="scheduled")
        rep = report(wh, clock)
    task = rep.tasks[0]
    assert (task["mode"], task["schedule"], task["expected_wait_sec"]) == ("scheduled", "1 MINUTE", 60)
    assert task["next_run"] == clock.now() + timedelta(minutes=1)
    assert "schedule 1 MINUTE, next run" in render_status(rep)
