"""The health and freshness banner, and the page's number formats (pure, no Streamlit).

The verdict is ``moviecdc status``'s (``collect_status``): the page never grades the
pipeline differently from the command line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from moviecdc.names import INSIGHTS, STREAM
from moviecdc.status import StatusReport


def money(value: Decimal | float | int | None) -> str:
    """``$1,234.56`` (``-$5.00`` below zero)."""
    amount = Decimal(str(value or 0))
    return f"-${-amount:,.2f}" if amount < 0 else f"${amount:,.2f}"


def percent(value: float | None) -> str:
    """``12.3%``, or a dash when there is nothing to divide."""
    return "-" if value is None else f"{value:.1f}%"


def duration(seconds: float) -> str:
    """A span in human units: ``45 s``, ``6 min 29 s``, ``2 min``, ``3 h 5 min``, ``2 d 4 h``."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    for unit, size, sub, sub_size in (("d", 86400, "h", 3600), ("h", 3600, "min", 60), ("min", 60, "s", 1)):
        if s >= size:
            whole, rest = divmod(s, size)
            part = rest // sub_size
            return f"{whole} {unit} {part} {sub}" if part else f"{whole} {unit}"
    return f"{s} s"  # pragma: no cover - the loop always returns


def when(moment: datetime, now: datetime) -> str:
    """``2025-09-30 14:03:12 UTC (6 min 29 s ago)``."""
    at = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC ({duration((now - at).total_seconds())} ago)"


@dataclass(frozen=True)
class Banner:
    verdict: str  # OK, WARN or FAIL
    headline: str  # data as of ..., lag against target
    todo: str  # what to do next ("" when nothing)
    findings: tuple[str, ...]


def banner(report: StatusReport, now: datetime | None = None) -> Banner:
    """The banner's text from the status report."""
    now = now or report.generated_at
    leaf = next((d for d in report.dynamic_tables if str(d["name"]).upper() == INSIGHTS.upper()), None)
    parts = []
    behind = False
    if leaf is None:
        parts.append(f"{INSIGHTS} is missing")
    elif not isinstance(leaf.get("data_timestamp"), datetime):
        parts.append(f"{INSIGHTS} has not refreshed yet")
    else:
        data_ts: datetime = leaf["data_timestamp"]  # type: ignore[assignment]
        parts.append(f"data as of {when(data_ts, now)}")
        lag = (now - data_ts).total_seconds()
        target = leaf.get("effective_target_lag_sec")
        if isinstance(target, int | float):
            behind = lag > target
            parts.append(f"{duration(lag)} behind a {duration(target)} target" if behind
                         else f"{duration(lag)} old, within the {duration(target)} target")  # fmt: skip
    stream = [s for s in report.streams if str(s["name"]).upper() == STREAM.upper()]
    pending = sum(int(str(s.get("pending_changes") or 0)) for s in stream)
    if pending:
        parts.append(f"{pending:,} change{'s' if pending != 1 else ''} waiting in the stream")
    findings = tuple(f"{f.level} {f.object}: {f.message}" for f in report.findings)
    return Banner(report.health, " · ".join(parts), _todo(report, behind, pending), findings)


def _todo(report: StatusReport, behind: bool, pending: int) -> str:
    fail = next((f for f in report.findings if f.level == "FAIL"), None)
    if fail is not None:
        return f"{fail.object}: {fail.message}"
    if behind or pending:
        if report.target == "local":
            return "run `moviecdc run --once` to catch up now, or start `moviecdc run` to keep the figures current"
        return "run `moviecdc run --once` to run the task and refresh now; `moviecdc status` shows why it lags"
    if report.health != "OK":
        return "see the details below, or run `moviecdc status`"
    return ""
