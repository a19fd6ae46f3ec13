"""One open local database: the DuckDB connection, its catalog, transactions, the clock
and the session's current schema.

Every module of the engine works through a :class:`Session`: it owns the only
connection, decides when a transaction begins and ends (one per operation unless the
user opened one), hands out change versions and timestamps, and resolves object names
in the current schema.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from moviecdc.clock import Clock, SystemClock
from moviecdc.dialect import ddl
from moviecdc.dialect.idents import fold, quote
from moviecdc.emulator import faults, semantics
from moviecdc.emulator.catalog import OLDER_FILE, Catalog, Key
from moviecdc.errors import ConfigError, DamagedDatabaseError, DatabaseBusyError, UnsupportedSqlError

_LOCK_RE = re.compile(r"(Could not set lock|Conflicting lock)", re.IGNORECASE)
_PID_RE = re.compile(r"PID (\d+)")


@dataclass(frozen=True)
class SessionContext:
    database: str
    schema: str


def open_duckdb(path: str | Path, *, busy_timeout: float, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open a DuckDB file, waiting up to ``busy_timeout`` s while another process holds it.

    Raises:
        DatabaseBusyError: still locked after the timeout (names the holder's PID).
    """
    if str(path) != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + busy_timeout
    delay = 0.02
    while True:
        try:
            # No file, extension or attached database is reachable from SQL: the engine's
            # own work needs none, and user SQL is Snowflake's (emulator/surface.py).
            return duckdb.connect(str(path), read_only=read_only, config={"enable_external_access": False})
        except duckdb.Error as exc:  # IOException on a held lock
            if not _LOCK_RE.search(str(exc)):
                raise DamagedDatabaseError(
                    f"cannot open local database {path}: {duck_message(exc)}",
                    hint="it is damaged or not a DuckDB file: restore a copy, or point MOVIECDC_DB elsewhere",
                ) from exc
            if time.monotonic() >= deadline:
                pid = _PID_RE.search(str(exc))
                holder = f"process {pid.group(1)}" if pid else "another process"
                raise DatabaseBusyError(
                    f"local database {path} is busy: {holder} has held it for more than {busy_timeout:g} s",
                    hint="wait for it to finish, or raise MOVIECDC_BUSY_TIMEOUT",
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _load(catalog: Catalog, path: str) -> None:
    """Read the catalog; metadata that cannot be read is named, in one line."""
    try:
        catalog.load()
    except duckdb.IOException:
        raise  # a file still being finished by its writer: the open retries
    except (duckdb.Error, ValueError, KeyError, TypeError) as exc:  # JSON, a missing key, a wrong shape
        raise DamagedDatabaseError(
            f"local database {path} has damaged moviecdc metadata ({type(exc).__name__}: {str(exc).splitlines()[0]})",
            hint="restore a copy of the file; nothing was changed",
        ) from exc


def _resolved(name: str) -> str:
    """A database or schema setting as Snowflake resolves it: ``"cdc"`` is cdc, ``cdc`` is CDC."""
    if len(name) > 1 and name.startswith('"') and name.endswith('"'):
        return name[1:-1].replace('""', '"')
    return name.upper()


def duck_message(exc: duckdb.Error) -> str:
    """The first line of a DuckDB error."""
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


class Session:
    """The connection, catalog, transactions, clock and current schema of one database."""

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        clock: Clock | None = None,
        database: str = "MOVIECDC",
        schema: str = "PUBLIC",
        busy_timeout: float = 30.0,
        read_only: bool = False,
    ) -> None:
        self.path = str(path)
        self.read_only = read_only and self.path != ":memory:"
        self.clock: Clock = clock or SystemClock()
        if self.read_only and not Path(self.path).exists():
            raise ConfigError(f"no local database at {self.path}", hint="run `moviecdc deploy` first")
        self.con, self.catalog = self._open(busy_timeout)
        if not self.read_only:
            self.con.begin()
            try:
                self.catalog.bootstrap()
                self.con.commit()
            except Exception:
                self.con.rollback()
                self.con.close()
                raise
            try:
                _load(self.catalog, self.path)
            except BaseException:
                self.con.close()
                raise
        self.ctx = SessionContext(_resolved(database), _resolved(schema))
        self._in_txn = False
        self._user_txn = False
        self._read_version: int | None = None
        self.pending_offsets: dict[Key, int] = {}
        # temporary tables of this session (folded names): they live in DuckDB's temp
        # catalog, unqualified, and shadow a permanent table of the same name
        self.temp_tables: set[str] = set()
        self._schemas: frozenset[str] | None = None  # schema_names(), cached
        self.session_parameters: dict[str, object] = {}  # ALTER SESSION SET, as given
        self.variables: dict[str, Any] = {}  # SET: session variables by name (emulator.variables.Variable)
        self.task_run: Any = None  # the task graph run in progress (tasks.GraphRun), for its SYSTEM$ functions
        self.databases: set[str] = {self.ctx.database}  # CREATE DATABASE names a database of this file
        self._stmt_ts: datetime | None = None
        # per-engine caches of the refresh planner (moviecdc.emulator.plans)
        self.dt_sql_cache: dict[tuple[str, str], str] = {}
        self.ivm_cache: dict[tuple[str, str, str], Any] = {}
        if not self.read_only and not any(n.upper() == self.ctx.schema.upper() for n in self.schema_names()):
            self.ensure_schema(self.ctx.schema)  # (one in another case: SQL naming this one is refused)

    def _open(self, busy_timeout: float) -> tuple[duckdb.DuckDBPyConnection, Catalog]:
        """Open the file and, for a reader, load the catalog.

        A read-only open that finds the file short of the blocks its header names (a
        writer that has just let go of it, still finishing) is retried until
        ``busy_timeout``, like a held lock.
        """
        deadline = time.monotonic() + busy_timeout
        while True:
            con = open_duckdb(self.path, busy_timeout=busy_timeout, read_only=self.read_only)
            try:
                con.execute("SET TimeZone = 'UTC'")
                con.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")  # sqlglot writes x -> ... lambdas
                con.execute(semantics.macros_sql())
                catalog = Catalog(con, read_only=self.read_only)
                problem = catalog.check()
                if problem == OLDER_FILE:
                    raise DamagedDatabaseError(
                        f"local database {self.path} was {OLDER_FILE}",
                        hint="run `moviecdc run --once` (or any command that writes) once to upgrade it",
                    )
                if problem is not None:
                    raise DamagedDatabaseError(
                        f"local database {self.path} holds metadata moviecdc did not write: {problem}",
                        hint="nothing was changed; point MOVIECDC_DB at a moviecdc database, or restore a copy",
                    )
                if self.read_only:
                    _load(catalog, self.path)
                return con, catalog
            except duckdb.IOException as exc:
                con.close()
                if not self.read_only or "Could not read" not in str(exc) or time.monotonic() >= deadline:
                    raise DamagedDatabaseError(
                        f"cannot read local database {self.path}: {duck_message(exc)}",
                        hint="it is damaged: restore a copy, or point MOVIECDC_DB elsewhere",
                    ) from exc
                time.sleep(0.05)
            except BaseException:
                con.close()
                raise

    def close(self) -> None:
        if self._user_txn:
            self.con.rollback()
        self.con.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- versions, time
    @property
    def version(self) -> int:
        """The newest change version committed (or written in the open transaction)."""
        return int(self.catalog.meta.get("version", "0"))

    @property
    def read_version(self) -> int:
        """The version the current statement reads: its transaction's start."""
        return self._read_version if self._read_version is not None else self.version

    def next_version(self) -> int:
        """A new change version, for the change the open transaction is making."""
        v = self.version + 1
        self.catalog.set_meta("version", str(v))
        return v

    def now(self) -> datetime:
        return self.clock.now().astimezone(UTC)

    def statement_time(self) -> datetime:
        """The current statement's timestamp: clock time, strictly increasing."""
        if self._stmt_ts is None:
            self._stmt_ts = self.tick()
        return self._stmt_ts

    def new_statement(self) -> None:
        """Forget the previous statement's timestamp."""
        self._stmt_ts = None

    def tick(self) -> datetime:
        """A fresh timestamp for history rows: clock time, strictly increasing.

        A manual clock can stand still; history must still order runs and refreshes.
        """
        last = self.catalog.meta.get("last_ts")
        ts = self.now()
        if last is not None:
            ts = max(ts, datetime.fromisoformat(last) + timedelta(microseconds=1))
        self.catalog.set_meta("last_ts", ts.isoformat())
        return ts

    def new_id(self) -> str:
        return str(uuid.uuid4())

    # ----------------------------------------------------------- transactions
    @property
    def in_user_transaction(self) -> bool:
        """Whether the user opened a transaction (BEGIN) that is still open."""
        return self._user_txn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A transaction for one operation, unless one is already open."""
        if self._in_txn:
            yield
            return
        self.con.begin()
        self._in_txn = self.catalog.buffering = True
        self._read_version = self.version
        try:
            yield
            self.catalog.flush()
            faults.hit("commit.before")
            self.con.commit()
            faults.hit("commit.after")
        except BaseException:
            self.catalog.discard()
            with contextlib.suppress(duckdb.Error):
                self.con.rollback()
            self.catalog.load()
            self._schemas = None
            raise
        finally:
            self._in_txn = self.catalog.buffering = False
            self._read_version = None

    def begin_user_transaction(self) -> None:
        """BEGIN: statements run in one transaction until COMMIT or ROLLBACK."""
        if self._user_txn:
            return
        self.con.begin()
        self._in_txn = self._user_txn = self.catalog.buffering = True
        self._read_version = self.version

    def end_user_transaction(self, *, commit: bool) -> None:
        """COMMIT (moving the offsets of the streams the transaction read) or ROLLBACK."""
        if not self._user_txn:
            return
        try:
            if commit:
                for key, offset in self.pending_offsets.items():
                    st = self.catalog.streams.get(key)
                    if st is not None:
                        st.offset = offset
                        st.initial_rows = False  # SHOW_INITIAL_ROWS: only the first consumption
                        st.last_consumed_on = self.now()
                        self.catalog.save(st)
                self.catalog.flush()
                self.con.commit()
            else:
                self.catalog.discard()
                self.con.rollback()
                self.catalog.load()
                self._schemas = None
        finally:
            self._in_txn = self._user_txn = self.catalog.buffering = False
            self._read_version = None
            self.pending_offsets = {}

    # ------------------------------------------------------------------ names
    def resolve(self, name: ddl.Name | exp.Table) -> Key:
        """(schema, name) of an object, defaulting to the session schema."""
        if isinstance(name, exp.Table):
            schema = fold(name.args.get("db"))
            obj = fold(name.this if isinstance(name.this, exp.Identifier) else name.name)
            assert obj is not None
            return (schema or self.ctx.schema, obj)
        return (name.schema or self.ctx.schema, name.name)

    def fq(self, key: Key) -> str:
        """The quoted DuckDB name of an object."""
        return f"{quote(key[0])}.{quote(key[1])}"

    @contextlib.contextmanager
    def in_schema(self, schema: str) -> Iterator[None]:
        """Resolve unqualified names in ``schema`` (an object's own schema) meanwhile."""
        saved = self.ctx
        self.ctx = SessionContext(saved.database, schema)
        try:
            yield
        finally:
            self.ctx = saved

    def use(self, database: str | None = None, schema: str | None = None) -> None:
        """USE DATABASE / USE SCHEMA (creating the schema if needed)."""
        if schema is not None:
            self.ensure_schema(schema)
        self.ctx = SessionContext(database or self.ctx.database, schema or self.ctx.schema)

    def ensure_schema(self, schema: str) -> None:
        """Create ``schema`` (a Snowflake-resolved name) unless it exists.

        Raises:
            UnsupportedSqlError: a schema whose name differs only in case exists: Snowflake
                keeps both, DuckDB (case-insensitive) would silently use the other one.
        """
        row = self.con.execute(
            "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
            " AND lower(schema_name) = lower(?) AND schema_name <> ?",
            [schema, schema],
        ).fetchone()
        if row:
            raise UnsupportedSqlError(
                f"schema {quote(schema)} differs from the existing schema {quote(str(row[0]))} only in case:"
                " the local engine cannot keep both (choose another name)"
            )
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        self.forget_schemas()

    def schema_names(self) -> frozenset[str]:
        """The database's schemas, exactly as named (cached until one is created or dropped)."""
        if self._schemas is None:
            rows = self.con.execute(
                "SELECT schema_name FROM duckdb_schemas() WHERE database_name = current_database()"
            ).fetchall()
            self._schemas = frozenset(str(r[0]) for r in rows)
        return self._schemas

    def forget_schemas(self) -> None:
        self._schemas = None

    def table_exists(self, key: Key) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE lower(schema_name) = lower(?)"
            " AND lower(table_name) = lower(?) AND database_name = current_database()",
            list(key),
        ).fetchone()
        return bool(row and row[0])

    def table_ddl(self, key: Key) -> str | None:
        """DuckDB's CREATE TABLE statement of a plain table, or None."""
        return self.object_ddl("tables", key)

    def object_ddl(self, kind: str, key: Key) -> str | None:
        """DuckDB's CREATE statement of a user table or view (``kind``: tables | views), or None."""
        internal = " AND NOT internal" if kind == "views" else ""
        row = self.con.execute(
            f"SELECT sql FROM duckdb_{kind}() WHERE lower(schema_name) = lower(?){internal}"
            f" AND lower({kind[:-1]}_name) = lower(?) AND database_name = current_database()",
            list(key),
        ).fetchone()
        return str(row[0]) if row else None
