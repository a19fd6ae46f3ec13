"""What the target really holds, against what the templates define: the objects a deploy
must recreate, those changed outside moviecdc (drift), and those it does not know.

Both targets answer the same monitoring SQL (``SHOW TABLES / VIEWS / SEQUENCES / STREAMS /
TASKS / DYNAMIC TABLES IN SCHEMA``, ``DESCRIBE TABLE``), so the check is the same on a
Snowflake account and on the local engine. Definitions are compared where SHOW gives
them: a task's body, condition, schedule and warehouse; a dynamic table's query, target
lag and warehouse; a stream's source table and mode; a table's columns.

What may be re-applied is what loses nothing: a task or a dynamic table is
``CREATE OR ALTER``ed back to its template (a dynamic table whose query changed
reinitialises from its inputs). A stream holds the offset of changes not yet consumed and
a table holds data: when those differ from their template, the difference is reported
and never "fixed" by replacing them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlglot
from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.dialect.schedule import parse_schedule, parse_target_lag
from moviecdc.errors import MovieCdcError
from moviecdc.render import RenderedScript
from moviecdc.warehouse.base import Warehouse

OK, MISSING, DRIFT, EXTRA = "ok", "missing", "drift", "extra"
REAPPLIABLE = frozenset({"TASK", "DYNAMIC TABLE"})  # CREATE OR ALTER back to the template loses nothing
_SHOW = {
    "TABLE": "TABLES",
    "VIEW": "VIEWS",
    "SEQUENCE": "SEQUENCES",
    "STREAM": "STREAMS",
    "TASK": "TASKS",
    "DYNAMIC TABLE": "DYNAMIC TABLES",
}


@dataclass(frozen=True)
class Expected:
    """An object a template creates."""

    kind: str  # TABLE | VIEW | SEQUENCE | STREAM | TASK | DYNAMIC TABLE
    name: str  # as Snowflake resolves it (unquoted: upper case)
    script: str
    statement: str
    qualified: str  # the qualified name as SQL that names the same object (quotes kept)


@dataclass(frozen=True)
class ObjectState:
    """One object of the schema: expected and there (ok), expected and not there (missing),
    there but not as its template says (drift), or there and unknown to the templates (extra)."""

    kind: str
    name: str
    state: str
    detail: str = ""
    script: str | None = None

    @property
    def reapply(self) -> bool:
        """Whether deploy re-applies the script that creates it."""
        return self.state == MISSING or (self.state == DRIFT and self.kind in REAPPLIABLE)

    def as_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "state": self.state, "detail": self.detail,
                "script": self.script}  # fmt: skip


def expected_objects(scripts: Sequence[RenderedScript]) -> list[Expected]:
    """The objects the scripts create, in creation order (schemas excluded)."""
    out: dict[tuple[str, str], Expected] = {}
    for script in scripts:
        for stmt in script.statements:
            found = _created(stmt.sql)
            if found is not None and found[:2] not in out:
                out[found[:2]] = Expected(found[0], found[1], script.name, stmt.sql, found[2])
    return list(out.values())


def _created(sql: str) -> tuple[str, str, str] | None:
    """(kind, resolved name, qualified SQL name) of the object ``sql`` creates, if any."""
    try:
        cdc = ddl.parse_cdc(sql)
    except MovieCdcError:
        return None
    kinds = {ddl.CreateStream: "STREAM", ddl.CreateTask: "TASK", ddl.CreateDynamicTable: "DYNAMIC TABLE"}
    if cdc is not None:
        kind = kinds.get(type(cdc))
        return (kind, cdc.name.name, cdc.name.sql()) if kind else None  # type: ignore[union-attr]
    try:
        expr = sqlglot.parse_one(sql, read="snowflake")
    except sqlglot.errors.ParseError:
        return None
    if isinstance(expr, exp.Create):
        kind = (expr.args.get("kind") or "").upper()
        table = expr.this.this if isinstance(expr.this, exp.Schema) else expr.this
        if kind in {"TABLE", "VIEW", "SEQUENCE"} and isinstance(table, exp.Table):
            ident = table.this
            resolved = ident.name if getattr(ident, "quoted", False) else ident.name.upper()
            return kind, resolved, table.sql(dialect="snowflake")
    return None


def inspect(
    wh: Warehouse, ns: str, scripts: Sequence[RenderedScript], *, ignore: Sequence[str] = ()
) -> list[ObjectState]:
    """Every object the scripts define, as the target holds it; then the schema's other
    objects (``ignore``: names that are not the pipeline's but are expected, such as the
    deploy history). An unreadable schema (not deployed yet) makes every object missing."""
    shown = {kind: _show(wh, ns, kind) for kind in _SHOW}
    states: list[ObjectState] = []
    seen: set[tuple[str, str]] = set()
    for obj in expected_objects(scripts):
        rows = shown[obj.kind]
        row = rows.get(obj.name)
        seen.add((obj.kind, obj.name))
        if obj.kind in {"TABLE", "DYNAMIC TABLE"}:
            seen.add(("TABLE" if obj.kind == "DYNAMIC TABLE" else "DYNAMIC TABLE", obj.name))
        if row is None:
            states.append(ObjectState(obj.kind, obj.name, MISSING, "not found on the target", obj.script))
            continue
        difference = _difference(wh, ns, obj, row)
        if difference:
            states.append(ObjectState(obj.kind, obj.name, DRIFT, difference, obj.script))
        else:
            states.append(ObjectState(obj.kind, obj.name, OK, "", obj.script))
    skip = {n.upper() for n in ignore}
    for kind, rows in shown.items():
        for name in rows:
            if (kind, name) not in seen and name.upper() not in skip:
                if kind == "TABLE" and name in shown["DYNAMIC TABLE"]:
                    continue  # SHOW TABLES lists dynamic tables too
                states.append(ObjectState(kind, name, EXTRA, "not defined by the templates: left as it is"))
    return states


def _show(wh: Warehouse, ns: str, kind: str) -> dict[str, dict[str, object]]:
    try:
        rows = wh.execute(f"SHOW {_SHOW[kind]} IN SCHEMA {ns}").dicts()
    except MovieCdcError:
        return {}
    return {str(r["name"]): r for r in rows}


def _normal(sql: object) -> str:
    return " ".join(str(sql or "").split()).rstrip(";").upper()


def _difference(wh: Warehouse, ns: str, obj: Expected, row: dict[str, object]) -> str:
    """How the object on the target differs from its template ("" when it does not)."""
    if obj.kind == "TABLE":
        return _table_difference(wh, ns, obj)
    try:
        want = ddl.parse_cdc(obj.statement)
    except MovieCdcError:
        return ""
    diffs: list[str] = []
    if isinstance(want, ddl.CreateStream):
        source = str(row.get("table_name") or "").split(".")[-1].strip('"')
        if source.upper() != want.source.name.upper():
            diffs.append(f"reads {source}, not {want.source.name}")
        mode = str(row.get("mode") or "DEFAULT").upper()
        if (mode == "APPEND_ONLY") != want.append_only:
            diffs.append(f"mode {mode}")
        if str(row.get("stale")).lower() == "true":
            diffs.append("stale")
    elif isinstance(want, ddl.CreateTask):
        if _normal(row.get("definition")) != _normal(want.body):
            diffs.append("its body changed")
        if _normal(row.get("condition")) != _normal(want.when):
            diffs.append("its WHEN condition changed")
        have_schedule = row.get("schedule") or None  # NULL in SHOW TASKS for a triggered task
        if want.schedule is None and have_schedule is not None:
            diffs.append(f"schedule {have_schedule}, not triggered (no schedule)")
        elif want.schedule is not None and have_schedule is None:
            diffs.append(f"triggered (no schedule), not schedule {want.schedule}")
        elif want.schedule is not None and _schedule(have_schedule) != _schedule(want.schedule):
            diffs.append(f"schedule {have_schedule}, not {want.schedule}")
        if want.warehouse and _normal(row.get("warehouse")) != _normal(want.warehouse):
            diffs.append(f"warehouse {row.get('warehouse')}, not {want.warehouse}")
    elif isinstance(want, ddl.CreateDynamicTable):
        try:
            have = ddl.parse_cdc(str(row.get("text") or ""))
        except MovieCdcError:
            have = None
        if isinstance(have, ddl.CreateDynamicTable) and _normal(have.query) != _normal(want.query):
            diffs.append("its query changed (re-applying reinitialises it)")
        if _lag(row.get("target_lag")) != _lag(want.target_lag):
            diffs.append(f"target lag {row.get('target_lag')}, not {want.target_lag}")
        if want.warehouse and _normal(row.get("warehouse")) != _normal(want.warehouse):
            diffs.append(f"warehouse {row.get('warehouse')}, not {want.warehouse}")
    return "; ".join(diffs)


def _schedule(text: object) -> str:
    try:
        return parse_schedule(str(text)).describe()
    except MovieCdcError:
        return _normal(text)


def _lag(text: object) -> str:
    try:
        return parse_target_lag(str(text)).describe()
    except MovieCdcError:
        return _normal(text)


def _table_difference(wh: Warehouse, ns: str, obj: Expected) -> str:
    try:
        expr = sqlglot.parse_one(obj.statement, read="snowflake")
    except sqlglot.errors.ParseError:
        return ""
    schema = expr.this if isinstance(expr, exp.Create) else None
    if not isinstance(schema, exp.Schema):
        return ""  # CREATE TABLE ... AS or LIKE: no column list to compare
    want = [c.this.name if c.this.quoted else c.this.name.upper()
            for c in schema.expressions if isinstance(c, exp.ColumnDef)]  # fmt: skip
    name = obj.name if obj.name == obj.name.upper() else '"' + obj.name.replace('"', '""') + '"'
    try:
        have = [str(r["name"]) for r in wh.execute(f"DESCRIBE TABLE {ns}.{name}").dicts()]
    except MovieCdcError:
        return ""
    gone, added = [c for c in want if c not in have], [c for c in have if c not in want]
    parts = ([f"columns missing: {', '.join(gone)}"] if gone else []) + (
        [f"columns not in the template: {', '.join(added)}"] if added else []
    )
    return "; ".join(parts)
