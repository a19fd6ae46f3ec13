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
    "EXECUTE_AS_USER": "no users locally; the run has every privilege",
}
# a task's session parameters that change nothing locally; any other is named in a NOTE
_HARMLESS_SESSION = {"QUERY_TAG", "ABORT_DETACHED_QUERY", "USE_CACHED_RESULT", "STATEMENT_TIMEOUT_IN_SECONDS"}
_TASK_OWN = {
    "SUSPEND_TASK_AFTER_NUM_FAILURES", "USER_TASK_TIMEOUT_MS", "TASK_AUTO_RETRY_ATTEMPTS",
    "USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS", "CONFIG", "FINALIZE", "OVERLAP_POLICY",
}  # fmt: skip
DYNAMIC_TABLE_SETTINGS: dict[str, str] = {
    "INITIALIZATION_WAREHOUSE": "chooses the warehouse of (re)initialisations on Snowflake; no warehouses locally",
}


def unemulated(catalog: Catalog) -> list[str]:
    """One line per accepted, kept, not emulated setting of a task or dynamic table."""
    lines: list[str] = []
    for (schema, name), task in sorted(catalog.tasks.items()):
        for key in sorted(task.params):
            why = TASK_SETTINGS.get(key)
            if key == "OVERLAP_POLICY" and task.params[key] != "NO_OVERLAP":
                why = "runs never overlap locally: each graph run ends before the next one starts"
            elif why is None and key not in _TASK_OWN and key not in _HARMLESS_SESSION:
                why = "session parameters of a task run are not applied locally (UTC, Snowflake's default formats)"
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
