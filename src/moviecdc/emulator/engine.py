"""The local engine: Snowflake SQL, streams, tasks and dynamic tables on DuckDB.

``Engine.execute`` takes one Snowflake statement. Statements sqlglot cannot parse
(streams, tasks, dynamic tables, SHOW) go to :mod:`moviecdc.emulator.ddl` and the
handlers here; everything else is parsed by sqlglot, rewritten by the rules of
:mod:`moviecdc.emulator.translate` and run by DuckDB. DML on a change-tracked table
is captured (:mod:`moviecdc.emulator.streams`); DML that reads a stream consumes it
in the same transaction. Every handler that changes state runs inside one DuckDB
transaction with the catalog rows it writes, so an error or a crash changes nothing.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from moviecdc.emulator import ddl, faults, ivm, streams
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import (
    SCHEMA,
    Catalog,
    Key,
    StreamState,
    TrackedTable,
)
from moviecdc.emulator.clock import Clock, SystemClock
from moviecdc.errors import ConfigError, DatabaseBusyError, SqlError, UnsupportedSqlError
from moviecdc.warehouse.base import Rows

RETENTION_SETTINGS = ("DATA_RETENTION_TIME_IN_DAYS", "MAX_DATA_EXTENSION_TIME_IN_DAYS")
_LOCK_RE = re.compile(r"(Could not set lock|Conflicting lock)", re.IGNORECASE)
_PID_RE = re.compile(r"PID (\d+)")
_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable)


@dataclass(frozen=True)
class SessionContext:
    database: str
    schema: str


def _norm(ident: exp.Identifier | str | None) -> str | None:
    """Snowflake identifier resolution: unquoted folds to upper case."""
    if ident is None:
        return None
    if isinstance(ident, str):
        return ident.upper()
    return ident.this if ident.quoted else ident.this.upper()


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
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.Error as exc:  # IOException on a held lock
            if not _LOCK_RE.search(str(exc)):
                raise SqlError(f"cannot open local database {path}: {exc}") from exc
            if time.monotonic() >= deadline:
                pid = _PID_RE.search(str(exc))
                holder = f"process {pid.group(1)}" if pid else "another process"
                raise DatabaseBusyError(
                    f"local database {path} is busy: {holder} has held it for more than {busy_timeout:g} s",
                    hint="wait for it to finish, or raise MOVIECDC_BUSY_TIMEOUT",
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


class Engine:
    """One open local database; see the module docstring."""

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
                raise
        if not self.read_only:
            self.catalog.load()
        self.ctx = SessionContext(database.upper(), schema.upper())
        self._in_txn = False
        self._user_txn = False
        self._read_version: int | None = None
        self._pending_offsets: dict[Key, int] = {}
        # translated dynamic-table queries, by (schema, query text)
        self.dt_sql_cache: dict[tuple[str, str], str] = {}
        self.ivm_cache: dict[tuple[str, str, str], ivm.Compiler] = {}
        self._stmt_ts: datetime | None = None
        if not self.read_only:
            self._ensure_schema(self.ctx.schema)

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
                catalog = Catalog(con, read_only=self.read_only)
                if self.read_only:
                    catalog.load()
                return con, catalog
            except duckdb.IOException as exc:
                con.close()
                if not self.read_only or "Could not read" not in str(exc) or time.monotonic() >= deadline:
                    raise SqlError(f"cannot read local database {self.path}: {_duck_message(exc)}") from exc
                time.sleep(0.05)

    # ------------------------------------------------------------------ basics
    def close(self) -> None:
        if self._user_txn:
            self.con.rollback()
        self.con.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        return int(self.catalog.meta.get("version", "0"))

    def _ensure_schema(self, schema: str) -> None:
        self.con.execute(f"CREATE SCHEMA IF NOT EXISTS {streams.q(schema)}")

    def _next_version(self) -> int:
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

    @contextlib.contextmanager
    def _txn(self) -> Iterator[None]:
        """A transaction for one operation, unless one is already open."""
        if self._in_txn:
            yield
            return
        self.con.begin()
        self._in_txn = True
        self._read_version = self.version
        try:
            yield
            faults.hit("commit.before")
            self.con.commit()
            faults.hit("commit.after")
        except BaseException:
            with contextlib.suppress(duckdb.Error):
                self.con.rollback()
            self.catalog.load()
            raise
        finally:
            self._in_txn = False
            self._read_version = None

    def resolve(self, name: ddl.Name | exp.Table) -> Key:
        """(schema, name) of an object, defaulting to the session schema."""
        if isinstance(name, exp.Table):
            schema = _norm(name.args.get("db"))
            obj = _norm(name.this if isinstance(name.this, exp.Identifier) else name.name)
            assert obj is not None
            return (schema or self.ctx.schema, obj)
        return (name.schema or self.ctx.schema, name.name)

    def _fq(self, key: Key) -> str:
        return f"{streams.q(key[0])}.{streams.q(key[1])}"

    # ---------------------------------------------------------------- execute
    def execute(self, sql: str, params: Sequence[object] | None = None) -> Rows:
        """Run one Snowflake statement.

        Args:
            sql: the statement (Snowflake SQL; ``?`` marks a bound parameter).
            params: values for the ``?`` markers.

        Returns:
            The statement's result.

        Raises:
            SqlError: the statement failed; nothing it did is kept.
            UnsupportedSqlError: the local engine cannot run this statement.
        """
        self._stmt_ts = None
        text = sql.strip().rstrip(";").strip()
        if not text:
            raise SqlError("empty SQL statement")
        try:
            cdc = ddl.parse_cdc(text)
            if cdc is not None:
                return self._cdc(cdc, text)
            expr = tr.parse(text)
            return self._sql(expr, text, params)
        except duckdb.Error as exc:
            raise SqlError(_duck_message(exc), statement=text) from exc
        finally:
            self._stmt_ts = None

    def execute_script(self, sql: str) -> list[Rows]:
        """Run every statement of a script in order; stops at the first error."""
        from moviecdc.sqlsplit import split_statements

        return [self.execute(s.sql) for s in split_statements(sql)]

    # ---------------------------------------------------------- plain SQL path
    def _sql(self, expr: exp.Expr, text: str, params: Sequence[object] | None) -> Rows:
        if isinstance(expr, exp.Transaction):
            return self._begin()
        if isinstance(expr, exp.Commit):
            return self._end(commit=True)
        if isinstance(expr, exp.Rollback):
            return self._end(commit=False)
        if isinstance(expr, exp.Use):
            return self._use(expr)
        if _is_access_control(expr):
            return Rows(
                columns=["status"],
                rows=[("Statement executed successfully (the local engine does not enforce access control).",)],
                message="access control is not enforced locally",
            )
        if isinstance(expr, exp.Create):
            return self._create(expr, text, params)
        if isinstance(expr, exp.Drop):
            return self._drop(expr, text)
        if isinstance(expr, exp.Alter):
            return self._alter(expr, text)
        if isinstance(expr, _DML):
            return self._dml(expr, text, params)
        if isinstance(expr, exp.Show):
            raise UnsupportedSqlError(
                f"SHOW {expr.name} is not supported by the local engine (SHOW STREAMS, TASKS and DYNAMIC TABLES are)",
                statement=text,
            )
        if isinstance(expr, exp.Command):
            raise UnsupportedSqlError(f"the local engine cannot run this statement ({expr.name})", statement=text)
        return self._query(expr, text, params)

    def _context(self) -> tr.Context:
        return tr.Context(resolver=self)

    def _translate(
        self, expr: exp.Expr, params: Sequence[object] | None, *, ddl_stmt: bool = False
    ) -> tuple[str, list[object], tr.Context]:
        ctx = self._context()
        rules = tuple(r for r in tr.RULES if not (ddl_stmt and r is tr.statement_time))
        expr = tr.apply_rules(expr, ctx, (*rules, self._qualify_rule(expr)))
        sql, bound = tr.render(expr, ctx, params)
        return sql, bound, ctx

    def _qualify_rule(self, root: exp.Expr) -> tr.Rule:
        """Unqualified tables resolve in the session schema (CTE names excepted)."""
        ctes = {_norm(c.alias) for c in root.find_all(exp.CTE)}
        schema = self.ctx.schema

        def rule(node: exp.Expr, ctx: tr.Context) -> exp.Expr:
            if (
                isinstance(node, exp.Table)
                and isinstance(node.this, exp.Identifier)
                and node.args.get("db") is None
                and not node.name.startswith("__mcdc_")
                and _norm(node.this) not in ctes
            ):
                node.set("db", exp.to_identifier(schema, quoted=True))
            return node

        return rule

    def _run(self, sql: str, params: Sequence[object] | None = None) -> duckdb.DuckDBPyConnection:
        return self.con.execute(sql, list(params) if params else None)

    def _query(self, expr: exp.Expr, text: str, params: Sequence[object] | None) -> Rows:
        with self._txn():
            sql, bound, _ = self._translate(expr, params)
            cur = self._run(sql, bound)
            cols = [d[0] for d in cur.description] if cur.description else []
            return Rows(columns=cols, rows=cur.fetchall())

    # transactions -----------------------------------------------------------
    def _begin(self) -> Rows:
        if self._user_txn:
            return Rows(message="Statement executed successfully.")
        self.con.begin()
        self._in_txn = self._user_txn = True
        self._read_version = self.version
        return Rows(message="Statement executed successfully.")

    def _end(self, *, commit: bool) -> Rows:
        if not self._user_txn:
            return Rows(message="Statement executed successfully.")
        try:
            if commit:
                for key, offset in self._pending_offsets.items():
                    st = self.catalog.streams.get(key)
                    if st is not None:
                        st.offset = offset
                        st.last_consumed_on = self.now()
                        self.catalog.save(st)
                self.con.commit()
            else:
                self.con.rollback()
                self.catalog.load()
        finally:
            self._in_txn = self._user_txn = False
            self._read_version = None
            self._pending_offsets = {}
        return Rows(message="Statement executed successfully.")

    def _use(self, expr: exp.Use) -> Rows:
        kind = (expr.args.get("kind") or exp.Var(this="SCHEMA")).name.upper()
        table = expr.this
        if kind == "DATABASE":
            self.ctx = SessionContext(_norm(table.this) or self.ctx.database, self.ctx.schema)
        elif kind in {"SCHEMA", ""}:
            schema = _norm(table.this)
            db = _norm(table.args.get("db"))
            assert schema is not None
            self._ensure_schema(schema)
            self.ctx = SessionContext(db or self.ctx.database, schema)
        else:  # USE ROLE / WAREHOUSE / SECONDARY ROLES: nothing to do locally
            pass
        return Rows(message="Statement executed successfully.")

    # ------------------------------------------------------------------ DDL
    def _create(self, expr: exp.Create, text: str, params: Sequence[object] | None) -> Rows:
        kind = (expr.args.get("kind") or "").upper()
        if kind == "DATABASE":
            db = expr.this
            self.ctx = SessionContext(
                _norm(db.this if isinstance(db, exp.Table) else db) or self.ctx.database,
                self.ctx.schema,
            )
            return Rows(message="Statement executed successfully.")
        if kind == "SCHEMA":
            table = expr.this
            schema = _norm(table.args.get("db") or table.this)
            assert schema is not None
            with self._txn():
                if expr.args.get("replace"):
                    raise UnsupportedSqlError(
                        "CREATE OR REPLACE SCHEMA is not supported by the local engine",
                        statement=text,
                    )
                self._ensure_schema(schema)
            db = table.args.get("catalog") if table.args.get("db") else None
            self.ctx = SessionContext(_norm(db) or self.ctx.database, schema)
            return Rows(message=f"Schema {schema} successfully created.")
        if kind != "TABLE":
            with self._txn():
                sql, bound, _ = self._translate(expr, params, ddl_stmt=kind != "VIEW")
                self._run(sql, bound)
            return Rows(message="Statement executed successfully.")
        target = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
        key = self.resolve(target)
        tracking = _pop_change_tracking(expr)
        with self._txn():
            if key in self.catalog.dynamic_tables or key in self.catalog.tracked:
                if expr.args.get("exists"):
                    return Rows(message=f"{key[1]} already exists, statement succeeded.")
                if not expr.args.get("replace") or key in self.catalog.dynamic_tables:
                    raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
                self._untrack(key, reason="the table was replaced")
            existed = self._table_exists(key)
            sql, bound, ctx = self._translate(expr, params, ddl_stmt=expr.expression is None)
            self._run(sql, bound)
            if not existed or expr.args.get("replace") or expr.expression is not None:
                version = self._next_version()
                self.catalog.set_version(key, version, self.now())
                self._consume(ctx)
            if tracking:
                self._track(key)
        return Rows(message=f"Table {key[1]} successfully created.")

    def _table_exists(self, key: Key) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE lower(schema_name) = lower(?)"
            " AND lower(table_name) = lower(?) AND database_name = current_database()",
            list(key),
        ).fetchone()
        return bool(row and row[0])

    def _drop(self, expr: exp.Drop, text: str) -> Rows:
        kind = (expr.args.get("kind") or "").upper()
        if kind == "SCHEMA":
            target = (expr.args.get("tables") or [expr.this])[0]
            schema = _norm(target.args.get("db") or target.this)
            with self._txn():
                sql, bound, _ = self._translate(expr, None, ddl_stmt=True)
                self._run(sql, bound)
                for store, k in (
                    (self.catalog.tracked, "TRACKED"),
                    (self.catalog.streams, "STREAM"),
                    (self.catalog.tasks, "TASK"),
                    (self.catalog.dynamic_tables, "DYNAMIC TABLE"),
                ):
                    for key in [key for key in store if key[0] == schema]:
                        if k == "TRACKED":
                            self._untrack(key, reason="its schema was dropped")
                        else:
                            self.catalog.delete(k, key)
            return Rows(message=f"{schema} successfully dropped.")
        if kind != "TABLE":
            with self._txn():
                sql, bound, _ = self._translate(expr, None, ddl_stmt=True)
                self._run(sql, bound)
            return Rows(message="Statement executed successfully.")
        tables = expr.args.get("tables") or [expr.this]
        if len(tables) != 1:
            raise UnsupportedSqlError("drop one table per statement", statement=text)
        key = self.resolve(tables[0])
        if key in self.catalog.dynamic_tables:
            raise SqlError(f"'{key[1]}' is a dynamic table; use DROP DYNAMIC TABLE", statement=text)
        with self._txn():
            if key in self.catalog.tracked:
                self._untrack(key, reason="its source table was dropped")
            else:
                sql, bound, _ = self._translate(expr, None, ddl_stmt=True)
                self._run(sql, bound)
            self.catalog.drop_version(key)
        return Rows(message=f"{key[1]} successfully dropped.")

    def _alter(self, expr: exp.Alter, text: str) -> Rows:
        key = self.resolve(expr.this)
        kind = (expr.args.get("kind") or "").upper()
        if kind == "TABLE" and key in self.catalog.dynamic_tables:
            raise SqlError(f"'{key[1]}' is a dynamic table; use ALTER DYNAMIC TABLE", statement=text)
        tracking = None
        retention: dict[str, str] = {}
        others = False
        for action in expr.args.get("actions") or []:
            props = list(action.find_all(exp.Property)) if isinstance(action, exp.AlterSet) else []
            others = others or not props
            for prop in props:
                name = prop.name.upper()
                if name == "CHANGE_TRACKING":
                    tracking = prop.args["value"].sql().upper() == "TRUE"
                elif name in RETENTION_SETTINGS:
                    retention[name] = prop.args["value"].sql()
                else:
                    others = True
        if (tracking is not None or retention) and not others:
            with self._txn():
                for name, value in retention.items():
                    if not value.isdigit() or int(value) > 90:
                        raise SqlError(f"invalid value {value} for {name}: a whole number of days, 0 to 90")
                    self.catalog.set_meta(f"{name}.{key[0]}.{key[1]}", value)
                if tracking and key not in self.catalog.tracked:
                    self._track(key)
                elif tracking is False and key in self.catalog.tracked:
                    raise UnsupportedSqlError(
                        "turning change tracking off is not supported by the local engine",
                        statement=text,
                    )
            return Rows(message="Statement executed successfully.")
        if key in self.catalog.tracked:
            raise UnsupportedSqlError(
                f"ALTER on the change-tracked table {key[1]} is not supported by the local engine"
                " (drop and recreate it, and its streams, instead)",
                statement=text,
            )
        with self._txn():
            sql, bound, _ = self._translate(expr, None, ddl_stmt=True)
            self._run(sql, bound)
            version = self._next_version()
            self.catalog.set_version(key, version, self.now())
        return Rows(message="Statement executed successfully.")

    # change tracking ----------------------------------------------------------
    def _track(self, key: Key) -> TrackedTable:
        """Turn on change tracking (``ALTER TABLE ... SET CHANGE_TRACKING = TRUE``)."""
        if key in self.catalog.tracked:
            return self.catalog.tracked[key]
        row = self.con.execute(
            "SELECT sql FROM duckdb_tables() WHERE lower(schema_name) = lower(?)"
            " AND lower(table_name) = lower(?) AND database_name = current_database()",
            list(key),
        ).fetchone()
        if row is None:
            raise SqlError(f"Table '{key[0]}.{key[1]}' does not exist or not authorized.")
        tid = int(self.catalog.meta.get("next_tid", "1"))
        self.catalog.set_meta("next_tid", str(tid + 1))
        tt = TrackedTable(schema=key[0], name=key[1], tid=tid, columns=[], insert_columns=[])
        phys_ddl, columns, insertable = streams.physical_ddl(row[0], tt)
        tt.columns, tt.insert_columns = columns, insertable
        tt.tracked_since = self.version
        if key in self.catalog.dynamic_tables:  # refreshes log what they insert with its values
            tt.insert_images = self.version
        self.con.execute(phys_ddl)
        ins = ", ".join(streams.q(c) for c in insertable)
        self.con.execute(f"INSERT INTO {tt.phys} ({ins}) SELECT {ins} FROM {self._fq(key)}")
        self.con.execute(f"DROP TABLE {self._fq(key)}")
        cols = ", ".join(streams.q(c) for c in columns)
        self.con.execute(f"CREATE VIEW {self._fq(key)} AS SELECT {cols} FROM {tt.phys}")
        self.con.execute(
            f"CREATE TABLE {tt.log} AS SELECT 0::BIGINT AS _version, TRUE AS _is_insert, * FROM {tt.phys} LIMIT 0"
        )
        self.catalog.save(tt)
        return tt

    def _untrack(self, key: Key, *, reason: str) -> None:
        """Drop a tracked table's storage; its streams go stale (reference 1.7)."""
        tt = self.catalog.tracked[key]
        self.con.execute(f"DROP VIEW IF EXISTS {self._fq(key)}")
        self.con.execute(f"DROP TABLE IF EXISTS {tt.phys}")
        self.con.execute(f"DROP TABLE IF EXISTS {tt.log}")
        self.catalog.delete("TRACKED", key)
        for st in self.catalog.streams.values():
            if (st.source_schema, st.source_name) == key:
                st.stale = True
                st.comment = st.comment or f"stale: {reason}"
                self.catalog.save(st)

    # ------------------------------------------------------------------ DML
    def _dml(self, expr: exp.Expr, text: str, params: Sequence[object] | None) -> Rows:
        target = _dml_target(expr)
        key = self.resolve(target)
        if key in self.catalog.dynamic_tables:
            raise SqlError(f"DML operations are not allowed on dynamic table {key[1]}", statement=text)
        if key in self.catalog.streams:
            raise SqlError(f"{key[1]} is a stream; DML on a stream is not allowed", statement=text)
        with self._txn():
            version = self._next_version()
            tt = self.catalog.tracked.get(key)
            if tt is not None:
                count, ctx = self._captured_dml(expr, tt, version, params, text)
            else:
                sql, bound, ctx = self._translate(expr, params)
                cur = self._run(sql, bound)
                row = cur.fetchone() if cur.description else None
                count = int(row[0]) if row and isinstance(row[0], int) else 0
            self.catalog.set_version(key, version, self.now())
            self._consume(ctx)
        labels: dict[type[exp.Expr], str] = {
            exp.Insert: "number of rows inserted",
            exp.Update: "number of rows updated",
            exp.Delete: "number of rows deleted",
            exp.TruncateTable: "status",
            exp.Merge: "number of rows merged",
        }
        label = labels[type(expr)]
        return Rows(columns=[label], rows=[(count,)], rowcount=count)

    def _captured_dml(
        self,
        expr: exp.Expr,
        tt: TrackedTable,
        version: int,
        params: Sequence[object] | None,
        text: str,
    ) -> tuple[int, tr.Context]:
        """Run DML on a tracked table, logging before/after row images (reference 1.3)."""
        target = _dml_target(expr)
        alias = target.alias_or_name
        phys = exp.to_table(tt.phys, dialect="duckdb")
        aliased = phys.copy()
        aliased.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        star = exp.Returning(expressions=[exp.Star()])
        if isinstance(expr, exp.TruncateTable):
            expr = exp.Delete(this=aliased)
        if isinstance(expr, exp.Merge):
            raise UnsupportedSqlError(
                "MERGE into a change-tracked table is not supported by the local engine; use INSERT, UPDATE and DELETE",
                statement=text,
            )
        if isinstance(expr, exp.Insert):
            if isinstance(expr.this, exp.Schema):
                expr.this.set("this", phys)
            else:
                cols = [exp.to_identifier(c, quoted=True) for c in tt.insert_columns]
                expr.set("this", exp.Schema(this=phys, expressions=cols))
            sql, bound, ctx = self._translate(expr, params)
            return self._insert_logged(tt, version, sql, bound, []), ctx
        if isinstance(expr, exp.Delete):
            expr.set("this", aliased)
            expr.set("returning", star)
            sql, bound, ctx = self._translate(expr, params)
            return self._log(tt, version, self._run(sql, bound)), ctx
        assert isinstance(expr, exp.Update)
        fast = self._update_by_delete_insert(expr, tt, version, params, alias, aliased)
        if fast is not None:
            return fast
        expr.set("this", aliased)
        # the before-images: same target, FROM and WHERE as the UPDATE
        before = exp.select(exp.Column(this=exp.Star(), table=exp.to_identifier(alias)))
        before = before.from_(aliased.copy())
        from_ = expr.args.get("from_") or expr.args.get("from")
        if from_ is not None:
            before = before.join(from_.this.copy(), join_type="cross")
            for j in from_.args.get("joins") or []:
                before = before.join(j.copy())
        if expr.args.get("where") is not None:
            before = before.where(expr.args["where"].this.copy())
        before_sql = f"SELECT DISTINCT ON (_row_id) * FROM ({before.sql(dialect='duckdb')})"
        ctx = self._context()
        rules = (*tr.RULES, self._qualify_rule(expr))
        before_expr = tr.apply_rules(_duck(before_sql), ctx, rules)
        bsql, bbound = tr.render(before_expr, ctx, params)
        expr = tr.apply_rules(expr, ctx, rules)
        usql, ubound = tr.render(expr, ctx, params)
        tmp = f'"_mcdc_before_{uuid.uuid4().hex}"'
        self._run(f"CREATE TEMP TABLE {tmp} AS {bsql}", bbound)
        try:
            self._log_update(tt, version, tmp)
            row = self._run(usql, ubound).fetchone()
        finally:
            self.con.execute(f"DROP TABLE IF EXISTS {tmp}")
        return (int(row[0]) if row else 0), ctx

    def _update_by_delete_insert(
        self,
        expr: exp.Update,
        tt: TrackedTable,
        version: int,
        params: Sequence[object] | None,
        alias: str,
        aliased: exp.Table,
    ) -> tuple[int, tr.Context] | None:
        """UPDATE as one DELETE ... RETURNING (the before-images, in one pass) and an
        INSERT of the new images under the same row ids.

        Used when the statement cannot see its own effect: no subquery, at most one
        FROM source, only plain columns assigned. Returns None to fall back to the
        general path otherwise.
        """
        from_ = expr.args.get("from_") or expr.args.get("from")
        if expr.find(exp.Subquery, exp.Exists) is not None or (from_ is not None and from_.args.get("joins")):
            return None
        assigned: dict[str, exp.Expr] = {}
        for eq in expr.expressions:
            if not isinstance(eq, exp.EQ) or not isinstance(eq.this, exp.Column):
                return None
            name = next((c for c in tt.insert_columns if c.upper() == eq.this.name.upper()), None)
            if name is None:
                return None
            assigned[name] = eq.expression
        ctx = self._context()
        rules = (*tr.RULES, self._qualify_rule(expr))
        where = expr.args.get("where")
        delete = exp.Delete(this=aliased.copy(), returning=exp.Returning(expressions=[exp.Star()]))
        source_of: exp.Expr | None = from_.this if from_ is not None else None
        staged: str | None = None
        if source_of is not None and not isinstance(source_of, exp.Table):
            # a VALUES list or subquery is rendered and evaluated once, not once per statement
            staged = f"__mcdc_src_{uuid.uuid4().hex}"
            name = source_of.alias_or_name
            # moved, not copied: the UPDATE is not used again once it gets here
            stage = exp.select("*").from_(source_of, copy=False)
            ssql, sbound = tr.render(tr.apply_rules(stage, ctx, rules), ctx, params, keep=False)
            self._run(f'CREATE TEMP TABLE "{staged}" AS {ssql}', sbound)
            source_of = exp.Table(this=exp.to_identifier(staged), alias=exp.TableAlias(this=exp.to_identifier(name)))
        if source_of is not None:
            delete.set("using", [source_of.copy()])
        condition = where.this.copy() if where is not None and source_of is not None else None
        if where is not None:
            delete.set("where", where)
        dsql, dbound = tr.render(tr.apply_rules(delete, ctx, rules), ctx, params, keep=False)
        ret = f"__mcdc_ret_{uuid.uuid4().hex}"
        source = exp.Table(this=exp.to_identifier(ret), alias=exp.TableAlias(this=exp.to_identifier(alias)))
        picks = [exp.column("_row_id", table=alias)] + [
            exp.alias_(assigned[c].copy() if c in assigned else exp.column(c, table=alias, quoted=True), c, quoted=True)
            for c in tt.insert_columns
        ]
        new_rows = exp.select(*picks).from_(source)
        if source_of is not None:
            # the condition pairs each returned row with its source row; without a source,
            # every returned row matched it already
            new_rows = new_rows.join(source_of, join_type="cross", copy=False)
            if condition is not None:
                new_rows = new_rows.where(condition, copy=False)
        isql, ibound = tr.render(tr.apply_rules(new_rows, ctx, rules), ctx, params, keep=False)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the extra copy is only of the changed rows
                table = self._run(dsql, dbound).to_arrow_table()
            if table is None or table.num_rows == 0:
                return 0, ctx
            return self._reinsert(tt, version, table, ret, isql, ibound), ctx
        finally:
            if staged is not None:
                self.con.execute(f'DROP TABLE IF EXISTS "{staged}"')

    def _reinsert(
        self, tt: TrackedTable, version: int, table: Any, ret: str, isql: str, ibound: Sequence[object]
    ) -> int:
        """Log the update pairs for the deleted rows ``table`` and insert their new images."""
        self.con.register(ret, table)
        try:
            self._log_update(tt, version, ret)
            cols = ", ".join(streams.q(c) for c in ["_row_id", *tt.insert_columns])
            self._run(f"INSERT INTO {tt.phys} ({cols}) SELECT DISTINCT ON (_row_id) * FROM ({isql})", ibound)
        finally:
            self.con.unregister(ret)
        return int(table.num_rows)

    def _insert_logged(
        self, tt: TrackedTable, version: int, sql: str, bound: Sequence[object], columns: list[str]
    ) -> int:
        """Run the INSERT ``sql`` into ``tt`` and log the rows it added (``_row_id`` and
        ``columns``); returns how many.

        Row ids come from one sequence, so the rows one statement adds are those with ids
        above a value drawn just before it: the log takes them from the table, through its
        min/max statistics, instead of a copy of every id (or row) sent back to Python.
        """
        mark = self.con.execute(f"SELECT nextval('{SCHEMA}.row_ids')").fetchone()
        row = self._run(sql, bound).fetchone()
        added = int(row[0]) if row else 0
        if added:
            new_rows = f"(SELECT * FROM {tt.phys} WHERE _row_id > {int(mark[0] if mark else 0)})"
            self._log_images(tt, version, new_rows, columns, inserted=True)
        return added

    def _log_images(
        self, tt: TrackedTable, version: int, relation: str, columns: list[str] | None, *, inserted: bool = False
    ) -> int:
        """Log the rows in ``relation`` (``_row_id`` and ``columns``; None: all) as before-images,
        or with ``inserted`` as inserts with their values; returns how many. Columns left out
        are NULL in the log."""
        faults.hit("capture.between")
        cols = "".join(", " + streams.q(c) for c in (tt.columns if columns is None else columns))
        row = self.con.execute(
            f"INSERT INTO {tt.log} (_version, _is_insert, _row_id{cols})"
            f" SELECT {int(version)}, {'TRUE' if inserted else 'FALSE'}, _row_id{cols} FROM {relation}"
        ).fetchone()
        return int(row[0]) if row else 0

    def _log_update(self, tt: TrackedTable, version: int, relation: str) -> None:
        """An update pair for each row of ``relation`` (the before-images), in one statement."""
        faults.hit("capture.between")
        cols = ", ".join(["_version", "_is_insert", "_row_id", *(streams.q(c) for c in tt.columns)])
        nulls = ", ".join("NULL" for _ in tt.columns)
        self.con.execute(
            f"INSERT INTO {tt.log} ({cols}) SELECT {int(version)}, FALSE, * FROM {relation}"
            f" UNION ALL SELECT {int(version)}, TRUE, _row_id, {nulls} FROM {relation}"
        )

    def _log(self, tt: TrackedTable, version: int, cur: duckdb.DuckDBPyConnection) -> int:
        """Log the rows a DELETE ... RETURNING * gave back as before-images; returns how many."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the extra copy is only of the changed rows
            table = cur.to_arrow_table()
        if table is None or table.num_rows == 0:
            return 0
        name = f"_mcdc_ret_{uuid.uuid4().hex}"
        self.con.register(name, table)
        try:
            return self._log_images(tt, version, name, None)
        finally:
            self.con.unregister(name)

    def _consume(self, ctx: tr.Context) -> None:
        """Advance the offset of every stream a committed DML statement read (reference 1.4)."""
        read_at = self._read_version if self._read_version is not None else self.version
        for table in ctx.streams:
            key = self.resolve(table)
            if self._user_txn:
                # every read in an explicit transaction sees the same change set:
                # the offset moves when the transaction commits (reference 1.5)
                self._pending_offsets[key] = read_at
                continue
            st = self.catalog.streams[key]
            st.offset = read_at
            st.last_consumed_on = self.now()
            self.catalog.save(st)

    # ----------------------------------------------------- resolver (translate)
    def stream_sql(self, table: exp.Table) -> str | None:
        key = self.resolve(table)
        st = self.catalog.streams.get(key)
        if st is None:
            return None
        tt = self._stream_source(st)
        v1 = self._read_version if self._read_version is not None else self.version
        return streams.change_set_sql(tt, st.offset, v1, st.mode == "APPEND_ONLY")

    def _stream_source(self, st: StreamState) -> TrackedTable:
        from moviecdc.emulator.pipeline import is_stale

        tt = self.catalog.tracked.get((st.source_schema, st.source_name))
        if tt is None or is_stale(self, st):
            raise SqlError(
                f"Stream {st.database}.{st.schema}.{st.name} has become stale. Recreate it"
                " (CREATE OR REPLACE STREAM): unconsumed changes are lost."
            )
        return tt

    def stream_has_data(self, name: str) -> bool:
        key = self.resolve(ddl._Parser(name).name())
        st = self.catalog.streams.get(key)
        if st is None:
            raise SqlError(f"Stream '{name}' does not exist or not authorized.")
        tt = self._stream_source(st)
        v1 = self._read_version if self._read_version is not None else self.version
        row = self.con.execute(streams.has_changes_sql(tt, st.offset, v1)).fetchone()
        if not (row and row[0]):
            # an empty stream checked by SYSTEM$STREAM_HAS_DATA restarts its staleness clock (1.6)
            if not self.read_only:
                st.last_consumed_on = self.now()
                self.catalog.save(st)
            return False
        return True

    def statement_time_sql(self) -> str:
        return f"CAST('{self.statement_time().isoformat()}' AS TIMESTAMPTZ)"

    def table_function_sql(self, name: str, kwargs: dict[str, object]) -> str:
        from moviecdc.emulator import history

        return history.table_function_sql(self, name, kwargs)

    # ------------------------------------------------------------- CDC objects
    def _cdc(self, stmt: ddl.CdcStatement, text: str) -> Rows:
        from moviecdc.emulator import objects

        return objects.handle(self, stmt, text)

    def new_id(self) -> str:
        return str(uuid.uuid4())


def _duck(sql: str) -> exp.Expr:
    import sqlglot

    return sqlglot.parse_one(sql, read="duckdb")


def _is_access_control(expr: exp.Expr) -> bool:
    """GRANT / REVOKE and CREATE / DROP ROLE: accepted and ignored by the local engine."""
    if isinstance(expr, exp.Grant | exp.Revoke):
        return True
    if isinstance(expr, exp.Drop) and (expr.args.get("kind") or "").upper() == "ROLE":
        return True
    if isinstance(expr, exp.Command):
        name = expr.name.upper()
        rest = str(expr.expression or "").strip().upper()
        return name in {"GRANT", "REVOKE"} or (name in {"CREATE", "DROP"} and rest.startswith("ROLE"))
    return False


def _dml_target(expr: exp.Expr) -> exp.Table:
    table = expr.expressions[0] if isinstance(expr, exp.TruncateTable) else expr.this
    if isinstance(table, exp.Schema):
        table = table.this
    if not isinstance(table, exp.Table):
        raise SqlError("cannot determine the target table of this statement")
    return table


def _pop_change_tracking(expr: exp.Create) -> bool:
    props = expr.args.get("properties")
    if props is None:
        return False
    found = False
    for prop in list(props.expressions):
        if isinstance(prop, exp.Property) and prop.name.upper() == "CHANGE_TRACKING":
            found = prop.args["value"].sql().upper() == "TRUE"
            props.expressions.remove(prop)
    return found


def _duck_message(exc: duckdb.Error) -> str:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return msg
