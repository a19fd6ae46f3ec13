"""Pipeline status, hop by hop, from the same monitoring SQL on both targets.

Everything here is read-only and uses only what a Snowflake account answers too:
SHOW STREAMS / TASKS / DYNAMIC TABLES, SYSTEM$STREAM_HAS_DATA, and the
INFORMATION_SCHEMA.TASK_HISTORY and DYNAMIC_TABLE_REFRESH_HISTORY table functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from moviecdc import deploy_log
from moviecdc.dialect.query import effective_lag, table_names, unread_downstream
from moviecdc.dialect.schedule import IntervalSchedule, parse_schedule, parse_target_lag
from moviecdc.errors import MovieCdcError, SqlError
from moviecdc.names import DYNAMIC_TABLES, STREAM, TASK
from moviecdc.names import EVENTS_TABLE as EVENTS
from moviecdc.names import SOURCE_TABLE as SOURCE
from moviecdc.render import literal
from moviecdc.results import jsonable
from moviecdc.warehouse.base import Warehouse

OK, WARN, FAIL = "OK", "WARN", "FAIL"
# Snowflake's default USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS: a triggered task runs at
# most this often, so new data waits up to about this long (the local engine spaces runs so too).
TRIGGER_INTERVAL_SEC = 30
_RANK = {OK: 0, WARN: 1, FAIL: 2}
_HAS_DATA = re.compile(r"STREAM_HAS_DATA\s*\(\s*'([^']*)'", re.IGNORECASE)
LOCAL_NOTES = (
    "local engine: an ADAPTIVE table reinitialises after a batch larger than a quarter of its inputs; an"
    " incremental table refreshes FULL after a change to a table it joins to (docs/incremental-refresh.md)",
    "local engine: tasks and refreshes run only while `moviecdc run` is running (or once with `moviecdc run --once`)",
)


@dataclass
class Finding:
    level: str
    object: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"level": self.level, "object": self.object, "message": self.message}


@dataclass
class StatusReport:
    """Everything ``moviecdc status`` shows; ``as_dict`` has the stable JSON keys."""

    target: str
    namespace: str
    generated_at: datetime
    source: dict[str, object] = field(default_factory=dict)
    streams: list[dict[str, object]] = field(default_factory=list)
    tasks: list[dict[str, object]] = field(default_factory=list)
    events: dict[str, object] = field(default_factory=dict)
    dynamic_tables: list[dict[str, object]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    missing: list[dict[str, str]] = field(default_factory=list)  # pipeline objects not found

    @property
    def health(self) -> str:
        worst = max((_RANK[f.level] for f in self.findings), default=0)
        return [OK, WARN, FAIL][worst]

    def as_dict(self) -> dict[str, object]:
        return jsonable(
            {
                "target": self.target,
                "namespace": self.namespace,
                "generated_at": self.generated_at,
                "health": self.health,
                "source": self.source,
                "streams": self.streams,
                "tasks": self.tasks,
                "events": self.events,
                "dynamic_tables": self.dynamic_tables,
                "findings": [f.as_dict() for f in self.findings],
                "notes": self.notes,
                "missing": self.missing,
            },
            exact_decimals=False,
            naive_zone=UTC,
        )  # type: ignore[return-value]


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _bool(value: object) -> bool:
    return str(value).lower() in {"true", "1"}


def collect_status(
    wh: Warehouse,
    database: str,
    schema: str,
    *,
    history: int = 5,
    now: datetime | None = None,
) -> StatusReport:
    """Read the pipeline's state from the target.

    Args:
        wh: an open warehouse.
        database: the pipeline's database.
        schema: the pipeline's schema.
        history: how many task runs and refreshes to show per object.
        now: the time to measure lag against (default: the clock now).

    Returns:
        The report, with findings graded OK / WARN / FAIL.
    """
    ns = f"{database}.{schema}"
    now = now or datetime.now(UTC)
    report = StatusReport(target=wh.target, namespace=ns, generated_at=now)
    if wh.target == "local":
        report.notes.extend(LOCAL_NOTES)
    notes = getattr(wh, "notes", None)  # the local engine: settings it keeps but does not emulate
    if callable(notes):
        report.notes.extend(notes())
    _source(wh, ns, report)
    _streams(wh, ns, report)
    _events(wh, ns, report)
    _tasks(wh, ns, database, report, history)
    _dynamic_tables(wh, ns, database, report, history, now)
    _expected_objects(report)
    return report


# What goes wrong while a pipeline object is missing (deploy recreates each).
_WITHOUT = {
    "STREAM": "changes to the source are not captured",
    "TASK": "nothing copies the stream's changes to the events table",
    "DYNAMIC TABLE": "the dashboard's figures are not kept up to date",
}


def _expected_objects(report: StatusReport) -> None:
    """Every object the pipeline needs is there; one that is not is a FAIL (not silence)."""
    if not report.source.get("exists") and not report.events.get("exists"):
        return  # nothing deployed (or torn down): the source and events findings say so
    found = {
        "STREAM": {str(s["name"]).upper() for s in report.streams},
        "TASK": {str(t["name"]).upper() for t in report.tasks},
        "DYNAMIC TABLE": {str(d["name"]).upper() for d in report.dynamic_tables},
    }
    expected = [("STREAM", STREAM), ("TASK", TASK)] + [("DYNAMIC TABLE", n) for n in DYNAMIC_TABLES]
    for kind, name in expected:
        if name.upper() not in found[kind]:
            report.missing.append({"kind": kind, "name": name})
            report.findings.append(
                Finding(FAIL, name, f"{kind.lower()} is missing: {_WITHOUT[kind]}; `moviecdc deploy` recreates it")
            )


def _safe_count(wh: Warehouse, sql: str) -> tuple[object, object] | None:
    try:
        res = wh.execute(sql)
    except SqlError:
        return None
    return (res.rows[0][0], res.rows[0][1]) if res.rows else None


def _table(wh: Warehouse, ns: str, table: str, newest: str, key: str) -> tuple[dict[str, object], bool]:
    """Rows and newest change of one table, or a note that it is missing."""
    got = _safe_count(wh, f"SELECT COUNT(*), MAX({newest}) FROM {ns}.{table}")
    if got is None:
        return {"table": f"{ns}.{table}", "exists": False}, False
    return {"table": f"{ns}.{table}", "exists": True, "rows": got[0], key: got[1]}, True


def _source(wh: Warehouse, ns: str, report: StatusReport) -> None:
    report.source, found = _table(wh, ns, SOURCE, "updated_at", "last_change")
    if not found:
        report.findings.append(Finding(FAIL, SOURCE, "source table missing: run `moviecdc deploy`"))


def _events(wh: Warehouse, ns: str, report: StatusReport) -> None:
    report.events, found = _table(wh, ns, EVENTS, "change_timestamp", "newest_change")
    if not found:
        report.findings.append(Finding(FAIL, EVENTS, "events table missing: run `moviecdc deploy`"))


def _streams(wh: Warehouse, ns: str, report: StatusReport) -> None:
    for row in wh.execute(f"SHOW STREAMS IN SCHEMA {ns}").dicts():
        name = str(row["name"])
        stale = _bool(row.get("stale"))
        stale_after = _aware(row.get("stale_after"))
        info: dict[str, object] = {
            "name": name,
            "table": row.get("table_name"),
            "mode": row.get("mode"),
            "stale": stale,
            "stale_after": stale_after,
        }
        if stale:
            report.findings.append(
                Finding(
                    FAIL,
                    name,
                    "stream is stale: its unconsumed changes are lost. Recreate it with"
                    " `DROP STREAM` + `moviecdc deploy`, then reload or reconcile the source",
                )
            )
        else:
            try:
                info["has_data"] = bool(
                    wh.execute(f"SELECT SYSTEM$STREAM_HAS_DATA({literal(ns + '.' + name)})").scalar()
                )
                info["pending_changes"] = wh.execute(f"SELECT COUNT(*) FROM {ns}.{name}").scalar()
            except MovieCdcError as exc:
                info["error"] = exc.message
                report.findings.append(Finding(FAIL, name, f"stream cannot be read: {exc.message}"))
            if stale_after is not None and stale_after - report.generated_at < timedelta(days=1):
                report.findings.append(
                    Finding(WARN, name, f"stream becomes stale at {stale_after.isoformat()}: consume it")
                )
        report.streams.append(info)


def _tasks(wh: Warehouse, ns: str, database: str, report: StatusReport, history: int) -> None:
    found = deploy_log.unfinished(wh, ns)
    stopped_by_deploy = None
    if found is not None:
        still = "" if found.abandoned else f" yet (it started {found.age:.0f} s ago and may still be running)"
        stopped_by_deploy = f"{found.describe()}{still}"
    for row in wh.execute(f"SHOW TASKS IN SCHEMA {ns}").dicts():
        name = str(row["name"])
        runs = wh.execute(
            f"SELECT STATE, SCHEDULED_TIME, QUERY_START_TIME, COMPLETED_TIME, ERROR_MESSAGE,"
            f" SCHEDULED_FROM, SCHEMA_NAME FROM TABLE({database}.INFORMATION_SCHEMA.TASK_HISTORY("
            f"TASK_NAME => {literal(name)}, RESULT_LIMIT => {max(1, min(history + 1, 10000))}))"
            " ORDER BY SCHEDULED_TIME DESC"
        ).dicts()
        schema_name = ns.split(".")[-1].strip('"').upper()
        runs = [r for r in runs if str(r.get("schema_name", "")).upper() == schema_name]
        upcoming = [r for r in runs if r["state"] == "SCHEDULED"]
        done = [r for r in runs if r["state"] != "SCHEDULED"][:history]
        failures = 0
        for r in done:
            if r["state"] in {"FAILED", "FAILED_AND_AUTO_SUSPENDED"}:
                failures += 1
            elif r["state"] == "SUCCEEDED":
                break
        condition = row.get("condition")
        mode, triggered_by, wait = _task_mode(row)
        info = {
            "name": name,
            "state": row.get("state"),
            "mode": mode,
            "triggered_by": triggered_by,
            "expected_wait_sec": wait,
            "schedule": row.get("schedule"),
            "warehouse": row.get("warehouse"),
            "condition": condition,
            "last_suspended_reason": row.get("last_suspended_reason"),
            "next_run": _aware(upcoming[0]["scheduled_time"]) if upcoming else None,
            "consecutive_failures": failures,
            "recent_runs": [
                {
                    "state": r["state"],
                    "scheduled_time": _aware(r["scheduled_time"]),
                    "query_start_time": _aware(r.get("query_start_time")),
                    "completed_time": _aware(r["completed_time"]),
                    "error": r.get("error_message"),
                    "scheduled_from": r.get("scheduled_from"),
                }
                for r in done
            ],
        }
        report.tasks.append(info)
        if row.get("state") != "started" and stopped_by_deploy is not None:
            report.findings.append(
                Finding(FAIL, name, f"task is suspended: {stopped_by_deploy}; changes are not being copied until"
                        " `moviecdc run` (or `run --once`) resumes it, or `moviecdc deploy` finishes the deploy")
            )  # fmt: skip
        elif row.get("state") != "started":
            reason = row.get("last_suspended_reason") or "suspended"
            report.findings.append(
                Finding(FAIL if reason == "SUSPENDED_DUE_TO_ERRORS" else WARN, name,
                        f"task is suspended ({reason}): changes are not being copied;"
                        " `moviecdc deploy` resumes it")
            )  # fmt: skip
        pending = sum(int(s.get("pending_changes") or 0) for s in report.streams)  # type: ignore[call-overload]
        if mode == "manual":
            report.findings.append(
                Finding(WARN, name, "task has no schedule, no predecessor and no WHEN SYSTEM$STREAM_HAS_DATA"
                        " trigger: it never runs on its own (only EXECUTE TASK runs it); `moviecdc deploy`"
                        " puts the template's trigger back")
            )  # fmt: skip
        elif not condition or "STREAM_HAS_DATA" not in str(condition).upper():
            idle = ""
            if row.get("state") == "started" and not pending:
                idle = " The pipeline is idle (no pending change) yet"
            report.findings.append(
                Finding(WARN, name, f"task has no WHEN SYSTEM$STREAM_HAS_DATA guard.{idle} it wakes"
                        f" warehouse {row.get('warehouse') or '(serverless)'} on every run, data or not")
            )  # fmt: skip
        newest = _aware(report.events.get("newest_change"))
        last = done[0] if done else None
        started_at = _aware(last.get("query_start_time")) if last else None
        if last and last["state"] == "SUCCEEDED" and started_at and (newest is None or newest < started_at):
            report.findings.append(
                Finding(WARN, name, "the last run succeeded but copied no change: the warehouse woke up for"
                        " nothing (does the WHEN guard check the stream the task consumes?)")
            )  # fmt: skip
        if done and done[0]["state"] in {"FAILED", "FAILED_AND_AUTO_SUSPENDED"}:
            report.findings.append(
                Finding(
                    FAIL,
                    name,
                    f"last run failed ({failures} in a row): {done[0].get('error_message')}",
                )
            )


def _resolved(name: str) -> str:
    """A name as Snowflake resolves it: quoted as written, unquoted in upper case."""
    name = name.strip()
    return name[1:-1].replace('""', '"') if name.startswith('"') and name.endswith('"') else name.upper()


def _predecessors(value: object) -> list[object]:
    """SHOW TASKS' ``predecessors``: a JSON array of names (a list, or text, or NULL)."""
    if isinstance(value, list):
        return value
    try:
        parsed = json.loads(str(value or "[]"))
    except ValueError:
        return [value]
    return parsed if isinstance(parsed, list) else [parsed]


