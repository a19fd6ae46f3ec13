"""Security tests: nothing runs that the user did not mean.

- templates render in Jinja's sandbox: a template cannot reach Python internals;
- the local engine runs Snowflake's SQL only: DuckDB's statements and functions that
  reach files, extensions, settings or the engine's own storage are refused in one line,
  and the connection itself has no file access even if one slipped through;
- names are checked before anything changes, and quoted names stay quoted.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb
import pytest

from moviecdc.config import Settings
from moviecdc.deploy import teardown_statements
from moviecdc.emulator.engine import Engine
from moviecdc.errors import ConfigError, SqlError, TemplateError, UnsupportedSqlError
from moviecdc.render import render_all, template_dir, template_variables
from tests.test_cli import run

ATTACK = "-- {{ cycler.__init__.__globals__.os.system('touch %s') }}\n"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MOVIECDC_DB": str(tmp_path / "db.duckdb"), "MOVIECDC_TARGET": "local"}


@pytest.fixture
def evil_templates(tmp_path: Path) -> tuple[Path, Path]:
    """The shipped templates with the attack appended to the first one; and the file it would create."""
    own = tmp_path / "sql"
    shutil.copytree(template_dir(), own, ignore=shutil.ignore_patterns("__*"))
    marker = tmp_path / "pwned"
    first = sorted(own.glob("*.sql"))[0]
    first.write_text(first.read_text() + ATTACK % marker)
    return own, marker


@pytest.mark.parametrize("command", [["lint"], ["deploy", "--dry-run"], ["deploy"], ["teardown", "--yes"]])
def test_security_a_template_cannot_run_a_shell_command(
    command: list[str], evil_templates: tuple[Path, Path], env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    sql_dir, marker = evil_templates
    code, out, err = run([*command, "--sql-dir", str(sql_dir)], env, capsys)
    assert not marker.exists()
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and "refused by the template sandbox" in err and "Traceback" not in err
    assert not Path(env["MOVIECDC_DB"]).exists()  # refused before connecting


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ lipsum.__globals__['os'].popen('id').read() }}",
        "{{ self._TemplateReference__context }}",
        "{{ namespace.__init__.__globals__ }}",
    ],
)
def test_security_templates_cannot_reach_python_internals(template: str, tmp_path: Path) -> None:
    (tmp_path / "010_x.sql").write_text(f"SELECT 1 {template};\n")
    with pytest.raises(TemplateError) as exc:
        render_all(tmp_path, template_variables(Settings()))
    assert "refused by the template sandbox" in exc.value.message


def test_templates_still_render_what_jinja_is_for(tmp_path: Path) -> None:
    (tmp_path / "010_x.sql").write_text(
        "{% for m in movies[:2] %}SELECT {{ m.movie_id | literal }} AS id{{ loop.index }};\n{% endfor %}"
        "SELECT '{{ ns | lower }}' AS ns;\n"
    )
    sql = render_all(tmp_path, template_variables(Settings()))[0].sql
    assert "SELECT 'M001' AS id1;" in sql and "'moviecdc.cdc'" in sql


# ---------------------------------------------------------------- the local engine's SQL surface
@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "secret.csv"
    path.write_text("token\ns3cr3t-value\n")
    return path


FILE_ACCESS = [
    "SELECT * FROM read_csv('{secret}')",
    "SELECT * FROM read_csv_auto('{secret}')",
    "SELECT * FROM read_text('{secret}')",
    "SELECT * FROM read_blob('{secret}')",
    "SELECT * FROM read_parquet('{secret}')",
    "SELECT * FROM read_json('{secret}')",
    "SELECT * FROM sniff_csv('{secret}')",
    "SELECT * FROM glob('{dir}/*')",
    "SELECT * FROM '{secret}'",
    "SELECT count(*) FROM (SELECT * FROM read_csv('{secret}'))",
    "CREATE TABLE stolen AS SELECT * FROM read_csv('{secret}')",
    "INSERT INTO t SELECT * FROM read_csv('{secret}')",
    "COPY (SELECT 1) TO '{dir}/out.csv'",
    "COPY t TO '{dir}/out.csv'",
    "COPY t FROM '{secret}'",
    "ATTACH '{dir}/other.duckdb' AS other",
    "EXPORT DATABASE '{dir}/dump'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "PRAGMA version",
    "PRAGMA database_list",
    "SET memory_limit = '1GB'",
    "SET enable_external_access = true",
    "RESET memory_limit",
    "CHECKPOINT",
    "SELECT current_setting('memory_limit')",
    "SELECT * FROM duckdb_settings()",
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM query('SELECT 42')",
    "SELECT * FROM query_table('t')",
    "SELECT json_execute_serialized_sql(json_serialize_sql('SELECT 1'))",
    "SELECT * FROM pg_catalog.pg_tables",
    "SELECT * FROM _moviecdc.objects",
    "DELETE FROM _moviecdc.objects",
    "DROP TABLE _moviecdc.meta",
    "SELECT * FROM range(3)",
    "SELECT * FROM __mcdc_obj_0__",
]


@pytest.mark.parametrize("statement", FILE_ACCESS)
def test_security_local_sql_cannot_reach_files_settings_or_engine_storage(
    statement: str, secret: Path, tmp_path: Path
) -> None:
    sql = statement.format(secret=secret, dir=tmp_path)
    engine = Engine(tmp_path / "db.duckdb")
    try:
        engine.execute("CREATE TABLE t (token STRING)")
        with pytest.raises(SqlError) as exc:
            engine.execute(sql)
        assert "\n" not in exc.value.message and "s3cr3t" not in exc.value.message
        assert engine.execute("SELECT count(*) FROM t").scalar() == 0
        assert engine.execute("SHOW TABLES").dicts()[0]["name"] == "T"
        assert len(engine.execute("SHOW TABLES").rows) == 1
    finally:
        engine.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["db.duckdb", "secret.csv"]  # no file written


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("PRAGMA version", "PRAGMA"),
        ("INSTALL httpfs", "INSTALL"),
        ("SET memory_limit = '1GB'", "SET"),
        ("SELECT current_setting('threads')", "CURRENT_SETTING"),
        ("SELECT * FROM read_csv('/etc/passwd')", "READ_CSV"),
        ("SELECT * FROM '/etc/passwd'", "/etc/passwd"),
        ("SELECT * FROM _moviecdc.objects", "_moviecdc"),
        ("CHECKPOINT", "CHECKPOINT"),
        ("ATTACH '/tmp/other.duckdb' AS other", "ATTACH"),
        ("EXPORT DATABASE '/tmp/dump'", "EXPORT"),
        ("CREATE FUNCTION f(a INT) RETURNS INT AS 'a * 2'", "CREATE FUNCTION"),
        ("CREATE MACRO m(a) AS a", "CREATE MACRO"),
    ],
)
def test_refusals_name_the_construct(engine: Engine, statement: str, named: str) -> None:
    with pytest.raises(UnsupportedSqlError) as exc:
        engine.execute(statement)
    assert named in exc.value.message


def test_security_the_connection_has_no_file_access_even_past_the_sql_check(engine: Engine, secret: Path) -> None:
    """Defence in depth: DuckDB's own external access is off on the engine's connection."""
    with pytest.raises(duckdb.PermissionException):
        engine.con.execute(f"SELECT * FROM read_csv('{secret}')")
    with pytest.raises(duckdb.Error):
        engine.con.execute("SET enable_external_access = true")


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("PUT file:///tmp/x.csv @my_stage", "PUT"),
        ("GET @my_stage file:///tmp/", "GET"),
        ("LIST @my_stage", "LIST"),
        ("REMOVE @my_stage", "REMOVE"),
        ("COPY INTO t FROM @my_stage", "COPY"),
        ("COPY INTO @my_stage FROM t", "COPY"),
        ("CREATE STAGE my_stage", "CREATE STAGE"),
        ("CREATE OR REPLACE FILE FORMAT ff TYPE = CSV", "CREATE FILE FORMAT"),
        ("CREATE PIPE p AS COPY INTO t FROM @my_stage", "CREATE PIPE"),
        ("CREATE EXTERNAL TABLE e (a INT) LOCATION = @my_stage", "CREATE EXTERNAL TABLE"),
        ("SELECT $1 FROM @my_stage", "stage @my_stage"),
        ("UNDROP TABLE t", "UNDROP"),
    ],
)
def test_snowflake_file_statements_are_refused_by_name(engine: Engine, statement: str, named: str) -> None:
    with pytest.raises(UnsupportedSqlError) as exc:
        engine.execute(statement)
    assert named in exc.value.message and "\n" not in exc.value.message


def test_snowflake_sql_still_runs(engine: Engine) -> None:
    """The surface check refuses DuckDB's extras, not Snowflake's own forms."""
    engine.execute("CREATE TABLE t (id INT, v VARIANT)")
    engine.execute("INSERT INTO t SELECT SEQ4(), PARSE_JSON('{\"a\": [1, 2]}') FROM TABLE(GENERATOR(ROWCOUNT => 3))")
    assert engine.execute("SELECT count(*) FROM t, LATERAL FLATTEN(input => t.v:a)").scalar() == 6
    assert engine.execute("SELECT count(*) FROM TABLE(FLATTEN(input => PARSE_JSON('[1, 2, 3]')))").scalar() == 3
    assert engine.execute("SELECT count(*) FROM IDENTIFIER('t')").scalar() == 3
    assert engine.execute("SELECT max(id) FROM t").scalar() == 2
    with pytest.raises(UnsupportedSqlError, match="ROWCOUNT"):
        engine.execute("SELECT 1 FROM TABLE(GENERATOR(TIMELIMIT => 1))")


# ---------------------------------------------------------------- names
@pytest.mark.parametrize(
    ("var", "says"),
    [
        ("schema=temp", "reserved"),
        ('schema="TEMP"', "reserved"),
        ("schema=information_schema", "reserved"),
        ("schema=_moviecdc", "reserved"),
        ('schema="_moviecdc"', "reserved"),
        ("schema=pg_catalog", "reserved"),
        ("database=snowflake", "reserved"),
        ("schema=select", "reserved word"),
        ("schema=table", "reserved word"),
        ("warehouse=from", "reserved word"),
        ("shema=TEST", "did you mean schema?"),
        ("target_lga=5 minutes", "did you mean target_lag?"),
        ("ns=X.Y", "derived"),
    ],
)
@pytest.mark.parametrize("command", [["deploy"], ["teardown", "--yes"]])
def test_names_are_checked_before_anything_changes(
    command: list[str], var: str, says: str, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run([*command, "--var", var], env, capsys)
    assert code == 3 and out == ""  # a configuration problem
    assert err.count("\n") == 1 and says in err and "unexpected" not in err
    assert not Path(env["MOVIECDC_DB"]).exists()


def test_a_quoted_reserved_word_and_a_user_template_variable_are_accepted(tmp_path: Path) -> None:
    own = tmp_path / "sql"
    own.mkdir()
    (own / "010_x.sql").write_text("SELECT '{{ region }}' AS region FROM {{ ns }}.t;\n")
    variables = template_variables(Settings(), {"schema": '"select"', "region": "eu"}, sql_dir=own, check_names=True)
    assert render_all(own, variables)[0].sql == "SELECT 'eu' AS region FROM MOVIECDC.\"select\".t;\n"
    with pytest.raises(ConfigError, match="did you mean region"):
        template_variables(Settings(), {"regoin": "eu"}, sql_dir=own, check_names=True)


def test_teardown_of_a_quoted_schema_keeps_every_name_quoted() -> None:
    """On Snowflake MOVIECDC.cdc.X names schema CDC: an unquoted teardown of "cdc" would drop another schema's objects."""
    scripts = render_all(None, template_variables(Settings(), {"schema": '"cdc"'}))
    stmts = teardown_statements(scripts)
    assert len(stmts) == 8  # a suspend and seven drops (the history table is dropped apart)
    assert all('MOVIECDC."cdc".' in s for s in stmts), stmts


