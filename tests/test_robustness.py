"""Bad input changes nothing, and secrets never reach any output."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from tests.test_cli import run

PASSWORD = "Pa55w0rd-sekret-9f2c"
PASSPHRASE = "key-passphrase-77d1"


def fingerprint(db: Path) -> str:
    """Every row of every user table, so 'changed nothing' can be checked."""
    from moviecdc.warehouse.local import LocalWarehouse

    with LocalWarehouse(db, read_only=True) as wh:
        con = wh.engine.con
        tables = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1, 2"
        ).fetchall()
        digest = hashlib.sha256()
        for schema, table in tables:
            rows = con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()
            digest.update(f"{schema}.{table}:{sorted(map(repr, rows))}".encode())
        return digest.hexdigest()


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A deployed, fed and caught-up database, built once and copied for each test."""
    from moviecdc.emulator.scheduler import run_pending
    from moviecdc.simulate.generator import ChangeGenerator, sample_bookings
    from moviecdc.simulate.runner import apply_changes, load_sample
    from moviecdc.warehouse.local import LocalWarehouse
    from tests.conftest import NS, deploy_pipeline

    db = tmp_path_factory.mktemp("robust") / "template.duckdb"
    with LocalWarehouse(db) as wh:
        deploy_pipeline(wh)
        load_sample(wh, NS)
        gen = ChangeGenerator(1)
        gen.known(sample_bookings())
        apply_changes(wh, NS, gen.changes(50))
        run_pending(wh.engine, catch_up=True)
    return db


@pytest.fixture(scope="module")
def template_fingerprint(template_db: Path) -> str:
    return fingerprint(template_db)


