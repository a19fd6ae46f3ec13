"""SnowflakeWarehouse against a small fake connector module (no network, no real connector)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from moviecdc.config import Settings
from moviecdc.errors import ConfigError, ConnectionFailedError, SqlError
from moviecdc.warehouse import snowflake as sf
from moviecdc.warehouse.base import Rows
from moviecdc.warehouse.snowflake import SnowflakeWarehouse

PASSWORD = "hunter2-very-secret"
REAL_PROBE = sf.probe


class FakeError(Exception):
    """Shaped like snowflake.connector.errors.Error: msg, errno, sqlstate."""

    def __init__(self, msg: str, errno: int = -1, sqlstate: str = "n/a") -> None:
        super().__init__(msg)
        self.msg, self.errno, self.sqlstate = msg, errno, sqlstate


class FakeDatabaseError(FakeError): ...


class FakeProgrammingError(FakeDatabaseError): ...


class FakeOperationalError(FakeDatabaseError): ...


ERRORS = SimpleNamespace(
    Error=FakeError,
    DatabaseError=FakeDatabaseError,
    ProgrammingError=FakeProgrammingError,
    OperationalError=FakeOperationalError,
)


class FakeCursor:
    def __init__(self, conn: FakeConnection) -> None:
        self.conn = conn
        self.description: list[tuple[str, ...]] | None = None
        self.rowcount: int | None = None
        self._rows: list[tuple[object, ...]] = []

    def execute(self, sql: str, params: list[object] | None = None) -> FakeCursor:
        self.conn.statements.append((sql, params))
        if self.conn.fail_with is not None:
            raise self.conn.fail_with
        if sql.startswith("SELECT"):
            self.description = [("ID", 0), ("TITLE", 2)]
            self._rows = [(1, "Alien"), (2, "Heat")]
            self.rowcount = 2
        else:
            self.rowcount = len(params or []) // 2
        return self

    def fetchall(self) -> list[tuple[object, ...]]:
        return self._rows

    def close(self) -> None:
        self.conn.cursors_closed += 1


class FakeConnection:
    def __init__(self) -> None:
        self.statements: list[tuple[str, list[object] | None]] = []
        self.fail_with: Exception | None = None
        self.cursors_closed = 0
        self.closed = False

    def cursor(self) -> FakeCursor:
        return FakeCursor(self)

    def close(self) -> None:
        self.closed = True


def fake_connector(raise_on_connect: Exception | None = None) -> SimpleNamespace:
    module = SimpleNamespace(errors=ERRORS, calls=[], connection=FakeConnection())

    def connect(**kwargs: object) -> FakeConnection:
        module.calls.append(kwargs)
        if raise_on_connect is not None:
            raise raise_on_connect
        return module.connection

    module.connect = connect
    return module


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reachability probe never touches the network here (tests below give it answers)."""
    monkeypatch.setattr("moviecdc.warehouse.snowflake.probe", lambda host, port, timeout: None)


@pytest.fixture
def settings() -> Settings:
    return Settings(account="myorg-acct", user="deployer", password=PASSWORD, login_timeout=7)


@pytest.fixture
def connector() -> SimpleNamespace:
    return fake_connector()


@pytest.fixture
def wh(settings, connector) -> SnowflakeWarehouse:
    return SnowflakeWarehouse(settings, query_tag="moviecdc:test", connector=connector)


def test_snowflake_connects_with_connect_args(wh, connector):
    (kwargs,) = connector.calls
    assert kwargs["account"] == "myorg-acct"
    assert kwargs["paramstyle"] == "qmark"
    assert kwargs["session_parameters"] == {"QUERY_TAG": "moviecdc:test"}
    assert wh.target == "snowflake"
    assert PASSWORD not in repr(wh)


def test_snowflake_execute_returns_rows(wh, connector):
    rows = wh.execute("SELECT id, title FROM movies WHERE id > ?", (0,))
    assert rows == Rows(columns=["ID", "TITLE"], rows=[(1, "Alien"), (2, "Heat")], rowcount=2)
    assert rows.dicts()[0] == {"id": 1, "title": "Alien"}
    assert connector.connection.statements == [("SELECT id, title FROM movies WHERE id > ?", [0])]
    assert connector.connection.cursors_closed == 1


