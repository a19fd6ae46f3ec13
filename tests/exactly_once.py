"""An exactly-once check for movie_booking_cdc_events that does not trust the engine.

The check is an independent model of a standard stream read by one task. It replays
the events batch by batch (one batch per consuming task run, i.e. per
change_timestamp) over a model of the source keyed by source_row_id, starting from an
empty table (the stream was created with the table), and holds every event to what a
stream may report for the interval it covers:

- within one batch a row appears as one INSERT, one DELETE, or an update pair (one
  DELETE with the old image and one INSERT with the new one, both is_update); anything
  else — a doubled event, a lone event flagged is_update — is a violation;
- an INSERT names a row the model does not hold (unless the same batch deletes it);
  a DELETE names a row the model holds, and its image is exactly the model's image of
  that row: a lost INSERT, a doubled batch or a wrong image all show up here;
- at every checkpoint the model, as a multiset of images, equals the source table
  read at that moment (or the rows the caller expects): a lost or extra change that
  left no trace in later events shows up here.

A caller records a checkpoint after each catch-up (`Ledger.check(wh)`); the more
checkpoints, the finer the check. What it cannot see: a spurious DELETE/INSERT pair
that removes and adds the same image under two row ids, and row ids themselves
(Snowflake exposes them only through streams, so the model follows the events' ids).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tests.conftest import NS

#: The booking image the events carry, in the source's column order.
IMAGE = (
    "booking_id", "customer_id", "movie_id", "booking_date", "status", "ticket_count", "ticket_price",
    "total_amount", "created_at", "updated_at",
)  # fmt: skip

Image = tuple[Any, ...]


@dataclass(frozen=True)
class Event:
    change_timestamp: Any
    row_id: str
    action: str  # 'INSERT' or 'DELETE'
    is_update: bool
    image: Image


class NotExactlyOnce(AssertionError):
    """The events are not every change of the source exactly once."""


def read_events(wh: Any) -> list[Event]:
    rows = wh.execute(
        f"SELECT change_timestamp, source_row_id, change_action, is_update, {', '.join(IMAGE)}"
        f" FROM {NS}.movie_booking_cdc_events ORDER BY change_timestamp"
    ).rows
    return [Event(ts, rid, action, bool(upd), tuple(image)) for ts, rid, action, upd, *image in rows]


def read_source(wh: Any) -> Counter[Image]:
    return Counter(wh.execute(f"SELECT {', '.join(IMAGE)} FROM {NS}.raw_movie_bookings").rows)


def batches(events: Iterable[Event]) -> list[list[Event]]:
    """Events grouped by change_timestamp (one group per task run), oldest first."""
    grouped: dict[Any, list[Event]] = {}
    for e in events:
        grouped.setdefault(e.change_timestamp, []).append(e)
    return [grouped[ts] for ts in sorted(grouped)]


def apply_batch(model: dict[str, Image], batch: Sequence[Event]) -> None:
    """Apply one task run's events to ``model`` (row id -> image), or raise NotExactlyOnce."""
    ts = batch[0].change_timestamp
    by_row: dict[str, list[Event]] = {}
    for e in batch:
        if e.action not in ("INSERT", "DELETE"):
            raise NotExactlyOnce(f"run {ts}: row {e.row_id} has action {e.action!r}")
        by_row.setdefault(e.row_id, []).append(e)
    for rid, evs in by_row.items():
        kinds = sorted((e.action, e.is_update) for e in evs)
        if kinds == [("DELETE", True), ("INSERT", True)]:
            old = next(e for e in evs if e.action == "DELETE").image
            new = next(e for e in evs if e.action == "INSERT").image
            if rid not in model:
                raise NotExactlyOnce(f"run {ts}: update of row {rid}, which no earlier change inserted")
            if model[rid] != old:
                raise NotExactlyOnce(f"run {ts}: update of row {rid} from {old}, but the row was {model[rid]}")
            model[rid] = new
        elif kinds == [("INSERT", False)]:
            if rid in model:
                raise NotExactlyOnce(f"run {ts}: insert of row {rid}, which is already there")
            model[rid] = evs[0].image
        elif kinds == [("DELETE", False)]:
            if rid not in model:
                raise NotExactlyOnce(f"run {ts}: delete of row {rid}, which no earlier change inserted")
            if model[rid] != evs[0].image:
                raise NotExactlyOnce(f"run {ts}: delete of row {rid} as {evs[0].image}, but the row was {model[rid]}")
            del model[rid]
        else:
            raise NotExactlyOnce(f"run {ts}: row {rid} appears as {kinds}; a run reports a row once or as one pair")


def compare(model: dict[str, Image], source: Counter[Image], where: str) -> None:
    replayed = Counter(model.values())
    if replayed != source:
        missing, extra = source - replayed, replayed - source
        raise NotExactlyOnce(
            f"{where}: the events replay to {sum(replayed.values())} rows, the source has {sum(source.values())};"
            f" {sum(missing.values())} source rows not in the events (e.g. {next(iter(missing), None)}),"
            f" {sum(extra.values())} replayed rows not in the source (e.g. {next(iter(extra), None)})"
        )


@dataclass
class Ledger:
    """The model carried across checkpoints: call `check` after every catch-up."""

    model: dict[str, Image] = field(default_factory=dict)
    seen: list[Event] = field(default_factory=list)
    checkpoints: int = 0

    def check(self, wh: Any, expected_source: Counter[Image] | None = None) -> None:
        self.advance(read_events(wh), read_source(wh) if expected_source is None else expected_source)

    def advance(self, events: list[Event], source: Counter[Image]) -> None:
        """Replay the events not seen at the last checkpoint, then compare with ``source``."""
        self.checkpoints += 1
        where = f"checkpoint {self.checkpoints}"
        last = max((e.change_timestamp for e in self.seen), default=None)
        old = [e for e in events if last is not None and e.change_timestamp <= last]
        new = [e for e in events if last is None or e.change_timestamp > last]
        if Counter(old) != Counter(self.seen):
            raise NotExactlyOnce(f"{where}: events of runs up to {last} changed after they were checked")
        for batch in batches(new):
            apply_batch(self.model, batch)
        self.seen = old + new
        compare(self.model, source, where)


def check_exactly_once(wh: Any) -> None:
    """One checkpoint: every event since the stream began, against the source now."""
    Ledger().check(wh)
