"""`moviecdc lint`: find the known traps in rendered SQL, without a connection.

The scripts are parsed once into a small model of the pipeline (streams and their
source tables, tasks and the tables they fill from streams, dynamic tables and what
they read); each check in ``CHECKS`` reads that model and reports findings with the
script and line of the statement at fault.

Codes:

- MC000 the statement does not parse (invalid SQL is stopped before anything is sent).
- MC001 CREATE OR REPLACE on a stream, on a table a stream reads, or on a table a task
  fills from a stream: pending changes or history are lost on every deploy.
- MC002 a task without a working trigger: it reads a stream without WHEN
  SYSTEM$STREAM_HAS_DATA on that stream (it wakes a warehouse on every run, or is
  triggered by the wrong stream); it has neither a SCHEDULE, nor a stream WHEN, nor a
  predecessor (it never runs); or it is a serverless triggered task without
  TARGET_COMPLETION_INTERVAL (Snowflake refuses it).
- MC003 a DOWNSTREAM dynamic table that no dynamic table reads: never refreshed.
- MC004 a non-deterministic function in a dynamic table's query: full refreshes.
- MC005 a stream action (METADATA$ACTION or a column copied from it) compared with
  'UPDATE': never true.
- MC006 raw change events aggregated without taking each row's latest image: updates
  count twice.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp

from moviecdc.dialect import ddl
from moviecdc.dialect.query import analyze_query, base_tables, unread_downstream
from moviecdc.errors import MovieCdcError
from moviecdc.render import RenderedScript

CODES = {
    "MC000": "statement does not parse",
    "MC001": "CREATE OR REPLACE on a stream or a stream's source table",
    "MC002": "task without a working trigger (no WHEN SYSTEM$STREAM_HAS_DATA on its stream, or nothing runs it)",
    "MC003": "DOWNSTREAM dynamic table that no dynamic table reads",
    "MC004": "non-deterministic function in a dynamic table's query",
    "MC005": "stream action compared with 'UPDATE'",
    "MC006": "raw change events aggregated without taking the latest image",
}


@dataclass(frozen=True)
class Finding:
    """One trap found: where, which, and what to do."""

    script: str
    line: int
    code: str
    message: str

    def as_dict(self) -> dict[str, object]:
        return {"script": self.script, "line": self.line, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Parsed:
    script: str
    line: int
    sql: str
    cdc: ddl.CdcStatement | None
    expr: exp.Expr | None


@dataclass
class Pipeline:
    """What the scripts build, as far as the checks need it (names upper-cased)."""

    stmts: list[Parsed]
    unparsable: list[Parsed] = field(default_factory=list)
    streams: dict[str, str] = field(default_factory=dict)  # stream -> source table
    event_tables: set[str] = field(default_factory=set)  # filled by a task from a stream
    action_columns: set[str] = field(default_factory=lambda: {"METADATA$ACTION"})
    update_columns: set[str] = field(default_factory=lambda: {"METADATA$ISUPDATE"})
    dynamic: list[tuple[Parsed, exp.Expr | None]] = field(default_factory=list)


def _last(name: object) -> str:
    return str(name).split(".")[-1].strip('"').upper()


def _parse_sql(text: str) -> exp.Expr | None:
    try:
        return sqlglot.parse_one(text, read="snowflake")
    except sqlglot.errors.ParseError:
        return None


def _names(expr: exp.Expr | None) -> set[str]:
    return {t.name.upper() for t in base_tables(expr)} if expr is not None else set()


def build(scripts: Sequence[RenderedScript]) -> Pipeline:
    """Parse every statement and collect streams, event tables and dynamic tables."""
    stmts: list[Parsed] = []
    pipe_errors: list[Parsed] = []
    for script in scripts:
        for stmt in script.statements:
            try:
                cdc = ddl.parse_cdc(stmt.sql)
            except MovieCdcError:
                cdc = None
            stmts.append(Parsed(script.name, stmt.line, stmt.sql, cdc, None if cdc else _parse_sql(stmt.sql)))
    for p in stmts:
        if p.cdc is None and p.expr is None:
            pipe_errors.append(p)
    pipe = Pipeline(stmts, unparsable=pipe_errors)
    for p in stmts:
        if isinstance(p.cdc, ddl.CreateStream):
            pipe.streams[_last(p.cdc.name)] = _last(p.cdc.source)
    for p in stmts:
        if isinstance(p.cdc, ddl.CreateTask):
            body = _parse_sql(p.cdc.body)
            if isinstance(body, exp.Insert) and _names(body.expression) & set(pipe.streams):
                _copied_columns(body, pipe)
        elif isinstance(p.cdc, ddl.CreateDynamicTable):
            pipe.dynamic.append((p, _parse_sql(p.cdc.query)))
    return pipe


def _copied_columns(insert: exp.Insert, pipe: Pipeline) -> None:
    """Record the events table and which of its columns hold the stream's metadata."""
    target = insert.this.this if isinstance(insert.this, exp.Schema) else insert.this
    pipe.event_tables.add(target.name.upper())
    select = insert.expression
    if not isinstance(select, exp.Select) or not isinstance(insert.this, exp.Schema):
        return
    for col, value in zip(insert.this.expressions, select.expressions, strict=False):
        source = value.unalias() if isinstance(value, exp.Alias) else value
        if isinstance(source, exp.Column):
            if source.name.upper() == "METADATA$ACTION":
                pipe.action_columns.add(col.name.upper())
            elif source.name.upper() == "METADATA$ISUPDATE":
                pipe.update_columns.add(col.name.upper())


