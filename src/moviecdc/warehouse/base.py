"""The one interface both targets implement, and the value types it returns.

``Rows`` lives in :mod:`moviecdc.results`, which the local engine also returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from moviecdc.results import Rows

Params = Sequence[object]


@dataclass(frozen=True)
class PipelineStep:
    """One task run or refresh of a pipeline run: what ran and how it ended."""

    label: str  # e.g. "task CDC.CONSUME_STREAM_TASK", "REFRESH movie_booking_insights"
    outcome: str  # e.g. "SUCCEEDED", "SUCCEEDED (INCREMENTAL)", "FAILED: <error>"
    rows: tuple[int | None, int | None] | None = None  # a refresh's rows inserted and deleted, when known

    @property
    def ok(self) -> bool:
        return self.outcome.split()[0].rstrip(":") in {"SUCCEEDED", "SKIPPED"}


@dataclass
class PipelineRun:
    """What ``Warehouse.run_pipeline`` ran, in order."""

    steps: list[PipelineStep] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was found and done besides the steps
    events_added: int | None = None  # change events the pass added to the events table, when counted

    @property
    def ok(self) -> bool:
        return all(step.ok for step in self.steps)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "steps": [
                {
                    "step": s.label,
                    "outcome": s.outcome,
                    **({"rows_inserted": s.rows[0], "rows_deleted": s.rows[1]} if s.rows else {}),
                }
                for s in self.steps
            ],
            "notes": list(self.notes),
            **({"events_added": self.events_added} if self.events_added is not None else {}),
        }


class Warehouse(Protocol):
    """A connection to a target that runs Snowflake SQL.

    SQL is always Snowflake SQL; ``?`` marks a bound parameter (qmark style).
    """

    target: str

    def execute(self, sql: str, params: Params | None = None) -> Rows:
        """Run one statement and return its result."""
        ...

    def insert_rows(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> int:
        """Insert many rows into ``table`` in bulk; returns the number inserted."""
        ...

    def run_pipeline(self, *, catch_up: bool = True) -> PipelineRun:
        """Run the pipeline now: the task, then the dynamic tables' refreshes.

        With ``catch_up`` every resumed task runs and every dynamic table that would
        refresh on its own refreshes, as if enough time had passed for every schedule and
        lag; without it (the local scheduler loop) only what is due runs. On Snowflake
        it is ``EXECUTE TASK`` and ``ALTER DYNAMIC TABLE ... REFRESH`` (always a catch-up).
        """
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