def test_a_quoted_schema_round_trips_through_the_cli(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy", "--var", 'schema="cdc"'], env, capsys)[0] == 0
    quoted = {**env, "SNOWFLAKE_SCHEMA": '"cdc"'}
    assert run(["simulate", "--sample", "--changes", "20", "--seed", "3"], quoted, capsys)[0] == 0
    assert run(["run", "--once"], quoted, capsys)[0] == 0
    code, out, _ = run(["sql", "-q", 'SELECT count(*) FROM "cdc".movie_booking_cdc_events', "--format", "csv"],
                       env, capsys)  # fmt: skip
    assert code == 0 and int(out.splitlines()[1]) > 0
    # the default schema CDC is not "cdc": the engine does not resolve one to the other
    code, _, err = run(["sql", "-q", "SELECT count(*) FROM CDC.movie_booking_cdc_events"], env, capsys)
    assert code != 0 and "does not exist" in err
    code, out, _ = run(["teardown", "--yes", "--var", 'schema="cdc"'], env, capsys)
    assert code == 0 and 'Dropped 8 objects from MOVIECDC."cdc".' in out


def test_var_schema_is_where_deploy_plans_records_and_reports(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["deploy", "--var", "schema=TEST"], env, capsys)
    assert code == 0 and "MOVIECDC.TEST:" in out
    code, out, err = run(["deploy", "--var", "schema=TEST"], env, capsys)
    assert code == 0 and "unchanged" in err and "1 of 10 scripts applied" in out  # history read from TEST
    code, out, _ = run(["sql", "-q", "SELECT count(*) FROM TEST.MOVIECDC_DEPLOY_HISTORY", "--format", "csv"],
                       env, capsys)  # fmt: skip
    assert int(out.splitlines()[1]) == 13  # 10 + 1 scripts, and each deploy's own row
    code, _, err = run(["sql", "-q", "SELECT count(*) FROM CDC.MOVIECDC_DEPLOY_HISTORY"], env, capsys)
    assert code != 0  # nothing recorded in the settings' schema


def test_teardown_counts_what_it_really_dropped(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["deploy"], env, capsys)[0] == 0
    code, out, _ = run(["teardown", "--yes"], env, capsys)
    assert code == 0 and out.strip() == "Dropped 8 objects from MOVIECDC.CDC."
    code, out, _ = run(["teardown", "--yes"], env, capsys)
    assert code == 0 and out.strip() == "Dropped 0 objects from MOVIECDC.CDC (8 already gone)."


# ---------------------------------------------------------------- Snowflake's integer range
@pytest.mark.parametrize("type_name", ["INT", "INTEGER", "BIGINT", "SMALLINT", "TINYINT", "BYTEINT", "NUMBER",
                                       "NUMBER(38, 0)", "DECIMAL", "NUMERIC"])  # fmt: skip
def test_integers_hold_38_digits_like_snowflakes_number(engine: Engine, type_name: str) -> None:
    big = 10**38 - 1
    engine.execute(f"CREATE TABLE n (v {type_name})")
    engine.execute("INSERT INTO n VALUES (?), (?), (3000000000)", [big, -big])
    rows = engine.execute("SELECT v FROM n ORDER BY v").rows
    assert rows == [(-big,), (3000000000,), (big,)]
    assert all(type(r[0]) is int for r in rows)  # the connector returns NUMBER(38, 0) as int
    assert engine.execute("DESCRIBE TABLE n").dicts()[0]["type"] == "NUMBER(38,0)"


def test_a_ticket_count_beyond_32_bits_flows_through_the_pipeline(pipeline: object) -> None:
    from moviecdc.emulator.scheduler import run_pending
    from tests.conftest import NS

    wh = pipeline
    wh.execute(  # type: ignore[attr-defined]
        f"INSERT INTO {NS}.raw_movie_bookings (booking_id, customer_id, movie_id, booking_date, status, ticket_count,"
        " ticket_price) VALUES ('B1', 'C1', 'M001', '2025-09-01 20:00:00', 'BOOKED', 3000000000, 1)"
    )
    run_pending(wh.engine, catch_up=True)  # type: ignore[attr-defined]
    events = wh.execute(f"SELECT ticket_count FROM {NS}.movie_booking_cdc_events").rows  # type: ignore[attr-defined]
    assert events == [(3000000000,)]


def test_dashboard_listens_on_loopback_unless_told(monkeypatch: pytest.MonkeyPatch) -> None:
    from moviecdc.dashboard import launch

    seen: list[list[str]] = []

    class Child:
        def __init__(self, cmd: list[str], env: dict[str, str]) -> None:
            seen.append(cmd)

        def wait(self, timeout: float | None = None) -> int:
            return 0

        def poll(self) -> int:
            return 0

    monkeypatch.setattr(launch.subprocess, "Popen", Child)
    assert launch.launch(Settings(), 8501) == 0
    assert launch.launch(Settings(), 8501, "0.0.0.0") == 0
    assert [cmd[cmd.index("--server.address") + 1] for cmd in seen] == ["127.0.0.1", "0.0.0.0"]
    with pytest.raises(ConfigError, match="not an IP address"):
        launch.launch(Settings(), 8501, "example.com; rm -rf /")


def test_the_environment_is_not_read_by_local_sql(engine: Engine) -> None:
    os.environ["MOVIECDC_TEST_SECRET"] = "hunter2"
    try:
        with pytest.raises(SqlError) as exc:
            engine.execute("SELECT getenv('MOVIECDC_TEST_SECRET')")
        assert "hunter2" not in exc.value.message
    finally:
        del os.environ["MOVIECDC_TEST_SECRET"]
