"""The statement path: one Snowflake statement in, its result out.

Statements sqlglot cannot parse (streams, tasks, dynamic tables, SHOW) are parsed by
:mod:`moviecdc.dialect.ddl` and handed to the CDC-statement handler the engine was
built with; everything else is parsed by sqlglot, translated by
:mod:`moviecdc.emulator.translate` and run by DuckDB. DML on a change-tracked table is
captured (:mod:`moviecdc.emulator.capture`); DML that reads a stream consumes it in
the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.dialect.idents import fold
from moviecdc.emulator import capture, error_codes, metadata, resolver, semantics, tables, variables
from moviecdc.emulator import translate as tr
from moviecdc.emulator.session import Session
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import Rows

_DML = (exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.TruncateTable)
_DONE = "Statement executed successfully."
_DML_LABELS: dict[type[exp.Expr], str] = {
    exp.Insert: "number of rows inserted",
    exp.Update: "number of rows updated",
    exp.Delete: "number of rows deleted",
    exp.TruncateTable: "status",
    exp.Merge: "number of rows merged",
}

# ALTER SESSION parameters the engine honours: the value it behaves as (None: any value
# has no effect to emulate). It runs in UTC, commits each statement unless in a
# transaction, and folds unquoted names only.
_SESSION_EMULATED: dict[str, str | None] = {
    "QUERY_TAG": None, "ABORT_DETACHED_QUERY": None, "STATEMENT_TIMEOUT_IN_SECONDS": None,
    "USE_CACHED_RESULT": None, "AUTOCOMMIT": "true", "QUOTED_IDENTIFIERS_IGNORE_CASE": "false", "TIMEZONE": "utc",
}  # fmt: skip

CdcHandler = Callable[["Core", ddl.CdcStatement, str], Rows]


def _snowflake_names(expr: exp.Expr) -> list[str | None] | None:
    """Snowflake's names for a query's unnamed result columns: the expression as written, in
    upper case (``COUNT(*)``, ``SYSTEM$STREAM_HAS_DATA('S')``), where DuckDB would name them
    its own way (``count_star()``). None entries keep DuckDB's name (a column, an alias)."""
    select = expr
    while isinstance(select, exp.SetOperation):
        select = select.this
    if not isinstance(select, exp.Select):
        return None
    names: list[str | None] = []
    for p in select.expressions:
        if isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star)):
            return None  # * expands to columns of its own
        names.append(None if isinstance(p, exp.Alias | exp.Column) else p.sql(dialect="snowflake").upper())
    return names


def _no_cdc(core: Core, stmt: ddl.CdcStatement, text: str) -> Rows:
    raise UnsupportedSqlError("streams, tasks and dynamic tables need the full engine", statement=text)


