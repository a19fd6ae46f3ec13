"""Apply rendered scripts in order, and drop what they created (teardown).

Every template is idempotent (``IF NOT EXISTS`` for stateful objects, ``CREATE OR
ALTER`` for tasks and dynamic tables), so deploying again is always safe: no row
and no stream offset is lost. A deploy that fails stops at the failing statement
and says which file and line it was; the statements before it stay applied and
running deploy again after the fix carries on from there.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from moviecdc import deploy_log, inventory
from moviecdc.deploy_log import HISTORY_TABLE, read_history
from moviecdc.dialect import ddl
from moviecdc.errors import DeployError, MovieCdcError
from moviecdc.inventory import ObjectState
from moviecdc.names import TASK
from moviecdc.render import RenderedScript
from moviecdc.results import Rows
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


ALWAYS = "-- moviecdc: always"  # a script carrying this line is applied on every deploy


@dataclass(frozen=True)
class PlanItem:
    """One script and what deploy will do with it."""

    script: RenderedScript
    status: str  # new | changed | missing | drift | always | unchanged
    notes: tuple[str, ...] = ()

    @property
    def apply(self) -> bool:
        return self.status != "unchanged"

    def as_dict(self) -> dict[str, object]:
        return {"script": self.script.name, "status": self.status, "apply": self.apply, "notes": list(self.notes)}


@dataclass(frozen=True)
class DeployPlan:
    """What deploy will do: each script's status, and each object as the target holds it."""

    items: list[PlanItem]
    objects: list[ObjectState]

    def as_dict(self) -> dict[str, object]:
        return {"scripts": [i.as_dict() for i in self.items], "objects": [o.as_dict() for o in self.objects]}


def _deployed_queries(wh: Warehouse, ns: str) -> dict[str, str]:
    try:
        rows = wh.execute(f"SHOW DYNAMIC TABLES IN SCHEMA {ns}").dicts()
    except MovieCdcError:
        return {}
    out = {}
    for row in rows:
        try:
            stmt = ddl.parse_cdc(str(row.get("text") or ""))
        except MovieCdcError:
            continue
        if isinstance(stmt, ddl.CreateDynamicTable):
            out[str(row["name"]).upper()] = stmt.query
    return out


def _normal(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";").upper()


def plan(wh: Warehouse, ns: str, scripts: Sequence[RenderedScript], *, everything: bool = False) -> list[PlanItem]:
    """The scripts' part of :func:`plan_deploy`."""
    return plan_deploy(wh, ns, scripts, everything=everything).items


def plan_deploy(wh: Warehouse, ns: str, scripts: Sequence[RenderedScript], *, everything: bool = False) -> DeployPlan:
    """Compare the scripts with the deploy history and with the target as it is.

    A script is **new** (never applied), **changed** (its rendered SQL differs from the
    last applied), **missing** (unchanged, but an object it creates is not on the target),
    **drift** (unchanged, but a task or dynamic table it creates was changed outside
    moviecdc: re-applied, which loses nothing), **always** or **unchanged**. A stream or
    table that differs from its template is reported in the notes and left as it is: it
    holds unconsumed changes or data. Notes also say what a change will do: a dynamic
    table whose query changed reinitialises; a changed ``IF NOT EXISTS`` statement leaves
    an existing object as it is.
    """
    objects = inventory.inspect(wh, ns, scripts, ignore=[HISTORY_TABLE])
    by_script: dict[str, list[ObjectState]] = {}
    for obj in objects:
        if obj.script is not None:
            by_script.setdefault(obj.script, []).append(obj)
    history = read_history(wh, ns)
    deployed = _deployed_queries(wh, ns)
    items: list[PlanItem] = []
    for script in scripts:
        if ALWAYS in script.sql:
            status = "always"
        elif script.name not in history:
            status = "new"
        elif history[script.name] != script.checksum or everything:
            status = "changed"
        else:
            status = "unchanged"
        notes: list[str] = []
        mine = by_script.get(script.name, [])
        if status == "unchanged" and any(o.state == inventory.MISSING for o in mine):
            status = "missing"
        elif status == "unchanged" and any(o.reapply for o in mine):
            status = "drift"
        # a changed script's objects differ from it because the template changed, not by drift
        outside = status in ("missing", "drift", "unchanged")
        notes += [
            _object_note(o)
            for o in mine
            if status != "new" and (o.state == inventory.MISSING or (outside and o.state == inventory.DRIFT))
        ]
        if status == "changed":
            for stmt in script.statements:
                cdc = _safe_cdc(stmt.sql)
                if isinstance(cdc, ddl.CreateDynamicTable):
                    old = deployed.get(cdc.name.name.upper())
                    if old is not None and _normal(old) != _normal(cdc.query):
                        notes.append(f"{cdc.name.name} will reinitialise: its query changed")
                elif "IF NOT EXISTS" in _normal(stmt.sql).split(" AS ")[0]:
                    notes.append(f"line {stmt.line}: IF NOT EXISTS leaves an existing object as it is")
        items.append(PlanItem(script, status, tuple(notes)))
    return DeployPlan(items, objects)


