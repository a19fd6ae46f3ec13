"""Terminal output: tables that fit the width, figures for people, progress, hints, --help order."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from moviecdc.clock import ManualClock
from moviecdc.output import ELLIPSIS, fit_table, format_rows, vertical, width
from moviecdc.progress import PhaseBars
from moviecdc.results import Rows
from moviecdc.simulate.runner import load_sample
from moviecdc.status_view import duration, human, render_status
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import deploy_pipeline
from tests.test_cli import run
from tests.test_status import report

WIDTHS = [40, 60, 80, 120]


def widest(text: str) -> int:
    return max((width(line) for line in text.splitlines()), default=0)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"MOVIECDC_DB": str(tmp_path / "db.duckdb"), "MOVIECDC_TARGET": "local", "COLUMNS": "80"}


@pytest.fixture
def caught_up(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    assert run(["deploy"], env, capsys)[0] == 0
    assert run(["simulate", "--sample", "--changes", "200", "--seed", "5"], env, capsys)[0] == 0
    assert run(["run", "--once"], env, capsys)[0] == 0
    return env


# -- status ----------------------------------------------------------------------------
@pytest.mark.parametrize("args", [[], ["--history", "3"]])
def test_status_fits_80_columns(caught_up: dict[str, str], capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    assert run(["simulate", "--changes", "50", "--seed", "6"], caught_up, capsys)[0] == 0  # pending: findings
    code, out, _ = run(["status", *args], caught_up, capsys)
    assert code == 0 and "health:" in out
    assert widest(out) <= 80, [ln for ln in out.splitlines() if width(ln) > 80]
    # nothing dropped to fit: every dynamic table is named whole
    assert "MOVIE_BOOKINGS_FILTERED" in out and "MOVIE_BOOKING_INSIGHTS" in out


@pytest.mark.parametrize("columns", WIDTHS)
def test_every_status_line_fits_any_width(clock: ManualClock, columns: int) -> None:
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh, task_mode="scheduled")
        load_sample(wh, "MOVIECDC.CDC")
        clock.advance(600)
        text = render_status(report(wh, clock), width=columns, refreshes=5)
    assert widest(text) <= columns, [ln for ln in text.splitlines() if width(ln) > columns]


def test_status_text_shows_refresh_history_when_asked(
    caught_up: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    out = run(["status", "--history", "2"], caught_up, capsys)[1]
    assert "refreshes of MOVIE_BOOKINGS_FILTERED" in out and "refreshes of MOVIE_BOOKING_INSIGHTS" in out
    assert "refreshes of" not in run(["status"], caught_up, capsys)[1]


def test_status_reads_as_figures_not_python(caught_up: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    out = run(["status"], caught_up, capsys)[1]
    assert "False" not in out and "True" not in out
    assert human(209919) == "209,919" and human(False) == "no" and human("true") == "yes" and human(None) == "-"
    assert duration(389) == "6 min 29 s" and duration(42) == "42 s" and duration(7300) == "2 h 01 min"


def test_an_overdue_schedule_says_no_scheduler_is_running(clock: ManualClock) -> None:
    with LocalWarehouse(":memory:", clock=clock) as wh:
        deploy_pipeline(wh, task_mode="scheduled")
        assert "overdue" not in render_status(report(wh, clock))
        clock.advance(300)
        text = render_status(report(wh, clock))
    assert "overdue by 4 min 00 s: no scheduler is running" in text and "moviecdc run" in text


# -- sql -------------------------------------------------------------------------------
WIDE = Rows(columns=[f"COLUMN_{i:02d}" for i in range(23)], rows=[[f"value {i} " * 3 for i in range(23)]] * 3)


def test_a_wide_result_turns_vertical_and_keeps_every_value() -> None:
    text = format_rows(WIDE, "auto", max_width=80)
    assert widest(text) <= 80 and "-[ RECORD 3 ]" in text and ELLIPSIS not in text
    for value in WIDE.rows[0]:
        assert value.strip() in text


def test_a_table_that_fits_stays_a_table_and_says_when_it_cut() -> None:
    rows = Rows(columns=["ID", "TITLE"], rows=[[1, "x" * 200], [2, "short"]])
    text = format_rows(rows, "auto", max_width=80)
    assert text.splitlines()[0].startswith("ID") and widest(text) <= 80
    assert ELLIPSIS in text and "--format vertical" in text.splitlines()[-1]
    assert "x" * 200 in format_rows(rows, "json") and "x" * 200 in format_rows(rows, "csv")
    assert "x" * 200 in format_rows(rows, "auto", max_width=None)  # a file or a pipe: whole


@pytest.mark.parametrize("columns", WIDTHS)
def test_forced_table_fits_as_far_as_the_columns_allow(columns: int) -> None:
    text, cut = fit_table(WIDE.columns, WIDE.rows, columns, headers_whole=False)
    floor = 4 * len(WIDE.columns) + 2 * (len(WIDE.columns) - 1)
    assert cut and widest(text) <= max(columns, floor)


def test_wide_characters_count_double() -> None:
    text, cut = fit_table(["T"], [["日本語のタイトル" * 3]], 20)
    assert cut and widest(text) <= 20
    assert "NAME | a" in vertical(["NAME"], [["a"]]) and "NULL" in vertical(["N"], [[None]])


def test_sql_command_uses_the_width(caught_up: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["sql", "-q", "SELECT * FROM raw_movie_bookings ORDER BY booking_id LIMIT 3"], caught_up, capsys)
    assert code == 0 and widest(out) <= 80
    code, out, _ = run(
        ["sql", "-q", "SELECT * FROM raw_movie_bookings LIMIT 3", "--format", "vertical"], caught_up, capsys
    )
    assert code == 0 and out.count("-[ RECORD") == 3


# -- run --once, hints -------------------------------------------------------------------
def test_run_once_ends_with_counts_that_match_the_tables(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(["deploy"], env, capsys)[0] == 0
    assert run(["simulate", "--sample", "--changes", "300", "--seed", "2"], env, capsys)[0] == 0
    code, out, err = run(["run", "--once"], env, capsys)
    assert code == 0 and "Done in" in out and "next:" in err
    events = json.loads(run(["sql", "-q", "SELECT COUNT(*) AS n FROM movie_booking_cdc_events", "--format", "json"],
                            env, capsys)[1])[0]["N"]  # fmt: skip
    assert f"{events:,} change events added" in out
    rows = json.loads(run(["sql", "-q", "SELECT COUNT(*) AS n FROM movie_bookings_filtered", "--format", "json"],
                          env, capsys)[1])[0]["N"]  # fmt: skip
    assert f"MOVIE_BOOKINGS_FILTERED: SUCCEEDED (INCREMENTAL), +{rows:,}/-0 rows" in out


def test_hints_go_to_stderr_and_never_into_json(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["deploy"], env, capsys)
    assert code == 0 and "next: `moviecdc simulate" in err and "next:" not in out
    code, out, err = run(["simulate", "--sample", "--json"], env, capsys)
    assert code == 0 and "next:" not in out + err and json.loads(out)
    code, out, err = run(["simulate", "--changes", "10"], env, capsys)
    assert "next: `moviecdc run --once`" in err and "the stream nets changes" in err


# -- help, progress ----------------------------------------------------------------------
def test_help_lists_commands_in_workflow_order_without_loading_the_terminal_library() -> None:
    probe = (
        "import sys; from moviecdc.cli import main; sys.argv = ['moviecdc', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    print('rich' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    listed = [ln.split()[0] for ln in done.stdout.split("Commands:")[1].splitlines() if ln.strip()]
    assert listed == ["deploy", "simulate", "run", "status", "dashboard", "sql", "lint", "teardown"]
    assert done.stderr.strip() == "False"  # --help stays quick: rich is loaded only to draw progress


def test_each_phase_bar_starts_its_clock_when_its_phase_starts() -> None:
    bars = PhaseBars({"sample bookings": 5, "bookings": 1000, "changes": 0})
    tasks = bars._progress.tasks  # noqa: SLF001 - rich's own task list
    assert [t.description for t in tasks] == ["sample bookings", "bookings"]  # no bar for an empty phase
    assert not any(t.started for t in tasks)
    bars.update("sample bookings", 0)
    assert tasks[0].started and not tasks[1].started  # set-up and other phases never count against its speed
    bars.update("sample bookings", 5)
    bars.update("bookings", 0)
    bars.update("bookings", 400)
    assert tasks[0].finished and tasks[1].completed == 400 and tasks[1].started
