"""`moviecdc lint`: every trap of the original design is found; none in sql/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from moviecdc.config import Settings
from moviecdc.lint import CODES, lint_scripts
from moviecdc.render import render_all, template_variables
from tests.test_cli import run

ORIGINAL = Path(__file__).parent / "fixtures" / "original_design"


def lint(sql_dir: Path | None) -> list[tuple[str, int, str]]:
    scripts = render_all(sql_dir, template_variables(Settings()))
    return [(f.script, f.line, f.code) for f in lint_scripts(scripts)]


def test_lint_finds_every_trap_in_the_original_design() -> None:
    found = lint(ORIGINAL)
    assert {code for _, _, code in found} == set(CODES) - {"MC000"}
    assert ("010_tables.sql", 2, "MC001") in found  # OR REPLACE on the stream's source
    assert ("010_tables.sql", 10, "MC001") in found  # OR REPLACE on the stream
    assert ("010_tables.sql", 12, "MC001") in found  # OR REPLACE on the events table
    assert ("020_task.sql", 1, "MC002") in found
    assert ("030_dynamic_tables.sql", 1, "MC004") in found  # CURRENT_TIMESTAMP in the filtered table
    assert ("030_dynamic_tables.sql", 14, "MC003") in found  # DOWNSTREAM leaf
    assert ("030_dynamic_tables.sql", 14, "MC005") in found  # change_action = 'UPDATE'
    assert ("030_dynamic_tables.sql", 14, "MC006") in found  # SUM over raw events


def test_lint_finds_nothing_in_the_shipped_templates() -> None:
    assert lint(None) == []


def test_lint_finds_nothing_in_the_scheduled_variant() -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/create-task: the scheduled variant
    keeps the WHEN SYSTEM$STREAM_HAS_DATA guard, so a run with an empty stream is skipped."""
    scripts = render_all(None, template_variables(Settings(), {"task_mode": "scheduled"}))
    assert lint_scripts(scripts) == []


@pytest.mark.parametrize(
    ("sql", "code"),
    [
        pytest.param("CREATE OR REPLACE STREAM s ON TABLE t", "MC001", id="replace-stream"),
        pytest.param("CREATE OR REPLACE STREAM s ON TABLE t AT (STREAM => 's')", None, id="replace-keeping-offset"),
        pytest.param("CREATE TASK k SCHEDULE = '1 MINUTE' AS INSERT INTO e SELECT * FROM s", "MC002", id="no-guard"),
        pytest.param(
            "CREATE TASK k SCHEDULE = '1 MINUTE' WHEN SYSTEM$STREAM_HAS_DATA('s') AS INSERT INTO e SELECT * FROM s",
            None,
            id="guarded",
        ),
        pytest.param(
            "CREATE TASK k SCHEDULE = '1 MINUTE' AS DELETE FROM t WHERE METADATA$ACTION = 'UPDATE'",
            "MC005",
            id="update-action",
        ),
        pytest.param(
            "CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = w AS SELECT RANDOM() AS r FROM t",
            "MC004",
            id="random",
        ),
        pytest.param(
            "CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = w AS SELECT a FROM t WHERE"
            " updated_at > CURRENT_TIMESTAMP()",
            None,
            id="time-in-where-is-fine",
        ),
    ],
)
def test_lint_checks_one_statement(tmp_path: Path, sql: str, code: str | None) -> None:
    (tmp_path / "010.sql").write_text(
        f"CREATE TABLE IF NOT EXISTS t (a INT);\nCREATE STREAM IF NOT EXISTS s ON TABLE t;\n{sql};\n"
    )
    codes = {c for _, _, c in lint(tmp_path)}
    assert codes == ({code} if code else set())


@pytest.mark.parametrize(
    ("task", "message"),
    [
        pytest.param("WAREHOUSE = w WHEN SYSTEM$STREAM_HAS_DATA('db.sch.s') AS INSERT INTO e SELECT * FROM s",
                     None, id="triggered-on-a-warehouse"),
        pytest.param("TARGET_COMPLETION_INTERVAL = '5 MINUTES' WHEN SYSTEM$STREAM_HAS_DATA('s')"
                     " AS INSERT INTO e SELECT * FROM s", None, id="serverless-triggered"),
        pytest.param("WHEN SYSTEM$STREAM_HAS_DATA('s') AS INSERT INTO e SELECT * FROM s",
                     "serverless triggered task .* without TARGET_COMPLETION_INTERVAL", id="serverless-no-interval"),
        pytest.param("WAREHOUSE = w AS INSERT INTO e SELECT * FROM s", "never runs on its own", id="never-runs"),
        pytest.param("WAREHOUSE = w WHEN 1 = 1 AS INSERT INTO e SELECT * FROM s", "never runs", id="when-not-a-stream"),
        pytest.param("WAREHOUSE = w AS SELECT 1", "never runs on its own", id="never-runs-no-stream"),
        pytest.param("WAREHOUSE = w WHEN SYSTEM$STREAM_HAS_DATA('other') AS INSERT INTO e SELECT * FROM s",
                     "its WHEN checks OTHER: it is triggered by changes", id="triggered-by-another-stream"),
        pytest.param("WAREHOUSE = w SCHEDULE = '1 MINUTE' WHEN SYSTEM$STREAM_HAS_DATA('other')"
                     " AS INSERT INTO e SELECT * FROM s", "its WHEN checks OTHER", id="scheduled-guard-on-another"),
        pytest.param("WAREHOUSE = w AFTER root AS INSERT INTO e SELECT * FROM s", "wakes a warehouse", id="child"),
        pytest.param("WAREHOUSE = w AFTER root AS SELECT 1", None, id="child-not-reading-a-stream"),
    ],
)  # fmt: skip
def test_lint_mc002_knows_triggered_tasks(tmp_path: Path, task: str, message: str | None) -> None:
    """https://docs.snowflake.com/en/user-guide/tasks-triggered: a task without SCHEDULE runs
    when a stream of its WHEN has data, on its WAREHOUSE or, serverless, with the
    TARGET_COMPLETION_INTERVAL Snowflake requires then; a task with neither a schedule, a
    stream WHEN nor a predecessor (https://docs.snowflake.com/en/sql-reference/sql/create-task)
    is run only by EXECUTE TASK."""
    (tmp_path / "010.sql").write_text(
        f"CREATE TABLE IF NOT EXISTS t (a INT);\nCREATE STREAM IF NOT EXISTS s ON TABLE t;\nCREATE TASK k {task};\n"
    )
    found = lint_scripts(render_all(tmp_path, template_variables(Settings())))
    assert [f.code for f in found] == (["MC002"] if message else []), found
    if message:
        assert re.search(message, found[0].message), found[0].message


def test_lint_cli_exit_codes_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"MOVIECDC_DB": str(tmp_path / "x.duckdb")}
    assert run(["lint"], env, capsys)[0] == 0
    code, out, _ = run(["lint", "--sql-dir", str(ORIGINAL), "--json"], env, capsys)
    assert code == 1 and {f["code"] for f in json.loads(out)} == set(CODES) - {"MC000"}


def test_deploy_refuses_a_trap_unless_forced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env = {"MOVIECDC_DB": str(tmp_path / "x.duckdb")}
    code, _, err = run(["deploy", "--sql-dir", str(ORIGINAL)], env, capsys)
    assert code == 1 and "nothing was deployed" in err and "MC003" in err
    assert not Path(env["MOVIECDC_DB"]).exists()  # nothing deployed, not even an empty database
    code, _, err = run(["deploy", "--sql-dir", str(ORIGINAL), "--force"], env, capsys)
    assert code == 0 and "warning:" in err