def _object_note(obj: ObjectState) -> str:
    what = f"{obj.kind.lower()} {obj.name}"
    if obj.state == inventory.MISSING:
        if obj.kind == "STREAM":
            return f"{what} is missing: recreated (changes made while it was gone were not captured)"
        if obj.kind == "TABLE":
            return f"{what} is missing: recreated empty"
        return f"{what} is missing: recreated"
    if obj.reapply:
        return f"{what} was changed outside moviecdc ({obj.detail}): put back as its template says"
    return f"{what} differs from its template ({obj.detail}): left as it is, it holds data or unconsumed changes"


def _safe_cdc(sql: str) -> ddl.CdcStatement | None:
    try:
        return ddl.parse_cdc(sql)
    except MovieCdcError:
        return None


def deploy(
    wh: Warehouse,
    scripts: Sequence[RenderedScript],
    *,
    ns: str | None = None,
    user: str = "moviecdc",
    items: Sequence[PlanItem] | None = None,
    on_statement: Callable[[AppliedStatement], None] | None = None,
    on_note: Callable[[str], None] | None = None,
) -> DeployReport:
    """Apply the scripts in order: all of them, or those ``items`` says to apply.

    With ``ns`` each applied script is recorded in ``<ns>.MOVIECDC_DEPLOY_HISTORY``
    (name, checksum of the rendered SQL, time, user, outcome), and so is the deploy
    itself (STARTED, then FINISHED or FAILED: :mod:`moviecdc.deploy_log`). A deploy that
    fails resumes the task if it had suspended it, so a failed deploy does not stop the
    pipeline; one that is killed is finished by the next ``run``.

    Raises:
        DeployError: a statement failed; names the script, line and statement.
    """
    report = DeployReport()
    todo = [i.script for i in items if i.apply] if items is not None else list(scripts)
    deploy_id: str | None = None
    suspended = False  # whether this deploy suspended a task (a failure resumes it)
    if ns is not None:
        found = deploy_log.unfinished(wh, ns)
        if found is not None and on_note is not None:
            on_note(f"{found.describe()}; this deploy finishes it")
    for script in todo:
        if ns is not None and deploy_id is None:  # once the schema exists
            deploy_id = deploy_log.start(wh, ns, user)
        for stmt in script.statements:
            try:
                res = wh.execute(stmt.sql)
            except MovieCdcError as exc:
                if ns is not None:
                    _after_failure(wh, ns, script, deploy_id, user, exc.message, on_note, resume=suspended)
                raise DeployError(
                    f"deploy stopped at {script.name} line {stmt.line} ({summary(stmt.sql)}): {exc.message}",
                    hint=f"{len(report.applied)} statement(s) before it were applied;"
                    " fix the cause and run deploy again",
                ) from exc
            applied = AppliedStatement(script.name, stmt.line, summary(stmt.sql), res.message)
            report.applied.append(applied)
            suspended = suspended or _suspends_task(stmt.sql)
            if on_statement is not None:
                on_statement(applied)
        if ns is not None:
            deploy_log.record(wh, ns, script.name, script.checksum, "SUCCESS", user, None)
    if ns is not None:
        if deploy_id is None:  # nothing to apply: still close what a killed deploy left open
            deploy_id = deploy_log.start(wh, ns, user)
        if deploy_id is not None:
            deploy_log.finish(wh, ns, deploy_id, "FINISHED")
    return report


