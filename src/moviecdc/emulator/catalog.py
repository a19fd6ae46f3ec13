"""The local engine's metadata, kept in the reserved DuckDB schema ``_moviecdc``.

Streams, tasks, dynamic tables and change-tracked tables are small dataclasses,
stored as JSON documents in ``_moviecdc.objects`` and written in the same DuckDB
transaction as the data they describe, so a crash or a rollback never leaves
metadata and data out of step. Table versions (one number per table, bumped by
every DML statement) drive stream offsets and dynamic-table change detection.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from typing import Any, TypeVar

import duckdb

from moviecdc.names import ENGINE_SCHEMA

SCHEMA = ENGINE_SCHEMA
Key = tuple[str, str]  # (schema, name), Snowflake-normalised

BOOTSTRAP = [
    f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}",
    f"CREATE SEQUENCE IF NOT EXISTS {SCHEMA}.row_ids",
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.meta (key VARCHAR, value VARCHAR)",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.objects
        (kind VARCHAR, schema_name VARCHAR, name VARCHAR, spec VARCHAR)""",
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.table_versions
        (schema_name VARCHAR, table_name VARCHAR, version BIGINT, changed_at TIMESTAMPTZ)""",
    # when each change to a tracked table was made: CHANGES ... AT (TIMESTAMP => ...)
    f"CREATE TABLE IF NOT EXISTS {SCHEMA}.version_times (version BIGINT, changed_at TIMESTAMPTZ)",
    # Snowflake's INFORMATION_SCHEMA.TASK_HISTORY columns (reference 2.7)
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.task_history (
        QUERY_ID VARCHAR, NAME VARCHAR, DATABASE_NAME VARCHAR, SCHEMA_NAME VARCHAR,
        QUERY_TEXT VARCHAR, CONDITION_TEXT VARCHAR, STATE VARCHAR, ERROR_CODE VARCHAR,
        ERROR_MESSAGE VARCHAR, SCHEDULED_TIME TIMESTAMPTZ, QUERY_START_TIME TIMESTAMPTZ,
        NEXT_SCHEDULED_TIME TIMESTAMPTZ, COMPLETED_TIME TIMESTAMPTZ, ROOT_TASK_ID VARCHAR,
        GRAPH_VERSION BIGINT, RUN_ID BIGINT, RETURN_VALUE VARCHAR, SCHEDULED_FROM VARCHAR,
        ATTEMPT_NUMBER BIGINT, CONFIG VARCHAR, QUERY_HASH VARCHAR, QUERY_HASH_VERSION BIGINT,
        QUERY_PARAMETERIZED_HASH VARCHAR, QUERY_PARAMETERIZED_HASH_VERSION BIGINT,
        GRAPH_RUN_GROUP_ID VARCHAR, BACKFILL_INFO JSON, SPCS_JOB_ID BIGINT)""",
    # Snowflake's INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY columns (reference 3.7)
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.refresh_history (
        NAME VARCHAR, SCHEMA_NAME VARCHAR, DATABASE_NAME VARCHAR, STATE VARCHAR,
        STATE_CODE VARCHAR, STATE_MESSAGE VARCHAR, QUERY_ID VARCHAR,
        DATA_TIMESTAMP TIMESTAMPTZ, REFRESH_START_TIME TIMESTAMPTZ,
        REFRESH_END_TIME TIMESTAMPTZ, COMPLETION_TARGET TIMESTAMPTZ, QUALIFIED_NAME VARCHAR,
        LAST_COMPLETED_DEPENDENCY JSON, STATISTICS JSON, REFRESH_ACTION VARCHAR,
        REFRESH_TRIGGER VARCHAR, TARGET_LAG_SEC BIGINT, GRAPH_HISTORY_VALID_FROM TIMESTAMP,
        INPUTS_WITH_CHANGED_DATA JSON, WAREHOUSE VARCHAR, REINIT_REASON VARCHAR)""",
    # Snowflake's INFORMATION_SCHEMA.DYNAMIC_TABLE_GRAPH_HISTORY columns: one row per
    # description of a dynamic table (emulator/dt_monitor.py)
    f"""CREATE TABLE IF NOT EXISTS {SCHEMA}.graph_history (
        NAME VARCHAR, SCHEMA_NAME VARCHAR, DATABASE_NAME VARCHAR, QUALIFIED_NAME VARCHAR, INPUTS JSON,
        TARGET_LAG_TYPE VARCHAR, TARGET_LAG_SEC BIGINT, QUERY_TEXT VARCHAR, VALID_FROM TIMESTAMPTZ,
        VALID_TO TIMESTAMPTZ, SCHEDULING_STATE JSON, ALTER_TRIGGER JSON, SCHEDULER VARCHAR)""",
]


@dataclass
class TrackedTable:
    """A source table with change tracking: data lives in ``_moviecdc.t<tid>``.

    The user-visible name is a view over it without the hidden ``_row_id``;
    every DML statement appends before/after images to ``_moviecdc.t<tid>_log``.
    """

    schema: str
    name: str
    tid: int
    columns: list[str]  # every user column, in order (generated ones included)
    insert_columns: list[str]  # the columns an INSERT may name
    tracked_since: int = 0
    # a dynamic table's log: the version since which insert entries carry the values
    # (the columns its readers use) too; None: not yet
    insert_images: int | None = None
    trimmed_to: int = 0  # the log holds no entries at or below this version (retention.trim_change_logs)

    @property
    def phys(self) -> str:
        return f'{SCHEMA}."t{self.tid}"'

    @property
    def log(self) -> str:
        return f'{SCHEMA}."t{self.tid}_log"'


@dataclass
class StreamState:
    database: str
    schema: str
    name: str
    source_schema: str
    source_name: str
    source_kind: str
    mode: str  # DEFAULT | APPEND_ONLY
    offset: int
    created_on: datetime
    comment: str | None = None
    stale: bool = False
    last_consumed_on: datetime | None = None
    owner: str = "LOCAL"
    # a stream on a view: the tables it reads, and a fingerprint of the view definitions
    base_tables: list[list[str]] = field(default_factory=list)
    view_fingerprint: str | None = None
    initial_rows: bool = False  # SHOW_INITIAL_ROWS = TRUE, not yet consumed


@dataclass
class TaskState:
    database: str
    schema: str
    name: str
    id: str
    created_on: datetime
    body: str
    warehouse: str | None = None
    schedule: str | None = None
    when: str | None = None
    after: list[str] = field(default_factory=list)  # "SCHEMA.NAME" of predecessors
    params: dict[str, str] = field(default_factory=dict)
    comment: str | None = None
    state: str = "suspended"  # started | suspended
    anchor: datetime | None = None  # when last resumed: interval schedules count from here
    last_slot: datetime | None = None  # the latest scheduled slot already run
    last_committed_on: datetime | None = None
    last_suspended_on: datetime | None = None
    last_suspended_reason: str | None = None
    consecutive_failures: int = 0
    graph_version: int = 1
    committed_version: int = 0  # the graph_version last_committed_on was set for
    owner: str = "LOCAL"

    @property
    def suspend_after(self) -> int:
        return int(self.params.get("SUSPEND_TASK_AFTER_NUM_FAILURES", "10"))


@dataclass
class DynamicTableState:
    database: str
    schema: str
    name: str
    created_on: datetime
    query: str
    target_lag: str  # "DOWNSTREAM" or a duration as written
    lag_seconds: int | None
    warehouse: str | None
    refresh_mode: str  # resolved: FULL | INCREMENTAL | ADAPTIVE
    refresh_mode_reason: str | None
    initialize: str
    text: str
    inputs: list[list[str]] = field(default_factory=list)  # [schema, name] of base objects
    columns: list[str] = field(default_factory=list)
    comment: str | None = None
    scheduling_state: str = "RUNNING"  # RUNNING | SUSPENDED
    suspended_reason: str | None = None
    last_suspended_on: datetime | None = None
    data_timestamp: datetime | None = None
    input_versions: dict[str, int] = field(default_factory=dict)
    refresh_version: int = 0  # the engine version the last refresh read its inputs at
    consecutive_failures: int = 0
    initialized: bool = False
    owner: str = "LOCAL"
    params: dict[str, str] = field(default_factory=dict)  # accepted settings kept for SHOW (emulator/notes.py)
    scheduler: str = "ENABLE"  # DISABLE: only ALTER ... REFRESH refreshes it
    frozen_where: str | None = None  # the FROZEN WHERE predicate, Snowflake SQL over the table's columns
    backfill: list[str] | None = None  # [schema, name] of the BACKFILL FROM table, until initialised
    pending_reinit: str | None = None  # the next refresh reinitialises, for this REINIT_REASON
    translated: dict[str, str] = field(default_factory=dict)  # the query in DuckDB SQL, kept by plans.translated

    @property
    def key(self) -> Key:
        return (self.schema, self.name)


T = TypeVar("T")
_KINDS: dict[str, type[Any]] = {
    "TRACKED": TrackedTable,
    "STREAM": StreamState,
    "TASK": TaskState,
    "DYNAMIC TABLE": DynamicTableState,
}


def _encode(obj: object) -> str:
    def conv(v: object) -> object:
        if isinstance(v, datetime):
            return {"__dt__": v.isoformat()}
        return v

    return json.dumps({k: conv(v) for k, v in asdict(obj).items()})  # type: ignore[call-overload]


# a change-tracked table's rows and change log; an incremental table's group state (ivm/state.py)
_ENGINE_TABLE = re.compile(r"t\d+(_log)?|dt_[0-9a-f]+_g\d+")


@functools.cache
def _expected_types() -> dict[str, list[tuple[str, str]]]:
    """The metadata tables' columns and types, as BOOTSTRAP creates them (upper-cased names)."""
    con = duckdb.connect(":memory:")
    try:
        for ddl in BOOTSTRAP:
            con.execute(ddl)
        rows = con.execute(
            "SELECT table_name, list((column_name, data_type) ORDER BY column_index) FROM duckdb_columns()"
            " WHERE schema_name = ? GROUP BY table_name",
            [SCHEMA],
        ).fetchall()
    finally:
        con.close()
    return {str(t): [(str(c[0]).upper(), str(c[1])) for c in cols] for t, cols in rows}


