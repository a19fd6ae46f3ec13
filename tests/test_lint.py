"""`moviecdc lint`: every trap of the original design is found; none in sql/."""

from __future__ import annotations

import json
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
        pytest.param("CREATE TASK k AS DELETE FROM t WHERE METADATA$ACTION = 'UPDATE'", "MC005", id="update-action"),
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
