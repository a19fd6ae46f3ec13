"""The command line, end to end on a temporary local database (CliRunner)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from moviecdc.cli import cli, main
from moviecdc.config import Settings
from moviecdc.deploy import created_objects
from moviecdc.render import render_all, template_variables

COMMANDS = ["deploy", "lint", "simulate", "run", "status", "sql", "dashboard", "teardown"]


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MOVIECDC_DB": str(tmp_path / "db.duckdb"), "MOVIECDC_TARGET": "local"}


def run(
    args: list[str],
    env: dict[str, str],
    capsys: pytest.CaptureFixture[str],
    *,
    input: str | None = None,
) -> tuple[int, str, str]:
    """Run main() as the console script does: exit code, stdout, stderr."""
    import os

    old = dict(os.environ)
    os.environ.update(env)
    try:
        with pytest.raises(SystemExit) as exc:
            main(args)
    finally:
        os.environ.clear()
        os.environ.update(old)
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_cli_surface_matches_the_contract() -> None:
    assert sorted(cli.commands) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0 and "Usage:" in result.output
    assert cli.commands[command].help


def test_readme_documents_every_command() -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    for command in COMMANDS:
        assert f"moviecdc {command}" in readme


def test_main_job_end_to_end(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy"], env, capsys)[0] == 0
    assert run(["simulate", "--sample"], env, capsys)[0] == 0
    code, out, _ = run(["simulate", "--changes", "300", "--seed", "3", "--json"], env, capsys)
    assert code == 0 and json.loads(out)["total_changes"] == 300
    code, out, _ = run(["run", "--once"], env, capsys)
    assert code == 0 and "SUCCEEDED" in out
    code, out, _ = run(["status", "--json"], env, capsys)
    report = json.loads(out)
    assert code == 0 and report["health"] == "OK"
    assert set(report) == {"target", "namespace", "generated_at", "health", "source", "streams",
                           "tasks", "events", "dynamic_tables", "findings", "notes", "missing"}  # fmt: skip
    assert report["streams"][0]["pending_changes"] == 0
    code, out, _ = run(
        [
            "sql",
            "-q",
            "SELECT SUM(total_bookings) AS n FROM movie_booking_insights",
            "--format",
            "json",
        ],
        env,
        capsys,
    )
    insights_total = json.loads(out)[0]["N"]  # an unquoted alias is named in upper case, as in Snowflake
    code, out, _ = run(
        ["sql", "-q", "SELECT COUNT(*) AS n FROM raw_movie_bookings", "--format", "csv"],
        env,
        capsys,
    )
    assert out.splitlines() == ["N", str(insights_total)]
    assert run(["status", "--check"], env, capsys)[0] == 0


def test_status_check_fails_when_the_task_is_suspended(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run(["deploy"], env, capsys)
    run(["sql", "-q", "ALTER TASK consume_stream_task SUSPEND"], env, capsys)
    code, out, _ = run(["status", "--check"], env, capsys)
    assert code == 1 and "task is suspended" in out


def test_same_seed_same_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = []
    for name in ("a", "b"):
        env = {"MOVIECDC_DB": str(tmp_path / f"{name}.duckdb")}
        run(["deploy"], env, capsys)
        run(["simulate", "--sample", "--changes", "200", "--seed", "42"], env, capsys)
        code, out, _ = run(["sql", "-q", "SELECT booking_id, status, ticket_count, ticket_price, movie_id"
                            " FROM raw_movie_bookings ORDER BY 1, 2, 3, 4, 5", "--format", "csv"], env, capsys)  # fmt: skip
        tables.append(out)
    assert tables[0] == tables[1] and len(tables[0].splitlines()) > 100


def test_snowflake_dry_run_needs_no_account(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["--target", "snowflake", "deploy", "--dry-run"], env, capsys)
    assert code == 0, err
    statements = [s for s in out.split(";") if s.strip()]
    assert not any("OR REPLACE" in s.upper() and not s.strip().startswith("--") for s in statements)
    assert "WHEN SYSTEM$STREAM_HAS_DATA(" in out
    assert "TARGET_LAG = '2 minutes'" in out and "TARGET_LAG = DOWNSTREAM" in out


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        pytest.param(["--target", "nowhere", "status"], 2, "nowhere", id="unknown-target"),
        pytest.param(["deploy", "--var", "schema=x; DROP TABLE y"], 3, "invalid schema", id="injection"),
        pytest.param(["deploy", "--var", "novalue"], 3, "KEY=VALUE", id="malformed-var"),
        pytest.param(["simulate", "--changes", "-5"], 2, "-5", id="negative-count"),
        pytest.param(["simulate"], 2, "nothing to do", id="nothing-to-do"),
        pytest.param(["sql", "-q", "SELECT * FROM no_such_table"], 1, "no_such_table", id="bad-sql"),
        pytest.param(["sql"], 2, "exactly one", id="sql-no-input"),
        pytest.param(["--target", "snowflake", "status"], 3, "SNOWFLAKE_ACCOUNT", id="missing-account"),
        pytest.param(["run", "--interval", "0"], 2, "interval", id="bad-interval"),
    ],
)
def test_user_errors_are_one_line_with_the_documented_exit_code(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], args: list[str], code: int, needle: str
) -> None:
    if args[0] == "sql":
        assert run(["deploy"], env, capsys)[0] == 0
    got, out, err = run(args, env, capsys)
    assert got == code
    assert needle.lower() in err.lower()
    assert "Traceback" not in err
    if code != 2:  # click's usage errors print the usage line too
        assert len(err.strip().splitlines()) == 1


def test_verbose_shows_the_traceback(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run(["deploy"], env, capsys)
    code, _, err = run(["-v", "sql", "-q", "SELECT * FROM no_such_table"], env, capsys)
    assert code == 1 and "Traceback" in err


def test_bad_env_file_is_reported(tmp_path: Path, env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.env"
    bad.write_text("GOOD=1\nthis is not a setting\n")
    code, _, err = run(["--env-file", str(bad), "status"], env, capsys)
    assert code == 3 and ":2" in err


def test_teardown_without_yes_refuses_without_a_terminal(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    run(["deploy"], env, capsys)
    code, _, err = run(["teardown"], env, capsys)
    assert code == 2 and "--yes" in err
    code, out, _ = run(["teardown", "--yes"], env, capsys)
    # every object the templates create, and the deploy history table
    dropped = len(created_objects(render_all(None, template_variables(Settings(), {})))) + 1
    assert code == 0 and f"Dropped {dropped} objects" in out


def test_python_dash_m_works() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "moviecdc", "--help"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "deploy" in proc.stdout


def test_ci_runs_the_readme_quickstart_commands() -> None:
    root = Path(__file__).parents[1]
    readme = (root / "README.md").read_text()
    ci = (root / ".ci" / "run").read_text()
    blocks = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:3]]
    assert len(blocks) == 2 and all(b.count("\n") == 0 for b in blocks)
    for command in blocks:
        assert command in ci.splitlines()


def test_simulate_before_deploy_says_what_to_do(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["simulate", "--sample"], env, capsys)
    assert code == 3 and "moviecdc deploy" in err and err.count("\n") == 1
    assert not Path(env["MOVIECDC_DB"]).exists()


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--sample"],
        ["run", "--once"],
        ["run"],
        ["sql", "-q", "SELECT 1"],
        ["status"],
        ["teardown", "--yes"],
    ],
)
def test_only_deploy_creates_the_local_database(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    """A mistyped MOVIECDC_DB is refused in one line, never a new empty database."""
    code, out, err = run(args, env, capsys)
    assert code == 3 and "no local database at" in err and err.count("\n") == 1
    assert not Path(env["MOVIECDC_DB"]).exists()


def test_status_check_fails_on_a_failure(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run(["deploy"], env, capsys)
    run(["sql", "-q", "ALTER DYNAMIC TABLE movie_booking_insights SET TARGET_LAG = DOWNSTREAM"], env, capsys)
    code, out, _ = run(["status", "--check", "--json"], env, capsys)
    assert code == 1 and json.loads(out)["health"] == "FAIL"


def test_status_watch_redraws_until_interrupted(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    run(["deploy"], env, capsys)
    proc = subprocess.Popen([sys.executable, "-m", "moviecdc", "status", "--watch", "1"], env={**os.environ, **env},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert proc.stdout is not None
    seen, deadline = 0, time.monotonic() + 60
    while seen < 2 and time.monotonic() < deadline:  # two redraws, however slow the machine
        line = proc.stdout.readline()
        seen += line.startswith("moviecdc status: local")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert seen == 2


def test_run_once_exits_1_when_a_step_fails(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run(["deploy"], env, capsys)
    run(["simulate", "--sample"], env, capsys)
    run(["sql", "-q", "DROP TABLE movie_booking_cdc_events"], env, capsys)  # the task's INSERT now fails
    code, out, err = run(["run", "--once"], env, capsys)
    assert code == 1 and "FAILED" in out and err.count("\n") == 1 and "did not complete" in err


def _strict(text: str) -> object:
    def refuse(token: str) -> None:
        raise ValueError(f"not JSON: {token}")

    return json.loads(text, parse_constant=refuse)


def test_json_output_is_strict_json(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    run(["deploy"], env, capsys)
    sql = "SELECT 'NaN'::FLOAT AS a, 'inf'::FLOAT AS b, '-inf'::FLOAT AS c, 1.5::FLOAT AS d"
    code, out, _ = run(["sql", "-q", sql, "--format", "json"], env, capsys)
    assert code == 0
    assert _strict(out) == [{"A": "NaN", "B": "Infinity", "C": "-Infinity", "D": 1.5}]
    for args in (["status", "--json"], ["lint", "--json"], ["simulate", "--sample", "--json"]):
        code, out, _ = run(args, env, capsys)
        assert code in (0, 1) and _strict(out) is not None


@pytest.mark.parametrize(
    "args",
    [
        ["simulate", "--rate", "5", "--duration", "nan"],
        ["simulate", "--rate", "5", "--duration", "inf"],
        ["run", "--interval", "nan"],
        ["status", "--watch", "nan"],
        ["simulate", "--changes", "5", "--mix", "insert=nan"],
        ["simulate", "--changes", "5", "--mix", "insert=inf,update=1"],
        ["simulate", "--changes", "5", "--mix", "insert=-1"],
        ["simulate", "--bogus"],
        ["no-such-command"],
    ],
)
def test_bad_option_values_are_one_line_usage_errors(
    env: dict[str, str], capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(args, env, capsys)
    assert code in (2, 3) and err.count("\n") == 1 and err.startswith("Error: ") and "unexpected" not in err


def test_an_overflowing_mix_keeps_its_proportions(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    from moviecdc.simulate.session import parse_mix

    assert parse_mix("insert=1e308,update=1e308") == {"insert": 0.5, "update": 0.5}
    run(["deploy"], env, capsys)
    code, out, _ = run(["simulate", "--changes", "200", "--seed", "1", "--mix", "insert=1e308,update=1e308",
                        "--json"], env, capsys)  # fmt: skip
    kinds = json.loads(out)["changes"]
    assert code == 0 and kinds["insert"] > 0 and kinds["update"] > 0
    assert sum(v for k, v in kinds.items() if k not in ("insert", "update")) == 0
