"""Handlers for the statements sqlglot does not parse: streams, tasks and dynamic
tables (CREATE / ALTER / EXECUTE / DROP) and SHOW / DESCRIBE.

One handler per parsed statement kind (``HANDLERS``). Each runs in one engine
transaction with the catalog rows it writes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moviecdc.dialect import ddl
from moviecdc.emulator.core import Core
from moviecdc.emulator.statements.drop import drop_object
from moviecdc.emulator.statements.dynamic_table_ddl import alter_dynamic_table, create_dynamic_table
from moviecdc.emulator.statements.show import describe, show
from moviecdc.emulator.statements.stream_ddl import alter_stream, create_stream
from moviecdc.emulator.statements.task_ddl import alter_task, create_task, execute_task, task_function
from moviecdc.results import Rows

HANDLERS: dict[type, Callable[[Core, Any, str], Rows]] = {
    ddl.CreateStream: create_stream,
    ddl.AlterStream: alter_stream,
    ddl.CreateTask: create_task,
    ddl.AlterTask: alter_task,
    ddl.ExecuteTask: execute_task,
    ddl.CreateDynamicTable: create_dynamic_table,
    ddl.AlterDynamicTable: alter_dynamic_table,
    ddl.DropObject: drop_object,
    ddl.Show: show,
    ddl.Describe: describe,
    ddl.TaskFunction: task_function,
}


def handle(engine: Core, stmt: ddl.CdcStatement, text: str) -> Rows:
    """Dispatch a parsed CDC statement to its handler."""
    return HANDLERS[type(stmt)](engine, stmt, text)
