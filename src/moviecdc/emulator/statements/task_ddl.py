"""CREATE / ALTER / EXECUTE TASK (reference section 2)."""

from __future__ import annotations

from moviecdc.dialect import ddl
from moviecdc.dialect.schedule import parse_schedule
from moviecdc.emulator import (
    tasks,
)
from moviecdc.emulator import translate as tr
from moviecdc.emulator.catalog import TaskState
from moviecdc.emulator.core import Core
from moviecdc.emulator.statements.common import ok
from moviecdc.errors import SqlError
from moviecdc.results import Rows


# -------------------------------------------------------------------- tasks
def _validate_sql(text: str) -> None:
    """A task body must parse (a scripting block is checked when it runs)."""
    if text.upper().startswith("BEGIN") or text.upper().startswith("DECLARE"):
        return  # a Snowflake Scripting block: checked statement by statement when run
    if ddl.parse_cdc(text) is None:
        tr.parse(text)


def create_task(engine: Core, stmt: ddl.CreateTask, text: str) -> Rows:
    """CREATE [OR REPLACE | OR ALTER] TASK (reference 2.1, 2.5): always born suspended."""
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    if stmt.schedule is not None:
        parse_schedule(stmt.schedule)
    if stmt.when is not None:
        tr.parse(f"SELECT {stmt.when}")
    _validate_sql(stmt.body)
    after = [".".join(engine.resolve(n)) for n in stmt.after]
    with engine.transaction():
        for pred in after:
            if tuple(pred.split(".", 1)) not in cat.tasks:
                raise SqlError(f"Task '{pred}' does not exist or not authorized.", statement=text)
        existing = cat.tasks.get(key)
        if existing is not None:
            if stmt.if_not_exists:
                return ok(f"{key[1]} already exists, statement succeeded.")
            if stmt.or_alter:
                _require_suspended(existing, text)
                existing.body, existing.when, existing.schedule = (
                    stmt.body,
                    stmt.when,
                    stmt.schedule,
                )
                existing.warehouse, existing.after = stmt.warehouse, after
                existing.comment, existing.params = stmt.comment, dict(stmt.params)
                existing.graph_version += 1
                cat.save(existing)
                return ok(f"Task {key[1]} successfully altered.")
            if not stmt.or_replace:
                raise SqlError(f"Object '{key[1]}' already exists.", statement=text)
            _require_suspended(existing, text)
        cat.save(
            TaskState(
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
                params=dict(stmt.params),
                comment=stmt.comment,
            )
        )
    return ok(f"Task {key[1]} successfully created.")


def _require_suspended(task: TaskState, text: str) -> None:
    if task.state == "started":
        raise SqlError(
            f"Unable to update graph with root task {task.database}.{task.schema}.{task.name}"
            " since that root task is not suspended.",
            statement=text,
        )


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
            tasks.resume_task(engine, task)
        elif stmt.action == "SUSPEND":
            tasks.suspend_task(engine, task, "USER_SUSPENDED")
        else:
            _require_suspended(task, text)
            if stmt.action == "SET":
                for k, v in stmt.props.items():
                    if k == "SCHEDULE":
                        parse_schedule(v)
                        task.schedule = v
                    elif k == "WAREHOUSE":
                        task.warehouse = v
                    elif k == "COMMENT":
                        task.comment = v
                    else:
                        task.params[k] = v
            elif stmt.action == "UNSET":
                for k in stmt.props:
                    if k == "SCHEDULE":
                        task.schedule = None
                    elif k == "COMMENT":
                        task.comment = None
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
                        if tuple(pred.split(".", 1)) not in engine.catalog.tasks:
                            raise SqlError(f"Task '{pred}' does not exist or not authorized.", statement=text)
                    task.after = [*task.after, *(p for p in preds if p not in task.after)]
                else:
                    task.after = [p for p in task.after if p not in preds]
            task.graph_version += 1
            engine.catalog.save(task)
    return ok()


def execute_task(engine: Core, stmt: ddl.ExecuteTask, text: str) -> Rows:
    """EXECUTE TASK: one run now, even if suspended (reference 2.5)."""
    key = engine.resolve(stmt.name)
    task = engine.catalog.tasks.get(key)
    if task is None:
        raise SqlError(f"Task '{stmt.name}' does not exist or not authorized.", statement=text)
    if task.after:
        raise SqlError(
            f"Cannot execute task {key[1]}: EXECUTE TASK only accepts a root task.",
            statement=text,
        )
    if engine.in_user_transaction:
        raise SqlError(
            "the local engine runs EXECUTE TASK in the caller's session: COMMIT or ROLLBACK first", statement=text
        )
    state = tasks.run_graph(engine, task, engine.now(), "EXECUTE_TASK")
    return ok(f"Task {key[1]} run: {state}")