def _task_mode(row: Mapping[str, object]) -> tuple[str, list[str], int | None]:
    """How SHOW TASKS says a task runs: (mode, the streams its WHEN checks, the longest a
    change should wait for a run in seconds, None when unknown).

    ``triggered``: no schedule, no predecessor, WHEN SYSTEM$STREAM_HAS_DATA: runs when a
    stream has data (SHOW TASKS' schedule is NULL); ``scheduled``: on its schedule;
    ``child``: after its predecessors; ``manual``: nothing runs it but EXECUTE TASK.
    """
    streams = [_resolved(s.split(".")[-1]) for s in _HAS_DATA.findall(str(row.get("condition") or ""))]
    schedule = row.get("schedule") or None
    predecessors = _predecessors(row.get("predecessors"))
    if schedule is not None:
        try:
            parsed = parse_schedule(str(schedule))
        except MovieCdcError:
            return "scheduled", streams, None
        return "scheduled", streams, parsed.seconds if isinstance(parsed, IntervalSchedule) else None
    if predecessors:
        return "child", streams, None
    if streams:
        return "triggered", streams, TRIGGER_INTERVAL_SEC
    return "manual", streams, None


def _inputs(text: str) -> set[str]:
    """Upper-case table names a dynamic table's CREATE statement (SHOW's ``text``) reads."""
    from moviecdc.dialect.ddl import CreateDynamicTable, parse_cdc

    try:
        stmt = parse_cdc(text)
    except MovieCdcError:
        return set()
    return table_names(stmt.query) if isinstance(stmt, CreateDynamicTable) else set()


