"""Snowflake SQL knowledge that both targets need, with no engine behind it.

- :mod:`.split` splits scripts into statements (Snowflake Scripting blocks kept whole);
- :mod:`.ddl` parses the statements sqlglot does not know: streams, tasks, dynamic tables, SHOW;
- :mod:`.schedule` parses task schedules and target lags;
- :mod:`.query` analyses queries: the tables they read, whether Snowflake can refresh them
  incrementally, which DOWNSTREAM dynamic tables nothing reads;
- :mod:`.idents` quotes and folds identifiers.

Nothing here imports the local engine (``moviecdc.emulator``): lint, deploy, render and
status use it for the Snowflake target too.
"""