def test_snowflake_execute_without_result_set(wh, connector):
    rows = wh.execute("CREATE SCHEMA IF NOT EXISTS CDC")
    assert (rows.columns, rows.rows) == ([], [])
    assert connector.connection.statements == [("CREATE SCHEMA IF NOT EXISTS CDC", None)]


def test_snowflake_insert_rows_chunks_with_bound_params(wh, connector):
    rows = [(i, f"title {i}") for i in range(2500)]
    assert wh.insert_rows("movies", ["id", "title"], rows) == 2500
    statements = connector.connection.statements
    assert [len(params) for _, params in statements] == [2000, 2000, 1000]
    sql, params = statements[2]
    assert sql == "INSERT INTO movies (id, title) VALUES " + ", ".join(["(?, ?)"] * 500)
    assert params[:4] == [2000, "title 2000", 2001, "title 2001"]
    assert "title" not in sql.split("VALUES")[1]


def test_snowflake_insert_rows_empty_and_ragged(wh, connector):
    assert wh.insert_rows("movies", ["id"], []) == 0
    assert connector.connection.statements == []
    with pytest.raises(SqlError, match="row 1 has 2 values, not 1"):
        wh.insert_rows("movies", ["id"], [(1,), (2, 3)])


def test_snowflake_execution_error_becomes_sql_error(wh, connector):
    connector.connection.fail_with = FakeProgrammingError(
        "002003 (42S02): SQL compilation error:\nObject 'NOPE' does not exist.", errno=2003, sqlstate="42S02"
    )
    with pytest.raises(SqlError) as info:
        wh.execute("SELECT * FROM nope")
    assert info.value.message == "002003 (42S02): SQL compilation error: Object 'NOPE' does not exist."
    assert (info.value.errno, info.value.sqlstate) == (2003, "42S02")  # as data, as the connector gives them
    assert info.value.statement == "SELECT * FROM nope"
    assert info.value.exit_code == 1
    assert connector.connection.cursors_closed == 1


@pytest.mark.parametrize(
    ("error", "pattern"),
    [
        pytest.param(
            FakeDatabaseError(
                f"250001 (08001): Failed to connect to DB: bad username or password {PASSWORD}",
                errno=250001,
            ),
            r"Snowflake account 'myorg-acct' refused the login for user 'deployer'",
            id="250001-database-error",
        ),
        pytest.param(
            FakeProgrammingError("390100: Incorrect username or password was specified.", errno=390100),
            r"refused the login .*\(check SNOWFLAKE_USER and SNOWFLAKE_PASSWORD\)",
            id="390100",
        ),
        pytest.param(
            FakeOperationalError("390144: JWT token is invalid.", errno=390144),
            r"refused the login .*RSA_PUBLIC_KEY",
            id="390144-always-login",
        ),
        pytest.param(
            FakeOperationalError("250001: Could not connect to Snowflake backend after 2 attempt(s)", errno=250001),
            r"^could not reach Snowflake account 'myorg-acct' within 7 s",
            id="operational-unreachable",
        ),
        pytest.param(
            TimeoutError("timed out"),
            r"could not reach Snowflake account 'myorg-acct' within 7 s",
            id="timeout",
        ),
    ],
)
def test_snowflake_connect_errors_become_connection_failed(settings, error, pattern):
    connector = fake_connector(raise_on_connect=error)
    with pytest.raises(ConnectionFailedError, match=pattern) as info:
        SnowflakeWarehouse(settings, query_tag="t", connector=connector)
    assert PASSWORD not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__
    assert info.value.exit_code == 3


def test_snowflake_connect_error_names_connection_when_no_account():
    connector = fake_connector(raise_on_connect=FakeDatabaseError("nope", errno=250001))
    with pytest.raises(ConnectionFailedError, match="Snowflake connection 'dev' refused"):
        SnowflakeWarehouse(Settings(connection_name="dev"), connector=connector)


def test_snowflake_missing_settings_raise_before_connecting():
    connector = fake_connector()
    with pytest.raises(ConfigError, match="SNOWFLAKE_ACCOUNT is not set"):
        SnowflakeWarehouse(Settings(), connector=connector)
    assert connector.calls == []


