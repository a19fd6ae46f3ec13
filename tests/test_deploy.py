"""Deploy: idempotent, loses nothing, reports where it stopped; teardown; dry runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from moviecdc.config import Settings
from moviecdc.deploy import created_objects, deploy, teardown
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import ConfigError, DeployError, TemplateError
from moviecdc.render import render_all, template_dir, template_variables
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS
from tests.support import RecordingWarehouse


def scripts(**overrides: str):  # type: ignore[no-untyped-def]
    return render_all(None, template_variables(Settings(), overrides))


def test_templates_ship_with_the_package() -> None:
    names = [p.name for p in sorted(template_dir().glob("*.sql"))]
    assert names[0].startswith("010") and "070_movie_booking_insights.sql" in names


def test_deploy_twice_loses_no_row_and_no_pending_change(pipeline: LocalWarehouse) -> None:
    table = f"{NS}.raw_movie_bookings"
    pipeline.execute(f"INSERT INTO {table} (booking_id, customer_id, movie_id, status, ticket_count, ticket_price)"
                     " VALUES ('B1', 'C1', 'M1', 'BOOKED', 2, 10)")  # fmt: skip
    run_pending(pipeline.engine, catch_up=True)
    pipeline.execute(f"UPDATE {table} SET status = 'CANCELLED' WHERE booking_id = 'B1'")
    pipeline.execute(f"INSERT INTO {table} (booking_id, status) VALUES ('B2', 'BOOKED')")
    report = deploy(pipeline, scripts())
    assert len(report.applied) == sum(len(s.statements) for s in scripts())  # every statement, again
    assert pipeline.execute(f"SELECT count(*) FROM {table}").scalar() == 2
    assert pipeline.execute(f"SELECT count(*) FROM {NS}.movie_bookings_stream").scalar() == 3
    assert pipeline.execute(f"SHOW TASKS IN SCHEMA {NS}").dicts()[0]["state"] == "started"
    run_pending(pipeline.engine, catch_up=True)
    assert pipeline.execute(f"SELECT count(*) FROM {NS}.movie_booking_cdc_events").scalar() == 4
    assert (
        pipeline.execute(f"SELECT status FROM {NS}.movie_bookings_filtered WHERE booking_id = 'B1'").scalar()
        == "CANCELLED"
    )


def test_redeploy_with_a_new_lag_keeps_the_insights_history(pipeline: LocalWarehouse) -> None:
    deploy(pipeline, scripts(target_lag="10 minutes"))
    rows = pipeline.execute(f"SHOW DYNAMIC TABLES LIKE 'MOVIE_BOOKING_INSIGHTS' IN SCHEMA {NS}").dicts()
    assert rows[0]["target_lag"] == "10 minutes"
    actions = [r[0] for r in pipeline.execute(
        "SELECT REFRESH_ACTION FROM TABLE(INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY("
        f"NAME => '{NS}.MOVIE_BOOKING_INSIGHTS'))").rows]  # fmt: skip
    assert actions == ["REINITIALIZE"]  # the first refresh: Snowflake lists no INITIALIZE action


def test_deploy_failure_names_the_file_and_line(tmp_path: Path, clock) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "010_ok.sql").write_text("CREATE SCHEMA IF NOT EXISTS {{ ns }};\n")
    (tmp_path / "020_bad.sql").write_text("-- comment\n\nCREATE TABLE {{ ns }}.x (a INT);\nSELECT * FROM nowhere;\n")
    bad = render_all(tmp_path, template_variables(Settings()))
    with LocalWarehouse(":memory:", clock=clock) as wh:
        with pytest.raises(DeployError, match=r"020_bad.sql line 4 \(SELECT \* FROM nowhere\)") as err:
            deploy(wh, bad)
        assert "2 statement(s) before it were applied" in str(err.value)
        assert wh.execute(f"SELECT count(*) FROM {NS}.x").scalar() == 0  # applied part stays


def test_undefined_template_variable_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "010.sql").write_text("SELECT {{ nope }};")
    with pytest.raises(TemplateError, match="nope"):
        render_all(tmp_path, template_variables(Settings()))


@pytest.mark.parametrize(
    "override",
    [
        pytest.param({"schema": "x; DROP TABLE y"}, id="injection"),
        pytest.param({"database": "1abc"}, id="leading-digit"),
        pytest.param({"warehouse": 'a"b'}, id="quote"),
        pytest.param({"task_schedule": "every minute"}, id="schedule"),
        pytest.param({"target_lag": "DOWNSTREAM"}, id="downstream-leaf"),
        pytest.param({"target_lag": "10 seconds"}, id="lag-too-short"),
    ],
)
def test_invalid_variables_are_rejected(override: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        scripts(**override)


def test_rendered_sql_avoids_the_known_traps() -> None:
    text = "\n".join(st.sql for s in scripts() for st in s.statements).upper()
    assert "OR REPLACE" not in text
    assert "WHEN SYSTEM$STREAM_HAS_DATA('MOVIECDC.CDC.MOVIE_BOOKINGS_STREAM')" in text
    insights = next(s for s in scripts() if s.name.startswith("070")).sql.upper()
    assert "TARGET_LAG = '2 MINUTES'" in insights
    filtered = next(s for s in scripts() if s.name.startswith("060")).sql.upper()
    assert "TARGET_LAG = DOWNSTREAM" in filtered


def test_teardown_drops_everything_deploy_created(pipeline: LocalWarehouse) -> None:
    kinds = [o.kind for o in created_objects(scripts())]
    assert kinds == ["TABLE", "TABLE", "STREAM", "TABLE", "TASK", "DYNAMIC TABLE", "DYNAMIC TABLE"]
    teardown(pipeline, scripts())
    for show in ("STREAMS", "TASKS", "DYNAMIC TABLES"):
        assert pipeline.execute(f"SHOW {show} IN SCHEMA {NS}").rows == []
    assert not pipeline.engine.table_exists(("CDC", "RAW_MOVIE_BOOKINGS"))
    con = pipeline.engine.con  # nor any storage, change log, group state or index behind them
    left = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE schema_name = '_moviecdc' AND regexp_matches(table_name, '^(t[0-9]+|dt_)')"
    ).fetchall()
    assert left == []
    assert con.execute("SELECT count(*) FROM duckdb_indexes()").fetchone() == (0,)
    deploy(pipeline, scripts())  # and it can be deployed again from scratch


def test_deploy_statement_sequence_is_the_rendered_sql() -> None:
    wh = RecordingWarehouse("snowflake")
    rendered = scripts()
    deploy(wh, rendered)
    assert [sql for sql, _ in wh.statements] == [s.sql for script in rendered for s in script.statements]
    assert wh.statements[0][0].startswith("CREATE SCHEMA IF NOT EXISTS")
