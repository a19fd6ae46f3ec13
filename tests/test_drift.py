"""Deploy plans against the target as it is: each pipeline object dropped in turn is
reported by `status --check`, recreated by `deploy`, and nothing else is lost; objects
changed outside moviecdc are put back where that loses nothing, reported where it would."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS
from tests.test_cli import run
from tests.test_simulate_oracle import check_consistency


@pytest.fixture
def env(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    env = {"MOVIECDC_DB": str(tmp_path / "db.duckdb"), "MOVIECDC_TARGET": "local"}
    assert run(["deploy"], env, capsys)[0] == 0
    assert run(["simulate", "--sample", "--changes", "200", "--seed", "4"], env, capsys)[0] == 0
    assert run(["run", "--once"], env, capsys)[0] == 0
    assert run(["simulate", "--changes", "100", "--seed", "5"], env, capsys)[0] == 0  # pending in the stream
    return env


def counts(env: dict[str, str]) -> dict[str, int]:
    with LocalWarehouse(env["MOVIECDC_DB"], read_only=True) as wh:
        return {t: int(wh.execute(f"SELECT count(*) FROM {NS}.{t}").scalar() or 0)  # type: ignore[arg-type]
                for t in ("raw_movie_bookings", "movie_booking_cdc_events")}  # fmt: skip


OBJECTS = [
    ("STREAM", "movie_bookings_stream", "030_movie_bookings_stream.sql"),
    ("TASK", "consume_stream_task", "050_consume_stream_task.sql"),
    ("DYNAMIC TABLE", "movie_bookings_filtered", "060_movie_bookings_filtered.sql"),
    ("DYNAMIC TABLE", "movie_booking_insights", "070_movie_booking_insights.sql"),
]


@pytest.mark.slow  # four whole-pipeline scenarios: with the crash and soak tests
@pytest.mark.parametrize(("kind", "name", "script"), OBJECTS, ids=[o[1] for o in OBJECTS])
def test_a_dropped_object_fails_status_and_deploy_recreates_it(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], kind: str, name: str, script: str
) -> None:
    before = counts(env)
    assert run(["sql", "-q", f"DROP {kind} {name}"], env, capsys)[0] == 0

    code, out, _ = run(["status", "--check", "--json"], env, capsys)
    report = json.loads(out)
    assert code == 1 and report["health"] == "FAIL"
    assert {"kind": kind, "name": name} in report["missing"]

    code, out, _ = run(["deploy", "--plan", "--json"], env, capsys)
    plan = json.loads(out)
    assert code == 0 and {s["script"]: s["status"] for s in plan["scripts"]}[script] == "missing"
    assert any(o["name"].upper() == name.upper() and o["state"] == "missing" for o in plan["objects"])
    assert counts(env) == before  # the plan changed nothing

    code, out, err = run(["deploy"], env, capsys)
    assert code == 0 and f"missing   {script}" in err and "note:" in err
    assert counts(env) == before  # no row lost by recreating it
    code, out, _ = run(["status", "--json"], env, capsys)
    assert json.loads(out)["missing"] == []

    assert run(["simulate", "--changes", "50", "--seed", "6"], env, capsys)[0] == 0
    assert run(["run", "--once"], env, capsys)[0] == 0
    with LocalWarehouse(env["MOVIECDC_DB"], read_only=True) as wh:
        if kind != "STREAM":  # every change reached the events table exactly once, pending ones included,
            check_consistency(wh)  # and the dynamic tables agree with the source
        else:  # the changes pending when the stream was dropped went with it (as on Snowflake); later ones flow
            events = wh.execute(f"SELECT count(*), count(DISTINCT change_timestamp) FROM {NS}.movie_booking_cdc_events")
            assert events.rows[0][0] > before["movie_booking_cdc_events"] and events.rows[0][1] >= 2


def test_drift_is_put_back_where_that_loses_nothing_and_reported_where_it_would(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run(["sql", "-q", "ALTER DYNAMIC TABLE movie_booking_insights SET TARGET_LAG = '45 minutes'"], env, capsys)
    run(["sql", "-q", "ALTER TASK consume_stream_task SUSPEND"], env, capsys)
    run(["sql", "-q", "ALTER TASK consume_stream_task SET SCHEDULE = '7 MINUTES'"], env, capsys)
    run(["sql", "-q", "CREATE TABLE scratch (a INT)"], env, capsys)
    run(["sql", "-q", "CREATE OR REPLACE STREAM movie_bookings_stream ON TABLE raw_movie_bookings APPEND_ONLY = TRUE"],
        env, capsys)  # fmt: skip
    code, out, _ = run(["deploy", "--plan", "--json"], env, capsys)
    plan = json.loads(out)
    status = {s["script"]: s["status"] for s in plan["scripts"]}
    assert status["050_consume_stream_task.sql"] == "drift" and status["070_movie_booking_insights.sql"] == "drift"
    assert status["030_movie_bookings_stream.sql"] == "unchanged"  # a stream is never replaced
    notes = " ".join(n for s in plan["scripts"] for n in s["notes"])
    assert "mode APPEND_ONLY" in notes and "left as it is" in notes
    task_drift = next(o for o in plan["objects"] if o["name"].upper() == "CONSUME_STREAM_TASK")
    assert task_drift["detail"] == "schedule 7 MINUTES, not triggered (no schedule)"
    assert {"kind": "TABLE", "name": "SCRATCH", "state": "extra"}.items() <= next(
        o for o in plan["objects"] if o["name"] == "SCRATCH"
    ).items()

    assert run(["deploy"], env, capsys)[0] == 0
    with LocalWarehouse(env["MOVIECDC_DB"], read_only=True) as wh:
        task = wh.execute(f"SHOW TASKS IN SCHEMA {NS}").dicts()[0]
        dts = {r["name"]: r for r in wh.execute(f"SHOW DYNAMIC TABLES IN SCHEMA {NS}").dicts()}
        streams = wh.execute(f"SHOW STREAMS IN SCHEMA {NS}").dicts()
        tables = {r["name"] for r in wh.execute(f"SHOW TABLES IN SCHEMA {NS}").dicts()}
    assert task["schedule"] is None and task["state"] == "started"  # triggered again: the schedule is unset
    assert dts["MOVIE_BOOKING_INSIGHTS"]["target_lag"] == "2 minutes"
    assert streams[0]["mode"] == "APPEND_ONLY"  # reported, left as it is
    assert "SCRATCH" in tables  # extra objects are listed, never dropped
    code, out, _ = run(["deploy", "--plan", "--json"], env, capsys)
    assert {s["status"] for s in json.loads(out)["scripts"]} <= {"unchanged", "always"}


def test_plan_needs_a_database_and_creates_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"MOVIECDC_DB": str(tmp_path / "none.duckdb"), "MOVIECDC_TARGET": "local"}
    code, _, err = run(["deploy", "--plan"], env, capsys)
    assert code == 3 and "no local database" in err and not (tmp_path / "none.duckdb").exists()
