"""Human rendering of a StatusReport: one section per hop, then the roll-up.

Every line fits ``width`` columns when one is given (tables give way column by column,
sentences wrap under their first word); counts have thousands separators, flags read
yes/no, lags read in minutes and seconds.
"""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime

from moviecdc.output import fit_table, local_time
from moviecdc.status import FAIL, OK, WARN, StatusReport

_COLORS = {OK: "\x1b[32m", WARN: "\x1b[33m", FAIL: "\x1b[31m"}


def _paint(text: str, level: str, color: bool) -> str:
    return f"{_COLORS[level]}{text}\x1b[0m" if color else text


def human(value: object) -> str:
    """A figure for people: 1,234 rows, yes/no, '-' for nothing."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str) and value.lower() in {"true", "false"}:  # Snowflake's SHOW gives strings
        return "yes" if value.lower() == "true" else "no"
    return str(value)


def duration(seconds: object) -> str:
    """``42 s``, ``6 min 29 s``, ``3 h 05 min``; '-' when unknown."""
    if not isinstance(seconds, int | float) or seconds != seconds:
        return "-"
    s = round(abs(seconds))
    sign = "-" if seconds < 0 else ""
    if s < 60:
        return f"{sign}{s} s"
    if s < 3600:
        return f"{sign}{s // 60} min {s % 60:02d} s"
    if s < 86400:
        return f"{sign}{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{sign}{s // 86400} d {s % 86400 // 3600:02d} h"


def render_status(report: StatusReport, *, color: bool = False, width: int | None = None,
                  refreshes: int = 0) -> str:  # fmt: skip
    """The report as aligned text; times in the local zone. ``refreshes``: how many recent
    refreshes of each dynamic table to list (0: only the last, in the table's row)."""
    out: list[str] = []

    def say(text: str, indent: str = "") -> None:
        out.extend(_wrap(text, width, indent))

    def grid(columns: list[str], rows: list[list[object]]) -> None:
        text, cut = fit_table(columns, rows, width, keep=1)
        if not cut:
            out.append(text)
            return
        # too wide for the terminal: one block per row, its first value as the heading
        for row in rows:
            out.extend(_wrap(str(row[0]), width, "  "))
            label_w = max(len(c) for c in columns[1:])
            for name, value in zip(columns[1:], row[1:], strict=True):
                if value in ("", None):
                    continue
                out.extend(_wrap(f"{name:<{label_w}}  {value}", width, " " * (label_w + 4), first="  "))

    day = report.generated_at.astimezone().date()

    def when(value: object) -> str:
        """A time of today as 20:21:22, of another day with its date (the zone is in the heading)."""
        if isinstance(value, str):
            try:
                value = datetime.fromisoformat(value)
            except ValueError:
                return str(value)
        if not isinstance(value, datetime):
            return "-" if value is None else str(value)
        local = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone()
        return local.strftime("%H:%M:%S" if local.date() == day else "%Y-%m-%d %H:%M:%S")

    say(f"moviecdc status: {report.target} {report.namespace} at {local_time(report.generated_at)}")
    out.append("")
    src = report.source
    say(f"source  {src.get('table')}: {human(src.get('rows'))} rows, last change {when(src.get('last_change'))}", "  ")
    if report.streams:
        out += ["", "streams"]
        grid(["name", "mode", "pending", "has data", "stale", "stale after"],
             [[s["name"], s.get("mode"), human(s.get("pending_changes")), human(s.get("has_data")),
               human(s.get("stale")), when(s.get("stale_after"))] for s in report.streams])  # fmt: skip
    for t in report.tasks:
        out.append("")
        failures = t["consecutive_failures"]
        say(f"task {t['name']}: {t['state']}, {_when(t, report)}, {human(failures)} consecutive"
            f" failure{'' if failures == 1 else 's'}", "  ")  # fmt: skip
        runs: list[dict[str, object]] = t.get("recent_runs") or []  # type: ignore[assignment]
        if runs:
            grid(["scheduled", "state", "from", "error"],
                 [[when(r["scheduled_time"]), r["state"], r.get("scheduled_from"),
                   str(r.get("error") or "")] for r in runs])  # fmt: skip
    ev = report.events
    out.append("")
    say(f"events  {ev.get('table')}: {human(ev.get('rows'))} rows, newest change {when(ev.get('newest_change'))}", "  ")
    if report.dynamic_tables:
        out += ["", "dynamic tables"]
        grid(["name", "target lag", "mode", "state", "rows", "data as of", "lag", "last refresh"],
             [[d["name"], d.get("target_lag"), d.get("refresh_mode"), d.get("scheduling_state"),
               human(d.get("rows")), when(d.get("data_timestamp")), duration(d.get("actual_lag_sec")),
               _last(d)] for d in report.dynamic_tables])  # fmt: skip
        if refreshes:
            for d in report.dynamic_tables:
                rows = (d.get("recent_refreshes") or [])[:refreshes]  # type: ignore[index]
                out.append("")
                say(f"refreshes of {d['name']} (newest first)", "  ")
                if not rows:
                    out.append("  none yet")
                    continue
                grid(["started", "state", "action", "trigger", "inserted", "deleted", "took", "message"],
                     [[when(r.get("start")), r.get("state"), r.get("action"), r.get("trigger"),
                       human(r.get("rows_inserted")), human(r.get("rows_deleted")), _took(r.get("duration_sec")),
                       r.get("message") or ""] for r in rows])  # fmt: skip
    out += ["", "health: " + _paint(report.health, report.health, color)]
    for f in report.findings:
        lines = _wrap(f"{f.level}  {f.object}: {f.message}", width, "        ", first="  ")
        lines[0] = lines[0].replace(f.level, _paint(f.level, f.level, color), 1)
        out.extend(lines)
    for note in report.notes:
        out.extend(_wrap(f"note: {note}", width, "        ", first="  "))
    return "\n".join(out)


def _wrap(text: str, width: int | None, indent: str, *, first: str = "") -> list[str]:
    if width is None:
        return [first + text]
    return textwrap.wrap(text, width=max(width, 20), initial_indent=first, subsequent_indent=indent,
                         break_long_words=True, break_on_hyphens=False) or [""]  # fmt: skip


def _when(t: dict[str, object], report: StatusReport) -> str:
    """When the task runs: a triggered task has no schedule and no next run time."""
    if t.get("mode") == "triggered":
        streams = ", ".join(t.get("triggered_by") or [])  # type: ignore[arg-type]
        wait = t.get("expected_wait_sec")
        within = f", at most once every {duration(wait)}" if isinstance(wait, int | float) else ""
        return f"triggered (no schedule): runs when {streams} has data{within}"
    if t.get("mode") == "manual":
        return "no schedule and no stream trigger: runs only by EXECUTE TASK"
    if t.get("mode") == "child":
        return "runs after its predecessors"
    nxt = t.get("next_run")
    text = f"schedule {t['schedule']}, next run {local_time(nxt)}"
    if isinstance(nxt, datetime) and nxt.tzinfo is not None and nxt < report.generated_at:
        late = duration((report.generated_at - nxt).total_seconds())
        if report.target == "local":
            text += f" (overdue by {late}: no scheduler is running; start `moviecdc run` or run `moviecdc run --once`)"
        else:
            text += f" (overdue by {late})"
    return text


def _took(seconds: object) -> str:
    return f"{seconds:.2f} s" if isinstance(seconds, int | float) else "-"


def _last(d: dict[str, object]) -> str:
    refreshes = d.get("recent_refreshes") or []
    if not refreshes:
        return "never"
    r = refreshes[0]  # type: ignore[index]
    ins, dele = r.get("rows_inserted"), r.get("rows_deleted")
    took = r.get("duration_sec")
    took_text = f" {_took(took)}" if isinstance(took, int | float) else ""
    counts = f" +{human(ins) if ins is not None else '?'}/-{human(dele) if dele is not None else '?'}"
    return f"{r['state']} {r['action']}{counts if r['action'] != 'NO_DATA' else ''}{took_text}"
