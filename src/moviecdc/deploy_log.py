"""The deploy history table, and the deploy that did not finish.

``<ns>.MOVIECDC_DEPLOY_HISTORY`` holds one row per applied script (name, checksum of the
rendered SQL, time, user, outcome) and one row per deploy, ``script = '(deploy)'``, whose
outcome goes STARTED → FINISHED (or FAILED) as the deploy ends.

A deploy suspends the pipeline's task before it changes it (050) and resumes it at the
end (090). A deploy killed in between (SIGKILL, OOM, a CI timeout) leaves its row at
STARTED and the task suspended, and nothing would copy the stream again. The next
``run`` (or ``run --once``) or ``deploy`` sees the row, resumes the task as the deploy
would have and marks the row INTERRUPTED; ``status`` says so and names the command.

Locally a deploy holds the database file for its whole length, so a STARTED row that
another command can read belongs to a dead deploy. On Snowflake a deploy may still be
running in another session: a STARTED row is taken as abandoned only once it is older
than :data:`ABANDONED_AFTER` seconds, and until then it is only reported.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from moviecdc.errors import MovieCdcError
from moviecdc.names import TASK
from moviecdc.warehouse.base import Warehouse

HISTORY_TABLE = "MOVIECDC_DEPLOY_HISTORY"
DEPLOY_ROW = "(deploy)"  # the script name of a deploy's own row
ABANDONED_AFTER = 600.0  # Snowflake: a deploy still STARTED after this long is taken as dead


def create_table(wh: Warehouse, ns: str) -> None:
    wh.execute(
        f"CREATE TABLE IF NOT EXISTS {ns}.{HISTORY_TABLE} (script STRING, checksum STRING, applied_at TIMESTAMP_LTZ,"
        " applied_by STRING, outcome STRING, error STRING, moviecdc_version STRING)"
    )


def record(wh: Warehouse, ns: str, script: str, checksum: str, outcome: str, user: str, error: str | None) -> None:
    """Write one row (values bound, never formatted into SQL)."""
    from moviecdc import __version__

    create_table(wh, ns)
    wh.execute(
        f"INSERT INTO {ns}.{HISTORY_TABLE} (script, checksum, applied_at, applied_by, outcome, error, moviecdc_version)"
        " VALUES (?, ?, CURRENT_TIMESTAMP(), ?, ?, ?, ?)",
        [script, checksum, user, outcome, error, __version__],
    )


def read_history(wh: Warehouse, ns: str) -> dict[str, str]:
    """Checksum of the last successful apply of each script (empty before the first deploy)."""
    try:
        rows = wh.execute(
            f"SELECT script, checksum FROM {ns}.{HISTORY_TABLE} WHERE outcome = 'SUCCESS' ORDER BY applied_at, script"
        ).rows
    except MovieCdcError:
        return {}
    return {str(name): str(checksum) for name, checksum in rows}


def start(wh: Warehouse, ns: str, user: str) -> str | None:
    """Record that a deploy starts; its id, or None while the schema does not exist yet."""
    deploy_id = uuid.uuid4().hex
    try:
        record(wh, ns, DEPLOY_ROW, deploy_id, "STARTED", user, None)
    except MovieCdcError:
        return None
    return deploy_id


def finish(wh: Warehouse, ns: str, deploy_id: str, outcome: str, error: str | None = None) -> None:
    """Close a deploy's row (FINISHED or FAILED), and any older one a killed deploy left open."""
    wh.execute(
        f"UPDATE {ns}.{HISTORY_TABLE} SET outcome = ?, error = ? WHERE script = ? AND checksum = ?",
        [outcome, error, DEPLOY_ROW, deploy_id],
    )
    close_abandoned(wh, ns)


def close_abandoned(wh: Warehouse, ns: str) -> None:
    """Mark every deploy row still STARTED as INTERRUPTED."""
    wh.execute(
        f"UPDATE {ns}.{HISTORY_TABLE} SET outcome = 'INTERRUPTED' WHERE script = '{DEPLOY_ROW}' AND outcome = 'STARTED'"
    )


def resume_task(wh: Warehouse, ns: str) -> None:
    """Resume the pipeline's task (what 090 does at the end of a deploy)."""
    wh.execute(f"ALTER TASK {ns}.{TASK} RESUME")


@dataclass(frozen=True)
class Unfinished:
    """A deploy whose row is still STARTED."""

    started_at: datetime | None
    user: str
    age: float  # seconds since it started, on the target's clock
    abandoned: bool  # certainly dead (local), or older than ABANDONED_AFTER (Snowflake)
    task_suspended: bool  # the pipeline's task exists and is suspended

    def describe(self) -> str:
        when = self.started_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if self.started_at else "at an unknown time"
        return f"a deploy started {when} by {self.user} did not finish"


def unfinished(wh: Warehouse, ns: str) -> Unfinished | None:
    """The newest deploy still STARTED, if any (None also before the first deploy)."""
    try:
        rows = wh.execute(
            f"SELECT applied_at, applied_by, DATEDIFF(second, applied_at, CURRENT_TIMESTAMP()) FROM"
            f" {ns}.{HISTORY_TABLE} WHERE script = '{DEPLOY_ROW}' AND outcome = 'STARTED'"
            " ORDER BY applied_at DESC LIMIT 1"
        ).rows
    except MovieCdcError:
        return None
    if not rows:
        return None
    started, user, age = rows[0]
    started_at = started if isinstance(started, datetime) else None
    if started_at is not None and started_at.tzinfo is None:
        started_at = started_at.replace(tzinfo=UTC)
    seconds = float(age) if isinstance(age, int | float) else 0.0
    abandoned = wh.target == "local" or seconds >= ABANDONED_AFTER
    return Unfinished(started_at, str(user), seconds, abandoned, task_state(wh, ns) == "suspended")


def task_state(wh: Warehouse, ns: str) -> str | None:
    """'started' or 'suspended'; None when the task does not exist (or cannot be read)."""
    try:
        rows = wh.execute(f"SHOW TASKS LIKE '{TASK.upper()}' IN SCHEMA {ns}").dicts()
    except MovieCdcError:
        return None
    for row in rows:
        if str(row.get("name", "")).upper() == TASK.upper():
            return str(row.get("state") or "").lower() or None
    return None


def recover(wh: Warehouse, ns: str) -> str | None:
    """Finish what a killed deploy left undone for the task: resume it, close its row.

    Returns a one-line account of what was found and done, or None when there was nothing.
    A deploy that may still be running (Snowflake, younger than ABANDONED_AFTER) is only
    reported.
    """
    found = unfinished(wh, ns)
    if found is None:
        return None
    if not found.abandoned:
        if not found.task_suspended:
            return None
        return (
            f"{found.describe()} yet ({found.age:.0f} s ago) and left task {TASK} suspended;"
            f" if no deploy is running, `moviecdc deploy` finishes it"
        )
    resumed = False
    if found.task_suspended:
        try:
            resume_task(wh, ns)
            resumed = True
        except MovieCdcError as exc:
            return (
                f"{found.describe()} and left task {TASK} suspended; resuming it failed ({exc.message}):"
                " run `moviecdc deploy`"
            )
    with contextlib.suppress(MovieCdcError):
        close_abandoned(wh, ns)
    if resumed:
        return (
            f"{found.describe()} and left task {TASK} suspended: resumed it (run `moviecdc deploy` to finish the rest)"
        )
    return f"{found.describe()}: the task was not left suspended (run `moviecdc deploy` to finish the rest)"