def _dynamic_tables(wh: Warehouse, ns: str, database: str, report: StatusReport, history: int, now: datetime) -> None:
    rows = wh.execute(f"SHOW DYNAMIC TABLES IN SCHEMA {ns}").dicts()
    inputs = {str(r["name"]).upper(): _inputs(str(r.get("text") or "")) for r in rows}
    lags: dict[str, int | None] = {}
    for r in rows:
        try:
            lags[str(r["name"]).upper()] = parse_target_lag(str(r.get("target_lag"))).seconds
        except MovieCdcError:
            lags[str(r["name"]).upper()] = None

    unread = set(unread_downstream(lags, inputs))
    for r in rows:
        name = str(r["name"])
        up = name.upper()
        refreshes = wh.execute(
            "SELECT STATE, STATE_MESSAGE, REFRESH_ACTION, REFRESH_TRIGGER, DATA_TIMESTAMP,"
            " REFRESH_START_TIME, REFRESH_END_TIME, STATISTICS FROM TABLE("
            f"{database}.INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY("
            f"NAME => {literal(ns + '.' + name)}, RESULT_LIMIT => {max(1, min(history, 10000))}))"
            " ORDER BY REFRESH_START_TIME DESC"
        ).dicts()
        data_ts = _aware(r.get("data_timestamp"))
        eff = effective_lag(up, lags, inputs)
        actual = (now - data_ts).total_seconds() if data_ts else None
        info = {
            "name": name,
            "target_lag": r.get("target_lag"),
            "effective_target_lag_sec": eff,
            "refresh_mode": r.get("refresh_mode"),
            "refresh_mode_reason": r.get("refresh_mode_reason"),
            "scheduling_state": r.get("scheduling_state"),
            "rows": r.get("rows"),
            "data_timestamp": data_ts,
            "actual_lag_sec": actual,
            "recent_refreshes": [_refresh(x) for x in refreshes],
        }
        report.dynamic_tables.append(info)
        if up in unread:
            report.findings.append(
                Finding(FAIL, name, "TARGET_LAG = DOWNSTREAM and no dynamic table reads it:"
                        " Snowflake never refreshes it; give it a duration")
            )  # fmt: skip
        if r.get("scheduling_state") != "RUNNING":
            report.findings.append(Finding(WARN, name, "dynamic table is suspended"))
        if refreshes and refreshes[0]["state"] in {"FAILED", "UPSTREAM_FAILED"}:
            report.findings.append(
                Finding(
                    FAIL,
                    name,
                    f"last refresh {refreshes[0]['state']}: {refreshes[0].get('state_message')}",
                )
            )
        if eff is not None and actual is not None and actual > eff:
            report.findings.append(
                Finding(WARN, name, f"{actual:.0f} s behind, target {eff} s: run the scheduler"
                        " (`moviecdc run`)" if wh.target == "local" else f"{actual:.0f} s behind, target {eff} s")
            )  # fmt: skip
        if str(r.get("refresh_mode")).upper() == "FULL":
            report.findings.append(
                Finding(WARN, name, f"refresh mode FULL ({r.get('refresh_mode_reason')}):"
                        " every refresh recomputes the whole table")
            )  # fmt: skip


def _refresh(x: Mapping[str, object]) -> dict[str, object]:
    stats_raw = x.get("statistics")
    stats: Mapping[str, object] = {}
    if isinstance(stats_raw, str) and stats_raw:
        stats = json.loads(stats_raw)
    elif isinstance(stats_raw, Mapping):
        stats = stats_raw
    start, end = _aware(x.get("refresh_start_time")), _aware(x.get("refresh_end_time"))
    return {
        "state": x.get("state"),
        "action": x.get("refresh_action"),
        "trigger": x.get("refresh_trigger"),
        "data_timestamp": _aware(x.get("data_timestamp")),
        "start": start,
        "duration_sec": (end - start).total_seconds() if start and end else None,
        "rows_inserted": stats.get("numInsertedRows"),
        "rows_deleted": stats.get("numDeletedRows"),
        "message": x.get("state_message") or None,
    }