def test_snowflake_connector_not_installed(settings, monkeypatch):
    monkeypatch.setitem(sys.modules, "snowflake.connector", None)
    with pytest.raises(ConfigError, match="snowflake-connector-python is not installed"):
        SnowflakeWarehouse(settings)


def test_snowflake_context_manager_closes_once(settings, connector):
    with SnowflakeWarehouse(settings, connector=connector) as wh:
        wh.execute("SELECT 1")
    assert connector.connection.closed
    wh.close()


def test_importing_module_does_not_import_connector():
    code = "import sys, moviecdc.warehouse.snowflake; print('snowflake' in sys.modules)"
    src = Path(__file__).resolve().parents[1] / "src"
    result = subprocess.run([sys.executable, "-c", code], env={"PYTHONPATH": str(src)}, capture_output=True, text=True)
    assert result.stdout.strip() == "False", result.stderr


UNREACHABLE = "250001: Could not connect to Snowflake backend after 2 attempt(s).Aborting"


@pytest.mark.parametrize(
    ("kind", "message", "hint"),
    [
        ("dns", "the host myorg-acct.snowflakecomputing.com does not resolve", "account identifier"),
        ("refused", "myorg-acct.snowflakecomputing.com refused the connection", "firewall or proxy"),
        ("timeout", "no answer from myorg-acct.snowflakecomputing.com within 7 s", "MOVIECDC_LOGIN_TIMEOUT"),
        (None, "could not reach Snowflake account 'myorg-acct' within 7 s", "network and proxy access"),
    ],
)
def test_unreachable_accounts_are_told_apart(settings, monkeypatch, kind, message, hint):
    """The connector words every way of not getting there alike; the probe tells them apart."""
    seen: list[tuple[object, ...]] = []
    monkeypatch.setattr(sf, "probe", lambda host, port, timeout: seen.append((host, port, timeout)) or kind)
    connector = fake_connector(raise_on_connect=FakeOperationalError(UNREACHABLE, errno=250001))
    with pytest.raises(ConnectionFailedError) as info:
        SnowflakeWarehouse(settings, connector=connector)
    assert message in info.value.message and hint in (info.value.hint or "")
    assert "refused the login" not in info.value.message  # not the credentials hint
    assert seen == [("myorg-acct.snowflakecomputing.com", 443, 5.0)]


def test_bad_credentials_are_not_probed(settings, monkeypatch):
    monkeypatch.setattr(sf, "probe", lambda *a: pytest.fail("probed"))
    connector = fake_connector(
        raise_on_connect=FakeProgrammingError("390100: Incorrect username or password was specified.", errno=390100)
    )
    with pytest.raises(ConnectionFailedError, match="refused the login"):
        SnowflakeWarehouse(settings, connector=connector)


def test_tls_failure_has_its_own_hint(settings):
    connector = fake_connector(
        raise_on_connect=FakeOperationalError("250003: Hit non-retryable SSL error", errno=250003)
    )
    with pytest.raises(ConnectionFailedError, match="TLS connection failed") as info:
        SnowflakeWarehouse(settings, connector=connector)
    assert "REQUESTS_CA_BUNDLE" in (info.value.hint or "")


def _raises(exc: BaseException):
    def fn(*args: object, **kwargs: object) -> object:
        raise exc

    return fn


class _Sock:
    def close(self) -> None:
        pass


@pytest.mark.parametrize(
    ("resolve", "open_connection", "expected"),
    [
        (_raises(socket.gaierror(-2, "Name or service not known")), None, "dns"),
        (lambda *a, **k: [], _raises(ConnectionRefusedError()), "refused"),
        (lambda *a, **k: [], _raises(TimeoutError()), "timeout"),
        (lambda *a, **k: [], lambda *a, **k: _Sock(), None),
    ],
)
def test_probe_names_what_failed(monkeypatch, resolve, open_connection, expected):
    for var in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    assert REAL_PROBE("h.example", 443, 1.0, resolve=resolve, open_connection=open_connection) == expected


def test_probe_stays_out_of_the_way_of_a_proxy(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert REAL_PROBE("h.example", 443, 1.0, resolve=_raises(socket.gaierror()), open_connection=None) is None