def _queries(p: Parsed) -> list[exp.Expr]:
    out = [p.expr] if p.expr is not None else []
    if isinstance(p.cdc, ddl.CreateTask):
        out.append(_parse_sql(p.cdc.body))  # type: ignore[arg-type]
    elif isinstance(p.cdc, ddl.CreateDynamicTable):
        out.append(_parse_sql(p.cdc.query))  # type: ignore[arg-type]
    return [q for q in out if q is not None]


# -- checks ---------------------------------------------------------------------
def check_parses(pipe: Pipeline) -> list[Finding]:
    """Invalid SQL is caught before anything is sent to the target."""
    found = []
    for p in pipe.unparsable:
        try:
            sqlglot.parse_one(p.sql, read="snowflake")
        except sqlglot.errors.ParseError as exc:
            detail = (exc.errors[0].get("description") if exc.errors else None) or str(exc).splitlines()[0]
            found.append(Finding(p.script, p.line, "MC000", f"the statement does not parse: {detail}"))
    return found


def check_replace(pipe: Pipeline) -> list[Finding]:
    found = []
    sources = set(pipe.streams.values())
    for p in pipe.stmts:
        if isinstance(p.expr, exp.Create) and p.expr.args.get("replace") and (p.expr.args.get("kind") or "") == "TABLE":
            target = p.expr.this.this if isinstance(p.expr.this, exp.Schema) else p.expr.this
            if target.name.upper() in pipe.event_tables:
                found.append(
                    Finding(p.script, p.line, "MC001", f"CREATE OR REPLACE TABLE {target.name} throws away the change"
                            " history on each deploy; use CREATE TABLE IF NOT EXISTS")
                )  # fmt: skip
        if isinstance(p.cdc, ddl.CreateStream) and p.cdc.or_replace and p.cdc.at_stream is None:
            found.append(
                Finding(p.script, p.line, "MC001", f"CREATE OR REPLACE STREAM {p.cdc.name} discards every"
                        " unconsumed change on each deploy; use CREATE STREAM IF NOT EXISTS")
            )  # fmt: skip
        if isinstance(p.expr, exp.Create) and p.expr.args.get("replace") and (p.expr.args.get("kind") or "") == "TABLE":
            target = p.expr.this.this if isinstance(p.expr.this, exp.Schema) else p.expr.this
            if target.name.upper() in sources:
                found.append(
                    Finding(p.script, p.line, "MC001", f"CREATE OR REPLACE TABLE {target.name} drops its rows and"
                            " change history and makes its streams stale; use CREATE TABLE IF NOT EXISTS")
                )  # fmt: skip
    return found


