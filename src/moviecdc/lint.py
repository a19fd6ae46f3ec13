"""`moviecdc lint`: find the known traps in rendered SQL, without a connection.

Each check is a function over the parsed statements of all scripts; ``CHECKS``
lists them. Codes: MC001 CREATE OR REPLACE on a stream or a stream's source table,
MC002 a task reading a stream without a WHEN SYSTEM$STREAM_HAS_DATA guard, MC003 a
DOWNSTREAM dynamic table no dynamic table reads, MC004 a non-deterministic function
in a dynamic table's query, MC005 a stream action compared with 'UPDATE'.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from moviecdc.emulator import ddl
from moviecdc.emulator.objects import analyze_query
from moviecdc.emulator.translate import table_names
from moviecdc.errors import MovieCdcError
from moviecdc.render import RenderedScript


@dataclass(frozen=True)
class Finding:
    script: str
    line: int
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {
            "script": self.script,
            "line": self.line,
            "code": self.code,
            "message": self.message,
        }


@dataclass(frozen=True)
class Parsed:
    script: str
    line: int
    sql: str
    cdc: ddl.CdcStatement | None
    expr: exp.Expression | None


def _parse(scripts: Sequence[RenderedScript]) -> list[Parsed]:
    out: list[Parsed] = []
    for script in scripts:
        for stmt in script.statements:
            try:
                cdc = ddl.parse_cdc(stmt.sql)
            except MovieCdcError:
                cdc = None
            expr = None
            if cdc is None:
                try:
                    expr = sqlglot.parse_one(stmt.sql, read="snowflake")
                except sqlglot.errors.ParseError:
                    expr = None
            out.append(Parsed(script.name, stmt.line, stmt.sql, cdc, expr))
    return out


def _last(name: str) -> str:
    return name.split(".")[-1].strip('"').upper()


def check_replace(stmts: list[Parsed]) -> list[Finding]:
    sources = {_last(str(p.cdc.source)) for p in stmts if isinstance(p.cdc, ddl.CreateStream)}
    found = []
    for p in stmts:
        if isinstance(p.cdc, ddl.CreateStream) and p.cdc.or_replace and p.cdc.at_stream is None:
            found.append(Finding(p.script, p.line, "MC001", f"CREATE OR REPLACE STREAM {p.cdc.name}"
                                 " discards every unconsumed change on redeploy; use IF NOT EXISTS"))  # fmt: skip
        if (
            isinstance(p.expr, exp.Create)
            and p.expr.args.get("replace")
            and ((p.expr.args.get("kind") or "").upper() == "TABLE")
        ):
            target = p.expr.this.this if isinstance(p.expr.this, exp.Schema) else p.expr.this
            if target.name.upper() in sources:
                found.append(Finding(p.script, p.line, "MC001", f"CREATE OR REPLACE TABLE {target.name}"
                                     " drops its rows and makes its streams stale; use IF NOT EXISTS"))  # fmt: skip
    return found


def check_task_guard(stmts: list[Parsed]) -> list[Finding]:
    streams = {_last(str(p.cdc.name)) for p in stmts if isinstance(p.cdc, ddl.CreateStream)}
    found = []
    for p in stmts:
        if isinstance(p.cdc, ddl.CreateTask):
            body_tables = {m.upper() for m in re.findall(r"[A-Za-z_][A-Za-z0-9_$]*", p.cdc.body)}
            reads = streams & body_tables
            if reads and not (p.cdc.when and "STREAM_HAS_DATA" in p.cdc.when.upper()):
                found.append(Finding(p.script, p.line, "MC002", f"task {p.cdc.name} reads stream"
                                     f" {sorted(reads)[0]} without WHEN SYSTEM$STREAM_HAS_DATA(...):"
                                     " it wakes a warehouse on every run"))  # fmt: skip
    return found


def check_downstream_leaf(stmts: list[Parsed]) -> list[Finding]:
    dts = [p for p in stmts if isinstance(p.cdc, ddl.CreateDynamicTable)]
    read = set().union(*(table_names(p.cdc.query) for p in dts)) if dts else set()  # type: ignore[union-attr]
    return [
        Finding(p.script, p.line, "MC003", f"dynamic table {p.cdc.name} has TARGET_LAG = DOWNSTREAM"  # type: ignore[union-attr]
                " but no dynamic table reads it: Snowflake never refreshes it")
        for p in dts
        if p.cdc.target_lag.upper() == "DOWNSTREAM" and _last(str(p.cdc.name)) not in read  # type: ignore[union-attr]
    ]  # fmt: skip


def check_nondeterministic(stmts: list[Parsed]) -> list[Finding]:
    found = []
    for p in stmts:
        if isinstance(p.cdc, ddl.CreateDynamicTable):
            try:
                ok, reason = analyze_query(sqlglot.parse_one(p.cdc.query, read="snowflake"))
            except sqlglot.errors.ParseError:
                continue
            if not ok and reason and ("function" in reason.lower() or "CURRENT_" in reason.upper()):
                found.append(Finding(p.script, p.line, "MC004", f"dynamic table {p.cdc.name}: {reason}"
                                     " (forces FULL refreshes)"))  # fmt: skip
    return found


def _queries(p: Parsed) -> list[exp.Expression]:
    texts: list[str] = []
    if isinstance(p.cdc, ddl.CreateTask):
        texts.append(p.cdc.body)
    elif isinstance(p.cdc, ddl.CreateDynamicTable):
        texts.append(p.cdc.query)
    out = [p.expr] if p.expr is not None else []
    for text in texts:
        with contextlib.suppress(sqlglot.errors.ParseError):
            out.append(sqlglot.parse_one(text, read="snowflake"))
    return out


_ACTION_COLUMNS = {"METADATA$ACTION", "CHANGE_ACTION"}


def check_update_action(stmts: list[Parsed]) -> list[Finding]:
    found = []
    for p in stmts:
        for query in _queries(p):
            for cmp in query.find_all(exp.EQ, exp.NEQ, exp.In):
                operands = [
                    cmp.this,
                    *(cmp.expressions if isinstance(cmp, exp.In) else [cmp.expression]),
                ]
                cols = [o for o in operands if isinstance(o, exp.Column) and o.name.upper() in _ACTION_COLUMNS]
                lits = [
                    o for o in operands if isinstance(o, exp.Literal) and o.is_string and o.this.upper() == "UPDATE"
                ]
                if cols and lits:
                    found.append(Finding(p.script, p.line, "MC005", f"{cmp.sql(dialect='snowflake')}:"
                                         " a stream's action is only 'INSERT' or 'DELETE', never 'UPDATE';"
                                         " use METADATA$ISUPDATE"))  # fmt: skip
    return found


CHECKS: tuple[Callable[[list[Parsed]], list[Finding]], ...] = (
    check_replace,
    check_task_guard,
    check_downstream_leaf,
    check_nondeterministic,
    check_update_action,
)


def lint_scripts(scripts: Sequence[RenderedScript]) -> list[Finding]:
    """Every finding of every check, in script order."""
    stmts = _parse(scripts)
    findings = [f for check in CHECKS for f in check(stmts)]
    order = {s.name: i for i, s in enumerate(scripts)}
    return sorted(findings, key=lambda f: (order.get(f.script, 0), f.line, f.code))
