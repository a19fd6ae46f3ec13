"""CREATE / ALTER / EXECUTE TASK (reference section 2; Snowflake's CREATE TASK, ALTER TASK
and EXECUTE TASK pages)."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import timedelta

from moviecdc.dialect import ddl
from moviecdc.dialect.schedule import parse_schedule
from moviecdc.emulator import (
    history,
    notes,
    tasks,
)
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import SCHEMA, TaskState
from moviecdc.emulator.core import Core
from moviecdc.emulator.metadata import PARAMETERS
from moviecdc.emulator.statements.common import ok
from moviecdc.errors import SqlError
from moviecdc.results import Rows

# Properties a task takes besides WAREHOUSE, SCHEDULE and COMMENT (kept in TaskState.params).
_INT_RANGES = {
    "SUSPEND_TASK_AFTER_NUM_FAILURES": (0, 1_000_000),
    "USER_TASK_TIMEOUT_MS": (0, 604_800_000),
    "TASK_AUTO_RETRY_ATTEMPTS": (0, 30),
    "USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS": (10, 604_800),
}
_ENUMS = {
    "OVERLAP_POLICY": {"NO_OVERLAP", "ALLOW_CHILD_OVERLAP", "ALLOW_ALL_OVERLAP"},
    "ALLOW_OVERLAPPING_EXECUTION": {"TRUE", "FALSE"},
    "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE": {"XSMALL", "SMALL", "MEDIUM", "LARGE", "XLARGE", "XXLARGE"},
}
_OTHER = {"CONFIG", "FINALIZE", "EXECUTE_AS_USER", "TARGET_COMPLETION_INTERVAL", *notes.TASK_SETTINGS}
# graph-level settings: only a root task has them
_ROOT_ONLY = {"CONFIG", "TASK_AUTO_RETRY_ATTEMPTS", "OVERLAP_POLICY", "ALLOW_OVERLAPPING_EXECUTION"}
_SESSION = {name for name, *_ in PARAMETERS} - {"AUTOCOMMIT"}
_INTERVAL = re.compile(r"\s*(\d+)\s*(HOURS?|H|MINUTES?|M|SECONDS?|S)\s*", re.IGNORECASE)


def _check_params(params: dict[str, str], text: str) -> dict[str, str]:
    """Validate a task's properties as Snowflake does; returns them normalised."""
    out: dict[str, str] = {}
    for key, raw in params.items():
        value = raw.strip()
        if key in _INT_RANGES:
            lo, hi = _INT_RANGES[key]
            if not re.fullmatch(r"\d+", value) or not lo <= int(value) <= hi:
                raise SqlError(f"invalid value [{value}] for parameter '{key}' (allowed: {lo} to {hi})", statement=text)
        elif key in _ENUMS:
            value = value.upper()
            if value not in _ENUMS[key]:
                raise SqlError(f"invalid value [{raw}] for parameter '{key}'", statement=text)
        elif key == "CONFIG":
            try:
                config = json.loads(value)
            except ValueError:
                raise SqlError(
                    f"invalid value for parameter 'CONFIG': not JSON: {value[:60]!r}", statement=text
                ) from None
            if not isinstance(config, dict):
                raise SqlError("invalid value for parameter 'CONFIG': it must be a JSON object", statement=text)
        elif key == "TARGET_COMPLETION_INTERVAL":
            m = _INTERVAL.fullmatch(value)
            seconds = 0 if m is None else int(m.group(1)) * {"H": 3600, "M": 60, "S": 1}[m.group(2)[0].upper()]
            if not 10 <= seconds <= 86_400:
                raise SqlError(
                    f"invalid value [{value}] for parameter 'TARGET_COMPLETION_INTERVAL'"
                    " (between 10 SECONDS and 24 HOURS)",
                    statement=text,
                )
        elif key not in _OTHER and key not in _SESSION:
            raise SqlError(f"SQL compilation error: invalid property '{key}' for 'TASK'", errno=2001, statement=text)
        out[key] = value
    if "OVERLAP_POLICY" in out and "ALLOW_OVERLAPPING_EXECUTION" in out:
        raise SqlError("OVERLAP_POLICY and ALLOW_OVERLAPPING_EXECUTION cannot both be set", statement=text)
    if "ALLOW_OVERLAPPING_EXECUTION" in out:  # the older name: TRUE is ALLOW_CHILD_OVERLAP
        allow = out.pop("ALLOW_OVERLAPPING_EXECUTION") == "TRUE"
        out["OVERLAP_POLICY"] = "ALLOW_CHILD_OVERLAP" if allow else "NO_OVERLAP"
    return out


