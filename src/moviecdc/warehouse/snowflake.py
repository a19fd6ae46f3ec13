"""The Snowflake target: a thin :class:`~moviecdc.warehouse.base.Warehouse` over the connector.

``snowflake.connector`` is imported only when a SnowflakeWarehouse is built. Connector
exceptions never leave this module: failures while connecting become ConnectionFailedError,
failures while running a statement become SqlError. Secret values are scrubbed from every
message, and connect errors are not chained (``from None``) so tracebacks cannot show them.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import socket
import time
import warnings
from collections.abc import Callable, Sequence
from types import ModuleType, TracebackType
from typing import Any, cast

from moviecdc.config import Settings, snowflake_connect_args
from moviecdc.errors import ConfigError, ConnectionFailedError, MovieCdcError, SqlError
from moviecdc.names import DYNAMIC_TABLES, TASK
from moviecdc.render import namespace
from moviecdc.warehouse.base import Params, PipelineRun, PipelineStep, Rows, Warehouse

INSERT_CHUNK_ROWS = 1000

# Error numbers that always mean "the login was refused", with what to check.
_LOGIN_HINTS: dict[object, str] = {
    251005: "SNOWFLAKE_USER is empty; set it or use a connection that has a user",
    251006: "the password is empty; set SNOWFLAKE_PASSWORD or use another authenticator",
    390100: "check SNOWFLAKE_USER and SNOWFLAKE_PASSWORD",
    390144: "check SNOWFLAKE_PRIVATE_KEY_FILE and that its public key is set on the user "
    "(ALTER USER ... SET RSA_PUBLIC_KEY)",
}
_LOGIN_HINT = (
    "check the account identifier (orgname-accountname), SNOWFLAKE_USER and the credentials "
    "(SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_FILE or SNOWFLAKE_AUTHENTICATOR)"
)
_REACH_HINT = (
    "check the account identifier (orgname-accountname, without .snowflakecomputing.com), "
    "network and proxy access, or raise MOVIECDC_LOGIN_TIMEOUT"
)


class SnowflakeWarehouse:
    """Runs Snowflake SQL on a real account through snowflake-connector-python."""

    target = "snowflake"

    def __init__(self, settings: Settings, query_tag: str = "moviecdc", connector: object | None = None) -> None:
        """Connect to Snowflake.

        Args:
            settings: Resolved settings (account, credentials, session defaults).
            query_tag: QUERY_TAG for every statement of this session.
            connector: A module like ``snowflake.connector`` (tests pass a fake); by default
                the real one is imported here.

        Raises:
            ConfigError: Missing settings, or the connector is not installed.
            ConnectionFailedError: The account was unreachable or refused the login.
        """
        # settings first: a missing account is reported even without the connector
        kwargs = snowflake_connect_args(settings, query_tag=query_tag)
        self.ns = namespace(settings)
        # Duck-typed: the real module or a test fake with connect() and errors.
        self._connector = cast(Any, connector if connector is not None else _import_connector())
        self._caught = _error_classes(self._connector)
        self._secrets = tuple(s for s in (settings.password, settings.private_key_file_pwd, settings.token) if s)
        self._where = (
            f"account {settings.account!r}" if settings.account else f"connection {settings.connection_name!r}"
        )
        self._closed = False
        try:
            with warnings.catch_warnings():
                # the connector's notices about its own future defaults are not the user's concern
                warnings.simplefilter("ignore", FutureWarning)
                self._conn: Any = self._connector.connect(**kwargs)
        except self._caught as exc:
            raise self._connect_error(exc, settings) from None

    def __repr__(self) -> str:
        return f"SnowflakeWarehouse({self._where}, closed={self._closed})"

    def __enter__(self) -> SnowflakeWarehouse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        """Run one statement with qmark (``?``) parameters.

        Args:
            sql: One Snowflake SQL statement.
            params: Values bound to the ``?`` markers, in order.

        Returns:
            Column names, rows (empty when the statement returns none) and the row count.

        Raises:
            SqlError: Snowflake rejected the statement (or the session broke).
        """
        try:
            cursor = self._conn.cursor()
            try:
                if params is None:
                    cursor.execute(sql)
                else:
                    cursor.execute(sql, list(params))
                description = cursor.description
                columns = [d[0] for d in description] if description else []
                rows = [tuple(r) for r in cursor.fetchall()] if description else []
                return Rows(columns=columns, rows=rows, rowcount=cursor.rowcount)
            finally:
                cursor.close()
        except self._caught as exc:
            errno = getattr(exc, "errno", None)
            raise SqlError(
                self._first_line(exc),
                statement=sql,
                hint=_SQL_HINTS.get(errno),
                errno=errno if isinstance(errno, int) else None,
                sqlstate=getattr(exc, "sqlstate", None),
            ) from exc

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        """Insert rows with one multi-row ``INSERT ... VALUES`` per chunk of 1 000.

        Values are always bound parameters. Chunks commit one by one (autocommit).

        Args:
            table: Table name, already a valid (quoted if needed) identifier.
            columns: Column names, already valid identifiers.
            rows: Each row has one value per column.

        Returns:
            The number of rows inserted.

        Raises:
            SqlError: A row has the wrong number of values, or Snowflake rejected a chunk.
        """
        width = len(columns)
        for i, row in enumerate(rows):
            if len(row) != width:
                raise SqlError(f"insert into {table}: row {i} has {len(row)} values, not {width}")
        if not rows:
            return 0
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        group = "(" + ", ".join(["?"] * width) + ")"
        for start in range(0, len(rows), INSERT_CHUNK_ROWS):
            chunk = rows[start : start + INSERT_CHUNK_ROWS]
            params = [value for row in chunk for value in row]
            self.execute(head + ", ".join([group] * len(chunk)), params)
        return len(rows)

    def run_pipeline(self, *, catch_up: bool = True) -> PipelineRun:
        """EXECUTE TASK, then REFRESH each dynamic table (Snowflake schedules the rest)."""
        return run_snowflake_once(self, self.ns)

    def close(self) -> None:
        """Close the connection; safe to call twice, never raises connector errors."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(*self._caught):
            self._conn.close()

    def _first_line(self, exc: BaseException) -> str:
        """The exception's message on one line (Snowflake puts the detail of a compilation
        error on the second), with every secret value masked."""
        lines = [line.strip() for line in str(exc).strip().splitlines() if line.strip()]
        text = " ".join(lines[:3]) if lines else type(exc).__name__
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def _connect_error(self, exc: BaseException, settings: Settings) -> ConnectionFailedError:
        errno = getattr(exc, "errno", None)
        operational = getattr(self._connector.errors, "OperationalError", None)
        unreachable = isinstance(exc, OSError) or (isinstance(operational, type) and isinstance(exc, operational))
        detail = self._first_line(exc)
        if unreachable and errno not in _LOGIN_HINTS:
            # The connector says "Could not connect to Snowflake backend" whatever went wrong
            # on the way: find out which, so that the hint fits.
            host = f"{settings.account}.snowflakecomputing.com" if settings.account else None
            kind = "tls" if errno == 250003 else probe(host, 443, min(float(settings.login_timeout), 5.0))
            message, hint = _UNREACHABLE.get(kind, _UNREACHABLE[None])
            return ConnectionFailedError(
                message.format(where=self._where, host=host, timeout=settings.login_timeout) + f": {detail}",
                hint=hint,
            )
        user = f" for user {settings.user!r}" if settings.user else ""
        return ConnectionFailedError(
            f"Snowflake {self._where} refused the login{user}: {detail}",
            hint=_LOGIN_HINTS.get(errno, _LOGIN_HINT),
        )