OLDER_FILE = "written by an older moviecdc"


_TABLE_DDL = re.compile(rf"CREATE TABLE IF NOT EXISTS {SCHEMA}\.(\w+)\s*\((.*)\)", re.DOTALL)


@functools.cache
def _expected_columns() -> dict[str, list[str]]:
    """The metadata tables' column names (upper-cased), read from BOOTSTRAP's text: every
    open checks them, and `_expected_types` costs a DuckDB instance (tests check that the
    two agree: each column is ``name TYPE``, no type has a comma)."""
    tables = (_TABLE_DDL.fullmatch(ddl.strip()) for ddl in BOOTSTRAP)
    return {m[1]: [c.split()[0].upper() for c in m[2].split(",")] for m in tables if m}


def _decode(cls: type[T], spec: str) -> T:
    raw = json.loads(spec)
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    kwargs = {
        k: datetime.fromisoformat(v["__dt__"]) if isinstance(v, dict) and "__dt__" in v else v
        for k, v in raw.items()
        if k in names
    }
    return cls(**kwargs)


class Catalog:
    """In-memory view of ``_moviecdc`` metadata, written through to DuckDB."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, read_only: bool = False) -> None:
        self.con = con
        self.read_only = read_only
        self.tracked: dict[Key, TrackedTable] = {}
        self.streams: dict[Key, StreamState] = {}
        self.tasks: dict[Key, TaskState] = {}
        self.dynamic_tables: dict[Key, DynamicTableState] = {}
        self.versions: dict[Key, int] = {}
        self.meta: dict[str, str] = {}
        # Inside a transaction writes are held here and written by flush() just before the
        # commit, in few statements (a key written twice is written once); outside one they
        # go straight to DuckDB. Session sets ``buffering`` and calls flush() / discard().
        self.buffering = False
        self._out: dict[str, dict[tuple[Any, ...], tuple[Any, ...] | None]] = {t: {} for t in _TABLES}
        self._held: dict[str, set[tuple[Any, ...]]] = {t: set() for t in _TABLES}  # keys the file holds

    def bootstrap(self) -> None:
        """Create the metadata tables, and add the columns a newer engine gives a table
        that a file written by an older one lacks (its columns are a prefix of ours)."""
        for ddl in BOOTSTRAP:
            self.con.execute(ddl)
        have = dict(
            self.con.execute(
                "SELECT table_name, count(*) FROM duckdb_columns()"
                " WHERE schema_name = ? AND database_name = current_database() GROUP BY table_name",
                [SCHEMA],
            ).fetchall()
        )
        for table, names in _expected_columns().items():
            if int(have.get(table, len(names))) < len(names):  # rare: only then the types are needed
                for name, dtype in _expected_types()[table][int(have[table]) :]:
                    self.con.execute(f'ALTER TABLE {SCHEMA}.{table} ADD COLUMN "{name}" {dtype}')

    def check(self) -> str | None:
        """What is wrong with the file's ``_moviecdc`` schema, or None: every metadata table
        there must have the columns the engine gives it (an older file may lack a table that
        bootstrap then adds; a foreign schema of the same name is refused, never touched)."""
        expected = _expected_columns()
        rows = self.con.execute(
            "SELECT table_name, list(column_name ORDER BY column_index) FROM duckdb_columns()"
            " WHERE schema_name = ? AND database_name = current_database() GROUP BY table_name",
            [SCHEMA],
        ).fetchall()
        for table, columns in rows:
            want = expected.get(str(table))
            have = [c.upper() for c in columns]
            if want is not None and have != want[: len(have)]:
                return f"table {SCHEMA}.{table} does not have the engine's columns"
            if want is not None and have != want and self.read_only:
                # a prefix is a file an older engine wrote: bootstrap adds the rest, but not a reader
                return OLDER_FILE
            if want is None and not _ENGINE_TABLE.fullmatch(str(table)):
                return f"table {SCHEMA}.{table} is not one of the engine's"
        return None

    def load(self) -> None:
        """(Re)read every object from DuckDB: after open and after a rollback."""
        self.tracked.clear()
        self.streams.clear()
        self.tasks.clear()
        self.dynamic_tables.clear()
        self.versions, self.meta = {}, {}
        self.discard()
        self._held = {t: set() for t in _TABLES}
        found = self.con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = 'objects'", [SCHEMA]
        ).fetchone()
        if not (found and found[0]):  # a read-only look at a database never deployed to
            return
        for kind, schema, name, spec in self.con.execute(
            f"SELECT kind, schema_name, name, spec FROM {SCHEMA}.objects"
        ).fetchall():
            self._store(kind)[(schema, name)] = _decode(_KINDS[kind], spec)
        self.versions = {
            (s, n): v
            for s, n, v in self.con.execute(
                f"SELECT schema_name, table_name, version FROM {SCHEMA}.table_versions"
            ).fetchall()
        }
        self.meta = dict(self.con.execute(f"SELECT key, value FROM {SCHEMA}.meta").fetchall())
        self._held["objects"] = {(kind, *key) for kind in _KINDS for key in self._store(kind)}
        self._held["meta"] = {(k,) for k in self.meta}
        self._held["table_versions"] = set(self.versions)

    def _store(self, kind: str) -> dict[Key, Any]:
        stores: dict[str, dict[Key, Any]] = {
            "TRACKED": self.tracked,
            "STREAM": self.streams,
            "TASK": self.tasks,
            "DYNAMIC TABLE": self.dynamic_tables,
        }
        return stores[kind]

    # -- writes (the caller owns the transaction) ------------------------
    def save(self, obj: TrackedTable | StreamState | TaskState | DynamicTableState) -> None:
        kind = next(k for k, cls in _KINDS.items() if isinstance(obj, cls))
        key = (obj.schema, obj.name)
        self._store(kind)[key] = obj
        self._put("objects", (kind, *key), (_encode(obj),))

    def delete(self, kind: str, key: Key) -> None:
        self._store(kind).pop(key, None)
        self._put("objects", (kind, *key), None)

    def set_meta(self, key: str, value: str) -> None:
        self.meta[key] = value
        if not self.read_only:  # read-only: e.g. the clock's high-water mark, kept in memory
            self._put("meta", (key,), (value,))

    def set_version(self, key: Key, version: int, when: datetime) -> None:
        self.versions[key] = version
        self._put("table_versions", key, (version, when))

    def drop_version(self, key: Key) -> None:
        self.versions.pop(key, None)
        self._put("table_versions", key, None)

    def _put(self, table: str, key: tuple[Any, ...], values: tuple[Any, ...] | None) -> None:
        self._out[table][key] = values
        if not self.buffering:
            self.flush()

    def discard(self) -> None:
        """Forget the held writes (the transaction rolled back; load() rereads the file)."""
        self._out = {t: {} for t in _TABLES}

    def flush(self) -> None:
        """Write the held writes: per table at most one DELETE, one UPDATE and one INSERT."""
        out = self._out
        self.discard()
        for table, rows in out.items():
            if rows:
                self._write(table, rows)

    def _write(self, table: str, rows: dict[tuple[Any, ...], tuple[Any, ...] | None]) -> None:
        keys, values = _TABLES[table]
        name, held = f"{SCHEMA}.{table}", self._held[table]
        match = " AND ".join(f"t.{c} = ?" for c in keys)
        gone = [k for k, v in rows.items() if v is None and k in held]
        old = [(k, v) for k, v in rows.items() if v is not None and k in held]
        new = [(*k, *v) for k, v in rows.items() if v is not None and k not in held]
        if len(gone) == 1:
            self.con.execute(f"DELETE FROM {name} t WHERE {match}", list(gone[0]))
        elif gone:
            self.con.execute(
                f"DELETE FROM {name} t USING (VALUES {_marks(len(gone), len(keys))}) AS v({', '.join(keys)})"
                f" WHERE {' AND '.join(f't.{c} = v.{c}' for c in keys)}",
                [x for k in gone for x in k],
            )
        if len(old) == 1:
            sets = ", ".join(f"{c} = ?" for c in values)
            self.con.execute(f"UPDATE {name} t SET {sets} WHERE {match}", [*old[0][1], *old[0][0]])
        elif old:
            cols = (*keys, *values)
            self.con.execute(
                f"UPDATE {name} t SET {', '.join(f'{c} = v.{c}' for c in values)} FROM"
                f" (VALUES {_marks(len(old), len(cols))}) AS v({', '.join(cols)})"
                f" WHERE {' AND '.join(f't.{c} = v.{c}' for c in keys)}",
                [x for k, v in old for x in (*k, *v)],
            )
        if new:
            cols = (*keys, *values)
            self.con.execute(
                f"INSERT INTO {name} ({', '.join(cols)}) VALUES {_marks(len(new), len(cols))}",
                [x for r in new for x in r],
            )
        held.difference_update(gone)
        held.update(r[: len(keys)] for r in new)


# The metadata tables written through Catalog: (key columns, value columns).
_TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "objects": (("kind", "schema_name", "name"), ("spec",)),
    "meta": (("key",), ("value",)),
    "table_versions": (("schema_name", "table_name"), ("version", "changed_at")),
}


def _marks(rows: int, width: int) -> str:
    """``(?, ?), (?, ?)`` for ``rows`` rows of ``width`` values."""
    one = "(" + ", ".join("?" * width) + ")"
    return ", ".join([one] * rows)
