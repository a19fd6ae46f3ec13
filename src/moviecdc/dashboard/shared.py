"""The server's last reads, shared by every browser session (pure Python, no Streamlit).

A read is kept for ``ttl`` seconds; whoever asks after that reads again. When the local
database is busy (another process holds it for writing), the last read is served with
the notice that the database was busy, until a read succeeds again. Only aggregates and
the page's small tables are kept, a bounded number of filter combinations at most.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from moviecdc.config import Settings
from moviecdc.dashboard.queries import Reader
from moviecdc.errors import DatabaseBusyError
from moviecdc.render import namespace
from moviecdc.warehouse import connect
from moviecdc.warehouse.base import Warehouse

T = TypeVar("T")
TTL_SECONDS = 15.0


@dataclass
class Entry(Generic[T]):
    value: T | None  # None: never read successfully
    read_at: datetime | None
    tried_at: datetime  # the last attempt, successful or not
    busy: str | None = None  # the database was busy at the last attempt


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """A value (``None``: never read), when it was read, and why it is not fresher."""

    value: T | None
    read_at: datetime | None
    busy: str | None


class SharedReads:
    """The last read per key (a pipeline, a set of filters), shared across sessions."""

    def __init__(self, ttl: float = TTL_SECONDS, max_entries: int = 64) -> None:
        self.ttl = timedelta(seconds=ttl)
        self.max_entries = max_entries
        self.entries: OrderedDict[Hashable, Entry[object]] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: Hashable, read: Callable[[], T], *, since: float = 0.0) -> Outcome[T]:
        """The value for ``key``: read again when the last attempt is older than the ttl
        or than ``since`` (a POSIX time: the user's last Refresh), else the kept one. A
        busy database is not retried before then either (a page run waits for it once).

        Raises:
            MovieCdcError: the read failed for another reason than a busy database.
        """
        now = datetime.now()
        with self.lock:
            entry = self.entries.get(key)
        if entry is None or now - entry.tried_at >= self.ttl or entry.tried_at.timestamp() < since:
            try:
                fresh: Entry[object] = Entry(read(), now, now)
            except DatabaseBusyError as exc:
                kept = (None, None) if entry is None else (entry.value, entry.read_at)
                fresh = Entry(*kept, now, str(exc))
            with self.lock:
                self.entries[key] = entry = fresh
                self.entries.move_to_end(key)
                while len(self.entries) > self.max_entries:
                    self.entries.popitem(last=False)
        return Outcome(entry.value, entry.read_at, entry.busy)  # type: ignore[arg-type]


class Connection:
    """One read-only connection for one run of the page, opened on first use; a busy
    database is tried once per run, not once per read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.ns = namespace(settings)
        self.wh: Warehouse | None = None
        self.busy: DatabaseBusyError | None = None

    def read(self, fn: Callable[[Reader], T]) -> T:
        """``fn`` on a reader of the open connection (opened now if need be).

        Raises:
            DatabaseBusyError: the database is busy (now, or earlier in this run).
        """
        if self.busy is not None:
            raise self.busy
        try:
            if self.wh is None:
                self.wh = connect(self.settings, command="dashboard", read_only=True)
            return fn(Reader(self.wh, self.ns))
        except DatabaseBusyError as exc:
            self.busy = exc
            raise

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.wh is not None:
            self.wh.close()
            self.wh = None