_HAS_DATA = re.compile(r"STREAM_HAS_DATA\s*\(\s*'([^']*)'", re.IGNORECASE)


def _guarded_streams(when: str | None) -> set[str]:
    """The streams a WHEN condition checks with SYSTEM$STREAM_HAS_DATA (upper-cased)."""
    return {_last(m) for m in _HAS_DATA.findall(when or "")}


def check_task_guard(pipe: Pipeline) -> list[Finding]:
    """MC002: how each task is run. A task without SCHEDULE or AFTER runs only when a
    stream of its WHEN has data (a triggered task); one that reads a stream should be
    guarded (scheduled or child) or triggered (no schedule) by that very stream."""
    found = []
    for p in pipe.stmts:
        task = p.cdc
        if not isinstance(task, ddl.CreateTask):
            continue
        reads = _names(_parse_sql(task.body)) & set(pipe.streams)
        guards = _guarded_streams(task.when)
        triggered = task.schedule is None and not task.after
        if triggered and not guards:
            found.append(
                Finding(p.script, p.line, "MC002", f"task {task.name} has no SCHEDULE, no AFTER and no WHEN"
                        " SYSTEM$STREAM_HAS_DATA(...): it never runs on its own (only EXECUTE TASK runs it);"
                        " add WHEN SYSTEM$STREAM_HAS_DATA on the stream it reads (a triggered task) or a SCHEDULE")
            )  # fmt: skip
        elif reads and not guards:
            found.append(
                Finding(p.script, p.line, "MC002", f"task {task.name} reads stream {sorted(reads)[0]} without"
                        " WHEN SYSTEM$STREAM_HAS_DATA(...): it wakes a warehouse on every run, data or not")
            )  # fmt: skip
        elif reads and not guards & reads:
            how = "it is triggered by" if triggered else "its runs are skipped or made by"
            found.append(
                Finding(p.script, p.line, "MC002", f"task {task.name} reads stream {sorted(reads)[0]} but its WHEN"
                        f" checks {', '.join(sorted(guards))}: {how} changes the task does not consume;"
                        f" check SYSTEM$STREAM_HAS_DATA('{sorted(reads)[0]}')")
            )  # fmt: skip
        if triggered and guards and task.warehouse is None and "TARGET_COMPLETION_INTERVAL" not in task.params:
            found.append(
                Finding(p.script, p.line, "MC002", f"task {task.name} is a serverless triggered task (no WAREHOUSE,"
                        " no SCHEDULE) without TARGET_COMPLETION_INTERVAL: Snowflake requires it; set it, or give"
                        " the task a WAREHOUSE")
            )  # fmt: skip
    return found


def check_downstream_leaf(pipe: Pipeline) -> list[Finding]:
    by_name = {_last(p.cdc.name): p for p, _ in pipe.dynamic}  # type: ignore[union-attr]
    lags = {name: None if p.cdc.target_lag.upper() == "DOWNSTREAM" else 0 for name, p in by_name.items()}  # type: ignore[union-attr]
    inputs = {_last(p.cdc.name): _names(q) for p, q in pipe.dynamic}  # type: ignore[union-attr]
    return [
        Finding(by_name[name].script, by_name[name].line, "MC003", f"dynamic table {by_name[name].cdc.name} has"  # type: ignore[union-attr]
                " TARGET_LAG = DOWNSTREAM but no dynamic table reads it: Snowflake refreshes it once at creation"
                " and never again; give it a duration")
        for name in unread_downstream(lags, inputs)
    ]  # fmt: skip