@pytest.fixture
def deployed(template_db: Path, tmp_path: Path) -> dict[str, str]:
    db = tmp_path / "db.duckdb"
    shutil.copy(template_db, db)
    return {"MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}


@pytest.mark.parametrize(
    ("args", "code"),
    [
        pytest.param(["simulate", "--changes", "-1"], 2, id="negative-changes"),
        pytest.param(["simulate", "--bookings", "1000000000000"], 2, id="absurd-bookings"),
        pytest.param(["simulate", "--changes", "5", "--mix", "insert=-1"], 3, id="negative-mix"),
        pytest.param(
            ["simulate", "--changes", "5", "--start", "2025-10-01", "--end", "2025-09-01"], 2, id="start-after-end"
        ),
        pytest.param(["--target", "mainframe", "status"], 2, id="unknown-target"),
        pytest.param(["deploy", "--var", "schema"], 3, id="malformed-var"),
        pytest.param(["deploy", "--var", "schema=x; DROP TABLE y"], 3, id="injection-schema"),
        pytest.param(["deploy", "--var", "database=a.b"], 3, id="dotted-database"),
        pytest.param(["deploy", "--var", "task_schedule=1 MINUTE'; DROP TABLE x; --"], 3, id="injection-schedule"),
        pytest.param(["deploy", "--var", "target_lag=5 seconds"], 3, id="lag-too-short"),
        pytest.param(["run", "--interval", "-3"], 2, id="negative-interval"),
        pytest.param(["status", "--history", "0"], 2, id="zero-history"),
        pytest.param(["sql", "-q", "DELETE FROM movie_booking_insights"], 1, id="dml-on-dynamic-table"),
        pytest.param(["sql", "-q", "SELEC 1"], 1, id="invalid-sql"),
        pytest.param(
            ["sql", "-q", "INSERT INTO raw_movie_bookings (booking_id) VALUES ('x', 'y')"], 1, id="bad-insert"
        ),
        pytest.param(["dashboard", "--port", "70000"], 2, id="bad-port"),
        pytest.param(["--target", "snowflake", "deploy"], 3, id="missing-snowflake-settings"),
    ],
)
def test_bad_input_is_one_line_with_its_code_and_changes_nothing(
    deployed: dict[str, str], template_fingerprint: str, capsys: pytest.CaptureFixture[str], args: list[str], code: int
) -> None:
    db = Path(deployed["MOVIECDC_DB"])
    before = template_fingerprint
    got, out, err = run(args, deployed, capsys)
    assert got == code, err
    assert "Traceback" not in err and err.strip()
    if code != 2:
        assert len(err.strip().splitlines()) == 1, err
    assert fingerprint(db) == before


def test_malformed_env_file(deployed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / "bad.env"
    env_file.write_text("MOVIECDC_TARGET=local\n=oops no key\n")
    before = fingerprint(Path(deployed["MOVIECDC_DB"]))
    code, _, err = run(["--env-file", str(env_file), "simulate", "--changes", "5"], deployed, capsys)
    assert code == 3 and "bad.env:2" in err
    assert fingerprint(Path(deployed["MOVIECDC_DB"])) == before


def test_template_with_invalid_sql_stops_before_changing_anything(
    deployed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    own = tmp_path / "sql"
    own.mkdir()
    (own / "010_bad.sql").write_text("CREATE TABLE {{ ns }}.x (a INT;\n")
    before = fingerprint(Path(deployed["MOVIECDC_DB"]))
    code, _, err = run(["deploy", "--sql-dir", str(own)], deployed, capsys)
    assert code == 1 and "010_bad.sql:1: MC000" in err and "nothing was deployed" in err
    assert fingerprint(Path(deployed["MOVIECDC_DB"])) == before


SECRET_ENV = {
    "SNOWFLAKE_ACCOUNT": "nowhere-acct.invalid",
    "SNOWFLAKE_USER": "deployer",
    "SNOWFLAKE_PASSWORD": PASSWORD,
    "SNOWFLAKE_PRIVATE_KEY_FILE_PWD": PASSPHRASE,
    "MOVIECDC_LOGIN_TIMEOUT": "1",
}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--target", "snowflake", "deploy", "--dry-run"], id="dry-run"),
        pytest.param(["-v", "--target", "snowflake", "deploy", "--dry-run"], id="dry-run-verbose"),
        pytest.param(["status", "--json"], id="status-json"),
        pytest.param(["-v", "status"], id="status-verbose"),
        pytest.param(["-v", "sql", "-q", "SELECT * FROM nope"], id="error-verbose"),
        pytest.param(["-v", "--target", "snowflake", "status"], id="unreachable-account-verbose"),
    ],
)
def test_secrets_never_reach_output(
    deployed: dict[str, str], capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, out, err = run(args, {**deployed, **SECRET_ENV}, capsys)
    for text in (out, err):
        assert PASSWORD not in text and PASSPHRASE not in text
    if "snowflake" in args and "--dry-run" not in args:
        assert code == 3 and "Traceback" not in err.split("\n")[0]


def test_busy_database_names_the_holder(deployed: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys

    from tests.test_dashboard import HOLD

    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, deployed["MOVIECDC_DB"]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        code, _, err = run(["sql", "-q", "SELECT 1"], {**deployed, "MOVIECDC_BUSY_TIMEOUT": "0.5"}, capsys)
    finally:
        holder.kill()
        holder.wait()
    assert code == 1 and f"process {holder.pid}" in err and "MOVIECDC_BUSY_TIMEOUT" in err
    assert len(err.strip().splitlines()) == 1


def test_a_reader_retries_a_file_a_writer_is_still_finishing(
    deployed: dict[str, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # a read-only open can find the file shorter than its header says while the last
    # writer finishes letting go of it: status waits and reads it again, like a held lock
    import duckdb

    from moviecdc.emulator.catalog import Catalog

    load = Catalog.load
    failures = [2]

    def flaky_load(self: Catalog) -> None:
        if self.read_only and failures[0]:
            failures[0] -= 1
            raise duckdb.IOException('IO Error: Could not read enough bytes from file "x.duckdb"')
        load(self)

    monkeypatch.setattr(Catalog, "load", flaky_load)
    code, out, err = run(["status"], deployed, capsys)
    assert code == 0 and failures == [0] and "raw_movie_bookings:" in out, err
    failures[0] = 10**6  # never readable: one clear line once the busy timeout passes
    code, _, err = run(["status"], {**deployed, "MOVIECDC_BUSY_TIMEOUT": "0.3"}, capsys)
    assert code != 0 and "cannot read local database" in err and len(err.strip().splitlines()) == 1


def _damage(kind: str, good: Path, target: Path) -> None:
    import duckdb

    if kind == "truncated":
        target.write_bytes(good.read_bytes()[:100_000])
    elif kind == "junk over a block":
        data = bytearray(good.read_bytes())
        data[4096 : 4096 + 16384] = bytes((i * 7919) % 256 for i in range(16384))
        target.write_bytes(bytes(data))
    elif kind == "not a DuckDB file":
        target.write_text("hello, not a database\n")
    elif kind == "foreign _moviecdc":
        con = duckdb.connect(str(target))
        con.execute("CREATE SCHEMA _moviecdc")
        con.execute("CREATE TABLE _moviecdc.objects (x INT)")
        con.close()
    elif kind == "unknown table in _moviecdc":
        shutil.copy(good, target)
        con = duckdb.connect(str(target))
        con.execute("CREATE TABLE _moviecdc.mine (x INT)")
        con.close()
    elif kind == "unreadable metadata":
        shutil.copy(good, target)
        con = duckdb.connect(str(target))
        con.execute("UPDATE _moviecdc.objects SET spec = '{not json' WHERE kind = 'STREAM'")
        con.close()


@pytest.mark.parametrize(
    "kind",
    ["truncated", "junk over a block", "not a DuckDB file", "foreign _moviecdc", "unknown table in _moviecdc",
     "unreadable metadata"],
)  # fmt: skip
@pytest.mark.parametrize(
    "args",
    [["status"], ["run", "--once"], ["deploy"]],  # a reader, a writer, and the one that may create
)
def test_a_damaged_or_foreign_file_is_named_in_one_line_and_left_untouched(
    deployed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str, args: list[str]
) -> None:
    bad = tmp_path / "bad.duckdb"
    _damage(kind, Path(deployed["MOVIECDC_DB"]), bad)
    before = hashlib.sha256(bad.read_bytes()).hexdigest()
    code, out, err = run(args, {**deployed, "MOVIECDC_DB": str(bad)}, capsys)
    assert code == 3 and out == ""
    assert err.count("\n") == 1 and str(bad) in err and "unexpected" not in err
    assert hashlib.sha256(bad.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("bad")) == ["bad.duckdb"]


def test_a_file_from_an_older_engine_is_upgraded_by_a_writer(
    deployed: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A metadata table with fewer columns (an older moviecdc wrote it) is upgraded by the first
    writer; a reader before that says what to do in one line and changes nothing."""
    import duckdb

    old = tmp_path / "old.duckdb"
    shutil.copy(deployed["MOVIECDC_DB"], old)
    con = duckdb.connect(str(old))
    last = con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = '_moviecdc' AND table_name = 'task_history'"
        " ORDER BY column_index DESC LIMIT 1"
    ).fetchone()
    assert last is not None
    con.execute(f'ALTER TABLE _moviecdc.task_history DROP COLUMN "{last[0]}"')
    con.close()
    env = {**deployed, "MOVIECDC_DB": str(old)}
    before = hashlib.sha256(old.read_bytes()).hexdigest()
    code, _, err = run(["status"], env, capsys)
    assert code == 3 and "older moviecdc" in err and "run --once" in err
    assert hashlib.sha256(old.read_bytes()).hexdigest() == before
    code, _, err = run(["run", "--once"], env, capsys)
    assert code == 0, err
    code, out, err = run(["status", "--json"], env, capsys)
    assert code in (0, 1) and out.startswith("{"), err
