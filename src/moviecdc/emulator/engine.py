"""The local engine: Snowflake SQL, streams, tasks and dynamic tables on DuckDB.

:class:`Engine` is the statement path of :mod:`moviecdc.emulator.core` with the
handlers for streams, tasks, dynamic tables and SHOW
(:mod:`moviecdc.emulator.statements`) plugged in, and the scheduler pass
(:mod:`moviecdc.emulator.scheduler`) as ``run_pending``. Every operation that changes
state runs inside one DuckDB transaction with the catalog rows it writes, so an error
or a crash changes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from moviecdc.emulator import notes
from moviecdc.emulator.core import Core
from moviecdc.results import Rows

if TYPE_CHECKING:
    from moviecdc.emulator.scheduler import PassReport


def _handle(engine: Core, stmt: Any, text: str) -> Rows:
    """:func:`moviecdc.emulator.statements.handle`. The handlers and the scheduler (and the
    refresh machinery below them) are imported when first needed: a process that runs
    only ordinary SQL (``moviecdc sql``) does not load them."""
    from moviecdc.emulator import statements

    return statements.handle(engine, stmt, text)


class Engine(Core):
    """One open local database; see the module docstring."""

    def __init__(self, path: str | Path = ":memory:", **options: Any) -> None:
        """Open ``path``; ``options`` are :class:`~moviecdc.emulator.session.Session`'s
        (clock, database, schema, busy_timeout, read_only)."""
        super().__init__(path, cdc=_handle, **options)

    def run_pending(self, *, catch_up: bool = False) -> PassReport:
        """One scheduler pass (see :func:`moviecdc.emulator.scheduler.run_pending`)."""
        from moviecdc.emulator import scheduler

        return scheduler.run_pending(self, catch_up=catch_up)

    def notes(self) -> list[str]:
        """Settings accepted and kept but not emulated (see :mod:`moviecdc.emulator.notes`)."""
        return notes.unemulated(self.catalog)

    def __enter__(self) -> Engine:
        return self