class Core(Session):
    """A session that runs Snowflake statements; ``cdc`` runs the CDC statements."""

    def __init__(self, path: str | Path = ":memory:", *, cdc: CdcHandler = _no_cdc, **options: Any) -> None:
        """Open ``path``; ``options`` are :class:`Session`'s (clock, database, schema, ...)."""
        super().__init__(path, **options)
        self._cdc = cdc

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
        self.new_statement()
        text = sql.strip().rstrip(";").strip()
        if not text:
            raise SqlError("empty SQL statement")
        try:
            own = variables.statement(self, text)  # UNSET, SHOW VARIABLES
            if own is not None:
                return own
            cdc = ddl.parse_cdc(text)
            if cdc is not None:
                return _as_status(self._cdc(self, cdc, text))
            parsed = tr.parse(text)
            parts = semantics.explode(variables.substitute(parsed, self) if "$" in text else parsed)
            if len(parts) == 1:
                return _as_status(self._sql(parts[0], text, params))
            with self.transaction():  # one statement: all of it happens, or none
                result = Rows()
                for part in parts:
                    result = self._sql(part, text, params)
                return _as_status(result)
        except duckdb.Error as exc:
            err = error_codes.translate(exc)
            if err.unsupported:
                raise UnsupportedSqlError(err.message, statement=text, errno=err.errno, sqlstate=err.sqlstate) from exc
            raise SqlError(str(err), statement=text, errno=err.errno, sqlstate=err.sqlstate) from exc
        except SqlError as exc:
            # the engine's own errors: Snowflake's code (given, or known by the wording) in front
            code = (exc.errno, exc.sqlstate) if exc.errno is not None else error_codes.classify(exc.message)
            if type(exc) is SqlError and code is not None and code[1] is not None:
                errno, state = code
                if not exc.message.startswith(f"{errno:06d} "):
                    raise SqlError(
                        f"{errno:06d} ({state}): {exc.message}",
                        statement=exc.statement or text,
                        hint=exc.hint,
                        errno=errno,
                        sqlstate=state,
                    ) from exc
            raise
        finally:
            self.new_statement()

    def _sql(self, expr: exp.Expr, text: str, params: Sequence[object] | None) -> Rows:
        comment = expr.args.get("table_comment")
        if comment is not None and comment[1] is None:
            comment = None  # a CREATE without a COMMENT
        columns = expr.args.get("col_comments")
        if comment is None and not columns:
            return self._run(expr, text, params)
        with self.transaction():
            result = self._run(expr, text, params)
            table = comment[0] if comment else expr.args.get("comment_table")
            if isinstance(table, exp.Table):
                tables.set_comments(self, table, comment[1] if comment else None, columns or [], text)
            return result

    def _run(self, expr: exp.Expr, text: str, params: Sequence[object] | None) -> Rows:
        if isinstance(expr, exp.Transaction):
            self.begin_user_transaction()
            return Rows(message=_DONE)
        if isinstance(expr, exp.Commit | exp.Rollback):
            self.end_user_transaction(commit=isinstance(expr, exp.Commit))
            return Rows(message=_DONE)
        if isinstance(expr, exp.Use):
            return self._use(expr)
        if isinstance(expr, exp.Set):
            return variables.set_variables(self, expr, text, params)
        if _is_access_control(expr):
            return Rows(
                columns=["status"],
                rows=[("Statement executed successfully (the local engine does not enforce access control).",)],
                message="access control is not enforced locally",
            )
        if isinstance(expr, exp.Create):
            return tables.create(self, expr, text, params)
        if isinstance(expr, exp.Drop):
            return tables.drop(self, expr, text)
        if isinstance(expr, exp.Alter) and (expr.args.get("kind") or "").upper() == "SESSION":
            return self._alter_session(expr)
        if isinstance(expr, exp.Alter):
            return tables.alter(self, expr, text)
        if isinstance(expr, _DML):
            return self._dml(expr, text, params)
        if isinstance(expr, exp.Show):
            return metadata.show(self, expr, text)
        if isinstance(expr, exp.Describe) and (expr.args.get("kind") or "TABLE").upper() in {"TABLE", "VIEW"}:
            return metadata.describe(self, expr, text)
        if isinstance(expr, exp.Command) and expr.name.upper() == "SHOW":
            shown = metadata.show_command(self, text)
            if shown is not None:
                return shown
        if isinstance(expr, exp.Command):
            raise UnsupportedSqlError(f"the local engine cannot run this statement ({expr.name})", statement=text)
        return self._query(expr, params)

    def _query(self, expr: exp.Expr, params: Sequence[object] | None) -> Rows:
        seed = expr.args.get("seed")  # RANDOM(<literal seed>): fakesnow's rewrite leaves it here
        with self.transaction():
            if isinstance(seed, str) and re.fullmatch(r"-?\d+/2147483647-0\.5", seed):
                self.con.execute(f"SELECT setseed({seed})")
            self._check_initialized(expr)
            names = _snowflake_names(expr)  # before translation rewrites the projections
            sql, bound, _ = resolver.translate(self, expr, params)
            cur = self.con.execute(sql, bound or None)
            cols = [d[0] for d in cur.description] if cur.description else []
            if names is not None and len(names) == len(cols):
                cols = [n or c for n, c in zip(names, cols, strict=True)]
            return Rows(columns=cols, rows=cur.fetchall())

    def _check_initialized(self, expr: exp.Expr) -> None:
        """A query of a dynamic table that has not had its first refresh (INITIALIZE =
        ON_SCHEDULE) fails, as on Snowflake, rather than answer with no rows."""
        dts = self.catalog.dynamic_tables
        if not dts:
            return
        ctes = {fold(c.alias) for c in expr.find_all(exp.CTE)}
        for table in expr.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier) or (
                table.args.get("db") is None and fold(table.this) in ctes
            ):
                continue
            dt = dts.get(self.resolve(table))
            if dt is not None and not dt.initialized:
                raise SqlError(
                    f"Dynamic Table '{dt.database}.{dt.schema}.{dt.name}' is not initialized. Please run a manual"
                    " refresh or wait for a scheduled refresh before querying.",
                    errno=2001,
                )

    def _use(self, expr: exp.Use) -> Rows:
        kind = (expr.args.get("kind") or exp.Var(this="SCHEMA")).name.upper()
        table = expr.this
        if kind == "DATABASE":
            self.use(database=fold(table.this))
        elif kind in {"SCHEMA", ""}:
            schema = fold(table.this)
            assert schema is not None
            exists = self.con.execute(
                "SELECT count(*) FROM duckdb_schemas() WHERE database_name = current_database()"
                " AND upper(schema_name) = upper(?)",
                [schema],
            ).fetchone()
            if not (exists and exists[0]) and schema != "INFORMATION_SCHEMA":
                raise SqlError(
                    "SQL compilation error: Object does not exist, or operation cannot be performed.",
                    errno=2043,
                    sqlstate="02000",
                )
            self.use(database=fold(table.args.get("db")), schema=schema)
        # USE ROLE / WAREHOUSE / SECONDARY ROLES: nothing to do locally
        return Rows(message=_DONE)

    def _alter_session(self, expr: exp.Alter) -> Rows:
        """ALTER SESSION SET / UNSET: accepted; the engine keeps Snowflake's defaults (UTC,
        case-insensitive unquoted names), so a parameter other than those is not emulated."""
        ignored: list[str] = []
        for action in expr.args.get("actions") or []:
            unset = bool(action.args.get("unset"))
            for item in action.args.get("expressions") or []:
                eq = item.this if isinstance(item, exp.SetItem) else item
                target = eq.this if isinstance(eq, exp.EQ) else eq
                name = (target.name if isinstance(target, exp.Expr) else str(target)).upper()
                if unset:
                    self.session_parameters.pop(name, None)
                    continue
                value = eq.expression if isinstance(eq, exp.EQ) else None
                text_value = (
                    (value.name if isinstance(value, exp.Literal) else value.sql()) if value is not None else ""
                )
                if isinstance(value, exp.Boolean):
                    text_value = "true" if value.this else "false"
                self.session_parameters[name] = text_value
                if _SESSION_EMULATED.get(name, text_value.lower()) not in (None, text_value.lower()):
                    ignored.append(f"{name} = {text_value}")
                elif name not in _SESSION_EMULATED:
                    ignored.append(name)
        note = f" (not emulated by the local engine: {', '.join(ignored)})" if ignored else ""
        return Rows(columns=["status"], rows=[(_DONE,)], message=_DONE + note)

    def _dml(self, expr: exp.Expr, text: str, params: Sequence[object] | None) -> Rows:
        key = self.resolve(capture.dml_target(expr))
        if key in self.catalog.dynamic_tables:
            raise SqlError(f"DML operations are not allowed on dynamic table {key[1]}", statement=text)
        if key in self.catalog.streams:
            raise SqlError(f"{key[1]} is a stream; DML on a stream is not allowed", statement=text)
        label = _DML_LABELS[type(expr)]
        with self.transaction():
            version = self.next_version()
            tt = self.catalog.tracked.get(key)
            if tt is not None:
                count, ctx = capture.captured_dml(self, expr, tt, version, params, text)
            else:
                sql, bound, ctx = resolver.translate(self, expr, params)
                cur = self.con.execute(sql, bound or None)
                row = cur.fetchone() if cur.description else None
                count = int(row[0]) if row and isinstance(row[0], int) else 0
            self.catalog.set_version(key, version, self.now())
            resolver.consume(self, ctx)
        if isinstance(expr, exp.TruncateTable):
            return Rows(columns=["status"], rows=[(_DONE,)], rowcount=count, message=_DONE)
        if isinstance(expr, exp.Update):  # Snowflake reports the rows updated through a join apart
            return Rows(columns=[label, "number of multi-joined rows updated"], rows=[(count, 0)], rowcount=count)
        return Rows(columns=[label], rows=[(count,)], rowcount=count)


def _as_status(result: Rows) -> Rows:
    """A statement that returns no rows answers with one ``status`` row, as Snowflake does."""
    if result.columns or result.message is None:
        return result
    return Rows(columns=["status"], rows=[(result.message,)], rowcount=result.rowcount, message=result.message)


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