# How an unreachable account failed: (message, hint) per probe() answer.
_UNREACHABLE: dict[str | None, tuple[str, str]] = {
    "dns": (
        "could not reach Snowflake {where}: the host {host} does not resolve",
        "check the account identifier (orgname-accountname, without .snowflakecomputing.com) and DNS",
    ),
    "refused": (
        "could not reach Snowflake {where}: {host} refused the connection",
        "a firewall or proxy refuses HTTPS to Snowflake: check HTTPS_PROXY / NO_PROXY and outbound port 443",
    ),
    "timeout": (
        "could not reach Snowflake {where}: no answer from {host} within {timeout} s",
        "check network and proxy access (HTTPS_PROXY), or raise MOVIECDC_LOGIN_TIMEOUT",
    ),
    "tls": (
        "could not reach Snowflake {where}: the TLS connection failed",
        "a proxy may be intercepting HTTPS: trust its certificate (REQUESTS_CA_BUNDLE) or bypass it (NO_PROXY)",
    ),
    None: ("could not reach Snowflake {where} within {timeout} s", _REACH_HINT),
}


def probe(
    host: str | None,
    port: int,
    timeout: float,
    *,
    resolve: Callable[..., object] = socket.getaddrinfo,
    open_connection: Callable[..., Any] = socket.create_connection,
) -> str | None:
    """Why ``host:port`` cannot be reached: 'dns', 'refused', 'timeout', or None (it can be,
    or there is a proxy in the way, whose own answer the connector already reported)."""
    if not host or any(os.environ.get(v) for v in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return None
    try:
        resolve(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return "dns"
    except OSError:
        return None
    try:
        open_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        return "refused"
    except TimeoutError:
        return "timeout"
    except OSError:
        return None
    return None


# Snowflake error numbers whose fix the user needs spelled out.
_SQL_HINTS: dict[object, str] = {
    606: "no warehouse is in use: set SNOWFLAKE_WAREHOUSE (or the connection's warehouse) to one the role may use",
    3001: "the role lacks a privilege: `moviecdc deploy --check` lists what the pipeline needs",
    3041: "the role lacks a privilege: `moviecdc deploy --check` lists what the pipeline needs",
    2003: "the object is missing, or the role may not see it: check SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA and the role",
    2043: "the object is missing, or the role may not see it: check SNOWFLAKE_DATABASE, SNOWFLAKE_SCHEMA and the role",
    90105: "the role may not execute tasks: an ACCOUNTADMIN must GRANT EXECUTE TASK ON ACCOUNT TO ROLE <role>",
}


def _import_connector() -> ModuleType:
    try:
        return importlib.import_module("snowflake.connector")
    except ImportError as exc:
        raise ConfigError(
            "snowflake-connector-python is not installed",
            hint="pip install snowflake-connector-python",
        ) from exc


def _error_classes(connector: object) -> tuple[type[BaseException], ...]:
    """The connector's DB-API exception classes (whichever the module has), plus OSError."""
    names = ("Error", "DatabaseError", "ProgrammingError", "OperationalError", "InterfaceError")
    errors = getattr(connector, "errors", None)
    found = [getattr(errors, name, None) for name in names]
    return (*(c for c in found if isinstance(c, type) and issubclass(c, BaseException)), OSError)


TERMINAL = {"SUCCEEDED", "FAILED", "FAILED_AND_AUTO_SUSPENDED", "CANCELLED", "SKIPPED"}


def run_snowflake_once(
    wh: Warehouse,
    ns: str,
    *,
    timeout: float = 600.0,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> PipelineRun:
    """EXECUTE TASK and wait for the run; then refresh the dynamic tables upstream first.

    EXECUTE TASK only queues a run, so the run is followed in TASK_HISTORY (the newest
    EXECUTE_TASK run of the task) until it ends. ALTER DYNAMIC TABLE ... REFRESH is
    synchronous; each one's outcome is reported.
    """
    report = PipelineRun()
    database = ns.split(".")[0]
    before = _last_manual_run(wh, database, ns)
    wh.execute(f"EXECUTE TASK {ns}.{TASK}")
    deadline = clock() + timeout
    while True:
        run = _last_manual_run(wh, database, ns)
        is_new = run is not None and (before is None or run[1] != before[1])
        if is_new and run is not None and run[0] in TERMINAL:
            state, error = run[0], run[2]
            break
        if clock() >= deadline:
            state, error = f"still running after {timeout:g} s", None
            break
        sleep(poll)
    report.steps.append(PipelineStep(f"EXECUTE TASK {TASK}", state + (f": {error}" if error else "")))
    for name in DYNAMIC_TABLES:
        try:
            res = wh.execute(f"ALTER DYNAMIC TABLE {ns}.{name} REFRESH")
            outcome = "SUCCEEDED"
            if res.rows and len(res.rows[0]) >= 3:
                outcome = f"{res.rows[0][1]} ({res.rows[0][2]})"
        except MovieCdcError as exc:
            outcome = f"FAILED: {exc.message}"
        report.steps.append(PipelineStep(f"REFRESH {name}", outcome))
    return report


def _last_manual_run(wh: Warehouse, database: str, ns: str) -> tuple[str, object, str | None] | None:
    """(state, scheduled time, error) of the task's newest EXECUTE_TASK run, if any."""
    rows = wh.execute(
        f"SELECT STATE, SCHEDULED_TIME, ERROR_MESSAGE, SCHEDULED_FROM FROM TABLE({database}.INFORMATION_SCHEMA."
        f"TASK_HISTORY(TASK_NAME => '{TASK.upper()}', RESULT_LIMIT => 20)) ORDER BY SCHEDULED_TIME DESC"
    ).rows
    for state, scheduled, error, source in rows:
        if source == "EXECUTE_TASK":
            return str(state), scheduled, error  # type: ignore[return-value]
    return None
