"""DROP STREAM / TASK / DYNAMIC TABLE."""

from __future__ import annotations

from typing import Any

from moviecdc.dialect import ddl
from moviecdc.emulator import dt_monitor
from moviecdc.emulator.catalog import Key
from moviecdc.emulator.core import Core
from moviecdc.emulator.statements import dynamic_table_ddl
from moviecdc.emulator.statements.common import ok
from moviecdc.errors import SqlError
from moviecdc.results import Rows


# --------------------------------------------------------------------- DROP
def drop_object(engine: Core, stmt: ddl.DropObject, text: str) -> Rows:
    key = engine.resolve(stmt.name)
    cat = engine.catalog
    kind = stmt.kind
    stores: dict[str, dict[Key, Any]] = {
        "STREAM": cat.streams,
        "TASK": cat.tasks,
        "DYNAMIC TABLE": cat.dynamic_tables,
    }
    store = stores[kind]
    if key not in store:
        if stmt.if_exists:
            return ok(f"Drop statement executed successfully ({key[1]} already dropped).")
        raise SqlError(f"{kind.title()} '{stmt.name}' does not exist or not authorized.", statement=text)
    with engine.transaction():
        if kind == "DYNAMIC TABLE":
            dynamic_table_ddl.drop_dt_storage(engine, key)
            cat.drop_version(key)
            dt_monitor.close(engine, key)
        if kind == "TASK":
            engine.con.execute(
                "DELETE FROM _moviecdc.task_history WHERE STATE = 'SCHEDULED' AND SCHEMA_NAME = ? AND NAME = ?",
                list(key),
            )
        cat.delete(kind, key)
    return ok(f"{key[1]} successfully dropped.")
