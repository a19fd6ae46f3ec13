"""Stream staleness and change-log trimming (reference 1.6-1.7)."""

from __future__ import annotations

from datetime import datetime, timedelta

from moviecdc.emulator.catalog import SCHEMA, StreamState
from moviecdc.emulator.session import Session

DEFAULT_RETENTION_DAYS = 1  # DATA_RETENTION_TIME_IN_DAYS


DEFAULT_MAX_EXTENSION_DAYS = 14  # MAX_DATA_EXTENSION_TIME_IN_DAYS


# ---------------------------------------------------------------- streams
def stale_after(engine: Session, st: StreamState) -> datetime:
    """Last consumption + max(DATA_RETENTION_TIME_IN_DAYS, MAX_DATA_EXTENSION_TIME_IN_DAYS) (1.7).

    Defaults 1 and 14 days; set them with ``ALTER TABLE <source> SET ...``.
    """
    base = st.last_consumed_on or st.created_on
    meta = engine.catalog.meta
    source = f"{st.source_schema}.{st.source_name}"
    retention = int(meta.get(f"DATA_RETENTION_TIME_IN_DAYS.{source}", DEFAULT_RETENTION_DAYS))
    extension = int(meta.get(f"MAX_DATA_EXTENSION_TIME_IN_DAYS.{source}", DEFAULT_MAX_EXTENSION_DAYS))
    return base + timedelta(days=max(retention, extension))


def is_stale(engine: Session, st: StreamState) -> bool:
    return st.stale or engine.now() > stale_after(engine, st)


def trim_change_logs(engine: Session) -> int:
    """Drop change-log entries every reader of the table has moved past; returns how many.

    A stream reads entries newer than its offset (and, for after-images, later ones), an
    incremental dynamic table those newer than its last refresh, so entries at or below
    the smallest of these are never read again. A table nothing reads keeps no entries.
    """
    dropped = 0
    for key, tt in engine.catalog.tracked.items():
        offsets = [
            st.offset
            for st in engine.catalog.streams.values()
            if ((st.source_schema, st.source_name) == key or list(key) in st.base_tables) and not st.stale
        ]
        offsets += [  # an incremental dynamic table reads the entries after its last refresh
            dt.refresh_version
            for dt in engine.catalog.dynamic_tables.values()
            if dt.refresh_mode in ("INCREMENTAL", "ADAPTIVE") and dt.initialized and list(key) in dt.inputs
        ]
        below = min(offsets) if offsets else engine.version
        row = engine.con.execute(f"SELECT count(*) FROM {tt.log} WHERE _version <= ?", [below]).fetchone()
        if row and row[0]:
            engine.con.execute(f"DELETE FROM {tt.log} WHERE _version <= ?", [below])
            dropped += int(row[0])
            tt.trimmed_to = max(tt.trimmed_to, below)  # CHANGES ... AT cannot reach back past it
            engine.catalog.save(tt)
    if engine.catalog.tracked:  # the version clock is kept as far back as the least trimmed log needs
        floor = min(tt.trimmed_to for tt in engine.catalog.tracked.values())
        engine.con.execute(
            f"DELETE FROM {SCHEMA}.version_times WHERE version <"
            f" (SELECT max(version) FROM {SCHEMA}.version_times WHERE version <= ?)",
            [floor],
        )
    return dropped


def refresh_staleness(engine: Session) -> None:
    """Mark streams whose offset fell out of the retention window as stale."""
    for st in list(engine.catalog.streams.values()):
        if not st.stale and is_stale(engine, st):
            st.stale = True
            engine.catalog.save(st)
