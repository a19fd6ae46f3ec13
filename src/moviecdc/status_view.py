"""Human rendering of a StatusReport: one section per hop, then the roll-up."""

from __future__ import annotations

from moviecdc.output import local_time, table
from moviecdc.status import FAIL, OK, WARN, StatusReport

_COLORS = {OK: "\x1b[32m", WARN: "\x1b[33m", FAIL: "\x1b[31m"}


def _paint(text: str, level: str, color: bool) -> str:
    return f"{_COLORS[level]}{text}\x1b[0m" if color else text


def _lag(seconds: object) -> str:
    if not isinstance(seconds, int | float):
        return "-"
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def render_status(report: StatusReport, *, color: bool = False) -> str:
    """The report as aligned text; times in the local zone."""
    out: list[str] = [f"moviecdc status: {report.target} {report.namespace}"
                      f" at {local_time(report.generated_at)}", ""]  # fmt: skip
    src = report.source
    out.append(f"source  {src.get('table')}: {src.get('rows', '-')} rows,"
               f" last change {local_time(src.get('last_change'))}")  # fmt: skip
    if report.streams:
        out += ["", "streams", table(
            ["name", "mode", "pending", "has data", "stale", "stale after"],
            [[s["name"], s.get("mode"), s.get("pending_changes", "-"), s.get("has_data", "-"),
              s.get("stale"), local_time(s.get("stale_after"))] for s in report.streams])]  # fmt: skip
    for t in report.tasks:
        out += ["", f"task {t['name']}: {t['state']}, {_when(t)},"
                f" {t['consecutive_failures']} consecutive failure(s)"]  # fmt: skip
        runs: list[dict[str, object]] = t.get("recent_runs") or []  # type: ignore[assignment]
        if runs:
            out.append(table(["scheduled", "state", "from", "error"],
                             [[local_time(r["scheduled_time"]), r["state"], r.get("scheduled_from"),
                               str(r.get("error") or "")[:80]] for r in runs]))  # fmt: skip
    ev = report.events
    out += ["", f"events  {ev.get('table')}: {ev.get('rows', '-')} rows,"
            f" newest change {local_time(ev.get('newest_change'))}"]  # fmt: skip
    if report.dynamic_tables:
        out += ["", "dynamic tables", table(
            ["name", "target lag", "mode", "state", "rows", "data timestamp", "lag", "last refresh"],
            [[d["name"], d.get("target_lag"), d.get("refresh_mode"), d.get("scheduling_state"),
              d.get("rows"), local_time(d.get("data_timestamp")), _lag(d.get("actual_lag_sec")),
              _last(d)] for d in report.dynamic_tables])]  # fmt: skip
    out += ["", "health: " + _paint(report.health, report.health, color)]
    for f in report.findings:
        out.append(f"  {_paint(f.level, f.level, color)}  {f.object}: {f.message}")
    for note in report.notes:
        out.append(f"  note: {note}")
    return "\n".join(out)


def _when(t: dict[str, object]) -> str:
    """When the task runs: a triggered task has no schedule and no next run time."""
    if t.get("mode") == "triggered":
        streams = ", ".join(t.get("triggered_by") or [])  # type: ignore[arg-type]
        wait = t.get("expected_wait_sec")
        within = f", at most once every {wait:.0f}s" if isinstance(wait, int | float) else ""
        return f"triggered (no schedule): runs when {streams} has data{within}"
    if t.get("mode") == "manual":
        return "no schedule and no stream trigger: runs only by EXECUTE TASK"
    if t.get("mode") == "child":
        return "runs after its predecessors"
    return f"schedule {t['schedule']}, next run {local_time(t.get('next_run'))}"


def _last(d: dict[str, object]) -> str:
    refreshes = d.get("recent_refreshes") or []
    if not refreshes:
        return "never"
    r = refreshes[0]  # type: ignore[index]
    ins, dele = r.get("rows_inserted"), r.get("rows_deleted")
    took = r.get("duration_sec")
    took_text = f" {took:.2f}s" if isinstance(took, int | float) else ""
    counts = f"+{ins if ins is not None else '?'}/-{dele if dele is not None else '?'}"
    return f"{r['state']} {r['action']} {counts}{took_text}"