def _suspends_task(sql: str) -> bool:
    words = sql.split()
    return len(words) >= 3 and [w.upper() for w in words[:2]] == ["ALTER", "TASK"] and words[-1].upper() == "SUSPEND"


def _after_failure(
    wh: Warehouse,
    ns: str,
    script: RenderedScript,
    deploy_id: str | None,
    user: str,
    error: str,
    on_note: Callable[[str], None] | None,
    *,
    resume: bool,
) -> None:
    """Record the failure, and leave the task running if this deploy suspended it."""
    with contextlib.suppress(MovieCdcError):  # the schema itself may be what failed
        deploy_log.record(wh, ns, script.name, script.checksum, "FAILED", user, error)
    if resume and deploy_log.task_state(wh, ns) == "suspended":
        try:
            deploy_log.resume_task(wh, ns)
            if on_note is not None:
                on_note(f"task {TASK} resumed: this deploy had suspended it to change it")
        except MovieCdcError as exc:
            if on_note is not None:
                on_note(f"task {TASK} is left suspended (resuming it failed: {exc.message})")
    if deploy_id is not None:
        with contextlib.suppress(MovieCdcError):
            deploy_log.finish(wh, ns, deploy_id, "FAILED", error)


@dataclass(frozen=True)
class CreatedObject:
    kind: str  # TABLE | STREAM | TASK | DYNAMIC TABLE | VIEW | SEQUENCE
    name: str


def created_objects(scripts: Sequence[RenderedScript]) -> list[CreatedObject]:
    """The objects the scripts create, in creation order (schemas excluded), named as SQL."""
    return [CreatedObject(o.kind, o.qualified) for o in inventory.expected_objects(scripts)]


def teardown_statements(scripts: Sequence[RenderedScript]) -> list[str]:
    """DROP statements for everything the scripts create, dependents first."""
    objects = created_objects(scripts)
    stmts: list[str] = []
    for obj in objects:  # stop the task before anything it reads disappears
        if obj.kind == "TASK":
            stmts.append(f"ALTER TASK IF EXISTS {obj.name} SUSPEND")
    stmts += [f"DROP {o.kind} IF EXISTS {o.name}" for o in reversed(objects)]
    return stmts


def teardown_history_statement(ns: str) -> str:
    return f"DROP TABLE IF EXISTS {ns}.{HISTORY_TABLE}"


@dataclass(frozen=True)
class TeardownReport:
    """What teardown ran, and which objects were really there to drop."""

    statements: list[str]
    dropped: list[str]  # the DROP statements that dropped something


def was_dropped(result: Rows) -> bool:
    """Whether a DROP ... IF EXISTS dropped an object: Snowflake answers "<name>
    successfully dropped." when it did, "Drop statement executed successfully (<name>
    already dropped)." when there was nothing to drop (both targets say the same)."""
    status = result.message or (str(result.rows[0][0]) if result.rows and result.rows[0] else "")
    return status.strip().endswith("successfully dropped.")


def teardown(wh: Warehouse, scripts: Sequence[RenderedScript], ns: str | None = None) -> TeardownReport:
    """Drop every object the scripts create (and the deploy history)."""
    stmts = teardown_statements(scripts) + ([teardown_history_statement(ns)] if ns else [])
    dropped: list[str] = []
    for sql in stmts:
        result = wh.execute(sql)
        if sql.startswith("DROP") and was_dropped(result):
            dropped.append(sql)
    return TeardownReport(stmts, dropped)