def _validate_sql(text: str) -> None:
    """A task body must parse (a scripting block is checked when it runs)."""
    if text.upper().startswith("BEGIN") or text.upper().startswith("DECLARE"):
        return  # a Snowflake Scripting block: checked statement by statement when run
    if re.match(r"(?is)\s*CALL\s+SYSTEM\$SET_RETURN_VALUE\s*\(", text):
        return
    if ddl.parse_cdc(text) is None:
        tr.parse(text)


def _check_shape(engine: Core, task: TaskState, text: str) -> None:
    """The rules of a task's place in a graph (Snowflake's CREATE TASK usage notes)."""
    if task.after and task.schedule is not None:
        raise SqlError("a task with AFTER cannot have a SCHEDULE", statement=text)
    if task.after or task.params.get("FINALIZE"):
        for key in sorted(_ROOT_ONLY & task.params.keys()):
            raise SqlError(f"{key} can only be set on a root task", statement=text)
    if task.warehouse is not None and "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE" in task.params:
        raise SqlError(
            "WAREHOUSE and USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE cannot both be set: a task is either"
            " on a warehouse or serverless",
            statement=text,
        )
    triggered = not task.after and task.schedule is None and "STREAM_HAS_DATA" in (task.when or "").upper()
    if triggered and task.warehouse is None and "TARGET_COMPLETION_INTERVAL" not in task.params:
        raise SqlError(
            f"a serverless triggered task needs TARGET_COMPLETION_INTERVAL ({task.name}): set it, or run the"
            " task on a warehouse (WAREHOUSE = ...)",
            statement=text,
        )
    fin = task.params.get("FINALIZE")
    if fin is None:
        return
    if task.after or task.schedule is not None:
        raise SqlError("a finalizer task cannot have a SCHEDULE or AFTER", statement=text)
    root = engine.catalog.tasks.get(tasks.task_key(fin))
    if root is None:
        raise SqlError(f"Task '{fin}' does not exist or not authorized.", statement=text)
    if root.after or root.params.get("FINALIZE"):
        raise SqlError(f"FINALIZE must name a root task; {root.name} is not one", statement=text)
    other = tasks.finalizer(engine, root)
    if other is not None and (other.schema, other.name) != (task.schema, task.name):
        raise SqlError(f"root task {root.name} already has a finalizer task: {other.name}", statement=text)
    if tasks.children(engine, task):
        raise SqlError(f"a finalizer task cannot have child tasks ({task.name})", statement=text)


def _root_error(root: TaskState, text: str) -> SqlError:
    return SqlError(
        f"Unable to update graph with root task {root.database}.{root.schema}.{root.name}"
        " since that root task is not suspended.",
        errno=91089,
        statement=text,
    )


def _require_graph_suspended(engine: Core, task: TaskState, text: str) -> None:
    """Changing a task needs it suspended, and, in a graph, its root suspended (ALTER TASK)."""
    if task.state == "started" and not (task.after or task.params.get("FINALIZE")):
        raise _root_error(task, text)
    for root in tasks.roots_of(engine, task):
        if root.state == "started":
            raise _root_error(root, text)