def check_nondeterministic(pipe: Pipeline) -> list[Finding]:
    found = []
    for p, query in pipe.dynamic:
        if query is None:
            continue
        ok, reason = analyze_query(query)
        if not ok and reason and ("function" in reason.lower() or "CURRENT_" in reason.upper()):
            found.append(Finding(p.script, p.line, "MC004", f"dynamic table {p.cdc.name}: {reason}"  # type: ignore[union-attr]
                                 " (Snowflake refreshes it in full every time)"))  # fmt: skip
    return found


def check_update_action(pipe: Pipeline) -> list[Finding]:
    found = []
    for p in pipe.stmts:
        for query in _queries(p):
            for cmp in query.find_all(exp.EQ, exp.NEQ, exp.In):
                operands = [cmp.this, *(cmp.expressions if isinstance(cmp, exp.In) else [cmp.expression])]
                cols = [o for o in operands if isinstance(o, exp.Column) and o.name.upper() in pipe.action_columns]
                lits = [
                    o for o in operands if isinstance(o, exp.Literal) and o.is_string and o.this.upper() == "UPDATE"
                ]
                if cols and lits:
                    found.append(
                        Finding(p.script, p.line, "MC005", f"{cmp.sql(dialect='snowflake')}: a stream's action is"
                                " only 'INSERT' or 'DELETE', never 'UPDATE'; an update is a DELETE + INSERT pair"
                                f" with {sorted(pipe.update_columns)[0]} = TRUE")
                    )  # fmt: skip
    return found


def _dedupes(query: exp.Expr) -> bool:
    """Does the query keep one image per row (ROW_NUMBER/RANK ... = 1, QUALIFY, MAX_BY)?"""
    if query.find(exp.Qualify) is not None:
        return True
    names = {type(f).__name__.upper() for f in query.find_all(exp.Func)} | {
        str(f.this).upper() for f in query.find_all(exp.Anonymous)
    }
    return bool(names & {"ROWNUMBER", "ROW_NUMBER", "ARGMAX", "MAX_BY", "ARG_MAX"})


def check_raw_aggregates(pipe: Pipeline) -> list[Finding]:
    """Aggregates over change events that neither dedupe nor tell update halves apart."""
    raw = set(pipe.event_tables)
    found = []
    for p, query in pipe.dynamic:
        if query is None or not (_names(query) & raw) or _dedupes(query):
            continue
        uses_update_flag = any(c.name.upper() in pipe.update_columns for c in query.find_all(exp.Column))
        if query.find(exp.AggFunc) is None:
            if not uses_update_flag:
                raw.add(_last(p.cdc.name))  # type: ignore[union-attr]  # still one row per event
            continue
        if not uses_update_flag:
            found.append(
                Finding(p.script, p.line, "MC006", f"dynamic table {p.cdc.name} aggregates change events"  # type: ignore[union-attr]
                        f" ({', '.join(sorted(_names(query) & raw))}) without taking each booking's latest image:"
                        " every update is counted twice (its DELETE and INSERT halves)")
            )  # fmt: skip
    return found


CHECKS: tuple[Callable[[Pipeline], list[Finding]], ...] = (
    check_parses,
    check_replace,
    check_task_guard,
    check_downstream_leaf,
    check_nondeterministic,
    check_update_action,
    check_raw_aggregates,
)


def lint_scripts(scripts: Sequence[RenderedScript]) -> list[Finding]:
    """Every finding of every check, in script and line order.

    Args:
        scripts: rendered templates.

    Returns:
        The findings (empty when the SQL avoids every known trap).
    """
    pipe = build(scripts)
    findings = [f for check in CHECKS for f in check(pipe)]
    order = {s.name: i for i, s in enumerate(scripts)}
    return sorted(set(findings), key=lambda f: (order.get(f.script, 0), f.line, f.code))
