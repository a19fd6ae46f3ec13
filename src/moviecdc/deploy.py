"""Apply rendered scripts in order, and drop what they created (teardown).

Every template is idempotent (``IF NOT EXISTS`` for stateful objects, ``CREATE OR
ALTER`` for tasks and dynamic tables), so deploying again is always safe: no row
and no stream offset is lost. A deploy that fails stops at the failing statement
and says which file and line it was; the statements before it stay applied and
running deploy again after the fix carries on from there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from moviecdc.emulator import ddl
from moviecdc.errors import DeployError, MovieCdcError
from moviecdc.render import RenderedScript
from moviecdc.warehouse.base import Warehouse


@dataclass(frozen=True)
class AppliedStatement:
    script: str
    line: int
    summary: str  # first line of the statement
    message: str | None


@dataclass
class DeployReport:
    """What a deploy applied."""

    applied: list[AppliedStatement] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "applied": [
                {"script": a.script, "line": a.line, "statement": a.summary, "result": a.message} for a in self.applied
            ]
        }


def summary(sql: str) -> str:
    """The first line of a statement, shortened for messages."""
    first = sql.strip().splitlines()[0] if sql.strip() else ""
    return first if len(first) <= 100 else first[:97] + "..."


def deploy(
    wh: Warehouse,
    scripts: Sequence[RenderedScript],
    *,
    on_statement: Callable[[AppliedStatement], None] | None = None,
) -> DeployReport:
    """Apply every statement of ``scripts`` in order.

    Raises:
        DeployError: a statement failed; names the script, line and statement.
    """
    report = DeployReport()
    for script in scripts:
        for stmt in script.statements:
            try:
                res = wh.execute(stmt.sql)
            except MovieCdcError as exc:
                raise DeployError(
                    f"deploy stopped at {script.name} line {stmt.line} ({summary(stmt.sql)}): {exc.message}",
                    hint=f"{len(report.applied)} statement(s) before it were applied;"
                    " fix the cause and run deploy again",
                ) from exc
            applied = AppliedStatement(script.name, stmt.line, summary(stmt.sql), res.message)
            report.applied.append(applied)
            if on_statement is not None:
                on_statement(applied)
    return report


@dataclass(frozen=True)
class CreatedObject:
    kind: str  # TABLE | STREAM | TASK | DYNAMIC TABLE | VIEW | SEQUENCE
    name: str


def created_objects(scripts: Sequence[RenderedScript]) -> list[CreatedObject]:
    """The objects the scripts create, in creation order (schemas excluded)."""
    out: list[CreatedObject] = []
    for script in scripts:
        for stmt in script.statements:
            obj = _created(stmt.sql)
            if obj is not None and obj not in out:
                out.append(obj)
    return out


def _created(sql: str) -> CreatedObject | None:
    cdc = ddl.parse_cdc(sql)
    if isinstance(cdc, ddl.CreateStream):
        return CreatedObject("STREAM", str(cdc.name))
    if isinstance(cdc, ddl.CreateTask):
        return CreatedObject("TASK", str(cdc.name))
    if isinstance(cdc, ddl.CreateDynamicTable):
        return CreatedObject("DYNAMIC TABLE", str(cdc.name))
    if cdc is not None:
        return None
    try:
        expr = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.ParseError:
        return None
    if isinstance(expr, exp.Create):
        kind = (expr.args.get("kind") or "").upper()
        if kind in {"TABLE", "VIEW", "SEQUENCE"}:
            table = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
            return CreatedObject(kind, table.sql(dialect="snowflake"))
    return None


def teardown_statements(scripts: Sequence[RenderedScript]) -> list[str]:
    """DROP statements for everything the scripts create, dependents first."""
    objects = created_objects(scripts)
    stmts: list[str] = []
    for obj in objects:  # stop the task before anything it reads disappears
        if obj.kind == "TASK":
            stmts.append(f"ALTER TASK IF EXISTS {obj.name} SUSPEND")
    stmts += [f"DROP {o.kind} IF EXISTS {o.name}" for o in reversed(objects)]
    return stmts


def teardown(wh: Warehouse, scripts: Sequence[RenderedScript]) -> list[str]:
    """Drop every object the scripts create; returns the statements run."""
    stmts = teardown_statements(scripts)
    for sql in stmts:
        wh.execute(sql)
    return stmts