def create_task(engine: Core, stmt: ddl.CreateTask, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] TASK (reference 2.1, 2.5): always born suspended."""
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    if stmt.clone is not None:
        # CLONE: the source's definition under a new name, suspended (CREATE TASK ... CLONE)
        source = cat.tasks.get(engine.resolve(stmt.clone))
        if source is None or stmt.or_alter:
            if stmt.or_alter:
                raise SqlError("CREATE OR ALTER TASK cannot CLONE", statement=text)
            raise SqlError(f"Task '{stmt.clone}' does not exist or not authorized.", statement=text)
        stmt = dataclasses.replace(
            stmt,
            body=source.body,
            warehouse=source.warehouse,
            schedule=source.schedule,
            when=source.when,
            after=tuple(ddl.Name(tuple(a.split(".", 1))) for a in source.after),
            comment=source.comment,
            params=dict(source.params),
            clone=None,
        )
    if stmt.schedule is not None:
        parse_schedule(stmt.schedule)
    if stmt.when is not None:
        tr.parse(f"SELECT {stmt.when}")
    _validate_sql(stmt.body)
    params = _check_params(stmt.params, text)
    after = [".".join(engine.resolve(n)) for n in stmt.after]
    if "FINALIZE" in params:
        params["FINALIZE"] = ".".join(engine.resolve(ddl.parse_name(params["FINALIZE"])))
    with engine.transaction():
        for pred in after:
            pred_task = cat.tasks.get(tasks.task_key(pred))
            if pred_task is None:
                raise SqlError(f"Task '{pred}' does not exist or not authorized.", statement=text)
            if pred_task.params.get("FINALIZE"):
                raise SqlError(f"a finalizer task cannot have child tasks ({pred_task.name})", statement=text)
            for root in tasks.roots_of(engine, pred_task):  # joining a running graph changes it
                if root.state == "started":
                    raise _root_error(root, text)
        if "FINALIZE" in params:
            finalized = cat.tasks.get(tasks.task_key(params["FINALIZE"]))
            if finalized is not None and finalized.state == "started":
                raise _root_error(finalized, text)
        existing = cat.tasks.get(key)
        new = TaskState(
            database=stmt.name.database or engine.ctx.database,
            schema=key[0],
            name=key[1],
            id=engine.new_id(),
            created_on=engine.now(),
            body=stmt.body,
            warehouse=stmt.warehouse,
            schedule=stmt.schedule,
            when=stmt.when,
            after=after,
            params=params,
            comment=stmt.comment,
        )
        if existing is not None:
            if stmt.if_not_exists:
                return ok(f"{key[1]} already exists, statement succeeded.")
            if stmt.or_alter:
                _require_graph_suspended(engine, existing, text)
                existing.body, existing.when, existing.schedule = stmt.body, stmt.when, stmt.schedule
                existing.warehouse, existing.after = stmt.warehouse, after
                existing.comment, existing.params = stmt.comment, params
                _check_shape(engine, existing, text)
                existing.graph_version += 1
                cat.save(existing)
                return ok(f"Task {key[1]} successfully altered.")
            if not stmt.or_replace:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            # a started standalone task is replaced by a new, suspended one; in a graph the
            # root must be suspended first (CREATE TASK usage notes)
            if existing.after or existing.params.get("FINALIZE") or tasks.in_graph(engine, existing):
                for root in tasks.roots_of(engine, existing):
                    if root.state == "started":
                        raise _root_error(root, text)
            if existing.state == "started":
                history.set_scheduled_row(engine, existing, None)
        _check_shape(engine, new, text)
        cat.save(new)
    return ok(f"Task {key[1]} successfully created.")


def alter_task(engine: Core, stmt: ddl.AlterTask, text: str) -> Rows:
    """ALTER TASK ... RESUME / SUSPEND / SET / UNSET / MODIFY (reference 2.5)."""
    key = engine.resolve(stmt.name)
    task = engine.catalog.tasks.get(key)
    if task is None:
        if stmt.if_exists:
            return ok()
        raise SqlError(f"Task '{stmt.name}' does not exist or not authorized.", statement=text)
    with engine.transaction():
        if stmt.action == "RESUME":
            if task.after or task.params.get("FINALIZE"):
                # a child or finalizer joins a running graph only while its root is suspended
                for root in tasks.roots_of(engine, task):
                    if root.state == "started" and task.state != "started":
                        raise _root_error(root, text)
            tasks.resume_task(engine, task)
        elif stmt.action == "SUSPEND":
            tasks.suspend_task(engine, task, "USER_SUSPENDED")
        else:
            _require_graph_suspended(engine, task, text)
            _alter_definition(engine, task, stmt, text)
            _check_shape(engine, task, text)
            task.graph_version += 1
            engine.catalog.save(task)
    return ok()


def _alter_definition(engine: Core, task: TaskState, stmt: ddl.AlterTask, text: str) -> None:
    if stmt.action == "SET":
        props = dict(stmt.props)
        if "SCHEDULE" in props:
            parse_schedule(props["SCHEDULE"])
            task.schedule = props.pop("SCHEDULE")
        if "WAREHOUSE" in props:
            task.warehouse = props.pop("WAREHOUSE")
        if "COMMENT" in props:
            task.comment = props.pop("COMMENT")
        if "FINALIZE" in props:
            props["FINALIZE"] = ".".join(engine.resolve(ddl.parse_name(props["FINALIZE"])))
        checked = _check_params(props, text)
        if "OVERLAP_POLICY" in checked:
            task.params.pop("ALLOW_OVERLAPPING_EXECUTION", None)
        task.params.update(checked)
    elif stmt.action == "UNSET":
        for k in stmt.props:
            if k == "SCHEDULE":
                task.schedule = None
            elif k == "COMMENT":
                task.comment = None
            elif k == "WAREHOUSE":
                task.warehouse = None
            elif k == "ALLOW_OVERLAPPING_EXECUTION":
                task.params.pop("OVERLAP_POLICY", None)
            else:
                task.params.pop(k, None)
    elif stmt.action == "MODIFY_AS":
        assert stmt.text is not None
        _validate_sql(stmt.text)
        task.body = stmt.text
    elif stmt.action == "MODIFY_WHEN":
        assert stmt.text is not None
        tr.parse(f"SELECT {stmt.text}")
        task.when = stmt.text
    elif stmt.action == "REMOVE_WHEN":
        task.when = None
    elif stmt.action in {"ADD_AFTER", "REMOVE_AFTER"}:
        preds = [".".join(engine.resolve(n)) for n in stmt.after]
        if stmt.action == "ADD_AFTER":
            for pred in preds:
                pred_task = engine.catalog.tasks.get(tasks.task_key(pred))
                if pred_task is None:
                    raise SqlError(f"Task '{pred}' does not exist or not authorized.", statement=text)
                for root in tasks.roots_of(engine, pred_task):
                    if root.state == "started":
                        raise _root_error(root, text)
            task.after = [*task.after, *(p for p in preds if p not in task.after)]
        else:
            task.after = [p for p in task.after if p not in preds]


def execute_task(engine: Core, stmt: ddl.ExecuteTask, text: str) -> Rows:
    """EXECUTE TASK [USING CONFIG = '...' | RETRY LAST]: one run now, even if suspended (2.5)."""
    key = engine.resolve(stmt.name)
    task = engine.catalog.tasks.get(key)
    if task is None:
        raise SqlError(f"Task '{stmt.name}' does not exist or not authorized.", statement=text)
    if task.after or task.params.get("FINALIZE"):
        raise SqlError(
            f"Cannot execute task {key[1]}: EXECUTE TASK only accepts a root task.",
            statement=text,
        )
    if engine.in_user_transaction:
        raise SqlError(
            "the local engine runs EXECUTE TASK in the caller's session: COMMIT or ROLLBACK first", statement=text
        )
    override = None
    if stmt.config is not None:
        try:
            override = json.loads(stmt.config)
        except ValueError:
            raise SqlError("EXECUTE TASK ... USING CONFIG: the configuration is not JSON", statement=text) from None
        if not isinstance(override, dict):
            raise SqlError("EXECUTE TASK ... USING CONFIG: the configuration must be a JSON object", statement=text)
    retry = _last_failed_run(engine, task, text) if stmt.retry_last else None
    with engine.transaction():
        # running a graph sets its version: SHOW TASKS' last_committed_on (SHOW TASKS page)
        for member in _members(engine, task):
            if member.last_committed_on is None or member.committed_version != member.graph_version:
                member.last_committed_on, member.committed_version = engine.now(), member.graph_version
                engine.catalog.save(member)
    state = tasks.run_graph(engine, task, engine.now(), "EXECUTE_TASK", config=override, retry=retry)
    return ok(f"Task {key[1]} run: {state}")


def _members(engine: Core, root: TaskState) -> list[TaskState]:
    found, todo = [root], tasks.children(engine, root)
    while todo:
        t = todo.pop(0)
        if t not in found:
            found.append(t)
            todo.extend(tasks.children(engine, t))
    fin = tasks.finalizer(engine, root)
    return [*found, fin] if fin is not None else found


def _last_failed_run(engine: Core, root: TaskState, text: str) -> tasks.Retry:
    """EXECUTE TASK ... RETRY LAST: the root's latest graph run, if it failed, is unchanged
    since and is under 14 days old."""
    row = engine.con.execute(
        f"SELECT GRAPH_RUN_GROUP_ID, GRAPH_VERSION, max(COMPLETED_TIME) AS done FROM {SCHEMA}.task_history"
        " WHERE ROOT_TASK_ID = ? AND STATE <> 'SCHEDULED' AND GRAPH_RUN_GROUP_ID IS NOT NULL"
        " GROUP BY ALL ORDER BY done DESC LIMIT 1",
        [root.id],
    ).fetchone()
    if row is None:
        raise SqlError(f"Cannot retry task graph {root.name}: it has not run yet.", statement=text)
    group, version, done = row
    rows = engine.con.execute(
        f"SELECT SCHEMA_NAME, NAME, STATE, ATTEMPT_NUMBER, RETURN_VALUE, CONFIG FROM {SCHEMA}.task_history"
        " WHERE GRAPH_RUN_GROUP_ID = ? ORDER BY COMPLETED_TIME",
        [group],
    ).fetchall()
    latest: dict[str, tuple[str, int, str | None, str | None]] = {}
    for schema, name, state, attempt, value, config in rows:
        latest[f"{schema}.{name}"] = (state, int(attempt or 1), value, config)
    if not any(s.startswith("FAILED") or s == "CANCELLED" for s, *_ in latest.values()):
        raise SqlError(
            f"Cannot retry task graph {root.name}: its last run has no failed or cancelled task.", statement=text
        )
    if version != root.graph_version:
        raise SqlError(
            f"Cannot retry task graph {root.name}: the graph was modified after its last run.", statement=text
        )
    if done is not None and engine.now() - done > timedelta(days=14):
        raise SqlError(f"Cannot retry task graph {root.name}: its last run is older than 14 days.", statement=text)
    succeeded = frozenset(fq for fq, (s, *_) in latest.items() if s == "SUCCEEDED")
    values = {fq: v for fq, (s, _, v, _) in latest.items() if s == "SUCCEEDED" and v is not None}
    config_text = next((c for *_, c in latest.values() if c is not None), None)
    return tasks.Retry(
        group=str(group),
        attempt=max(a for _, a, _, _ in latest.values()) + 1,
        succeeded=succeeded,
        return_values=values,
        config=json.loads(config_text) if config_text else tasks.graph_config(root),
    )


def task_function(engine: Core, stmt: ddl.TaskFunction, text: str) -> Rows:
    """SYSTEM$TASK_DEPENDENTS_ENABLE('<root>'): resume the root and every task of its graph
    (https://docs.snowflake.com/en/sql-reference/functions/system_task_dependents_enable);
    SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS: nothing is running between statements locally."""
    key = engine.resolve(stmt.name)
    task = engine.catalog.tasks.get(key)
    column = f"{stmt.function}('{stmt.name}')"
    if task is None:
        raise SqlError(f"Task '{stmt.name}' does not exist or not authorized.", statement=text)
    if stmt.function == "SYSTEM$USER_TASK_CANCEL_ONGOING_EXECUTIONS":
        return Rows(columns=[column], rows=[("No ongoing executions of the task to cancel.",)])
    if task.after or task.params.get("FINALIZE"):
        raise SqlError(f"{stmt.function}: {key[1]} is not a root task", statement=text)
    with engine.transaction():
        for member in reversed(_members(engine, task)):  # dependents first, the root last
            tasks.resume_task(engine, member)
    return Rows(columns=[column], rows=[("Statement executed successfully.",)])
