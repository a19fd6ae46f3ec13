"""Settings the engine accepts and keeps but does not emulate, said out loud.

A setting that only changes what a run costs or where it runs on Snowflake (a warehouse
for the first refresh, a serverless completion target) changes no result, so the engine
accepts it, shows it in SHOW / DESCRIBE, and names it here; ``moviecdc status`` prints
each line as a NOTE. A setting that would change a result and cannot be emulated is
refused by its statement instead, never listed here.
"""

from __future__ import annotations

from moviecdc.emulator.catalog import Catalog

# key -> why it has no effect locally
TASK_SETTINGS: dict[str, str] = {
    "TARGET_COMPLETION_INTERVAL": "sizes serverless compute on Snowflake; a local run takes what it takes",
    "USER_TASK_MANAGED_INITIAL_WAREHOUSE_SIZE": "sizes serverless compute on Snowflake",
    "SERVERLESS_TASK_MIN_STATEMENT_SIZE": "sizes serverless compute on Snowflake",
    "SERVERLESS_TASK_MAX_STATEMENT_SIZE": "sizes serverless compute on Snowflake",
    "ERROR_INTEGRATION": "no notification is sent locally; failures are in TASK_HISTORY",
    "SUCCESS_INTEGRATION": "no notification is sent locally",
    "LOG_LEVEL": "no event table locally",
    "TRACE_LEVEL": "no event table locally",
}
DYNAMIC_TABLE_SETTINGS: dict[str, str] = {
    "INITIALIZATION_WAREHOUSE": "chooses the warehouse of (re)initialisations on Snowflake; no warehouses locally",
}


def unemulated(catalog: Catalog) -> list[str]:
    """One line per accepted, kept, not emulated setting of a task or dynamic table."""
    lines: list[str] = []
    for (schema, name), task in sorted(catalog.tasks.items()):
        for key in sorted(task.params):
            why = TASK_SETTINGS.get(key)
            if why is not None:
                lines.append(f"local engine: task {schema}.{name} sets {key}, which has no effect locally: {why}")
    for (schema, name), dt in sorted(catalog.dynamic_tables.items()):
        for key in sorted(dt.params):
            why = DYNAMIC_TABLE_SETTINGS.get(key)
            if why is not None:
                lines.append(
                    f"local engine: dynamic table {schema}.{name} sets {key}, which has no effect locally: {why}"
                )
    return lines
