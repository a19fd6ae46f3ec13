"""The dashboard under Streamlit's AppTest: every filter gives the figures computed from
the raw table, and a database held by another process never puts an error on the page."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from moviecdc.emulator.scheduler import run_pending
from moviecdc.simulate.generator import ChangeGenerator, sample_bookings
from moviecdc.simulate.runner import apply_changes, load_sample
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.test_oracle import is_valid

st = pytest.importorskip("streamlit")
AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
APP = Path(__file__).parents[1] / "src" / "moviecdc" / "dashboard" / "app.py"


@pytest.fixture
def seeded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "dash.duckdb"
    with LocalWarehouse(db) as wh:
        deploy_pipeline(wh)
        load_sample(wh, NS)
        gen = ChangeGenerator(5)
        gen.known(sample_bookings())
        apply_changes(wh, NS, gen.changes(300))
        run_pending(wh.engine, catch_up=True)
    monkeypatch.setenv("MOVIECDC_DB", str(db))
    monkeypatch.setenv("MOVIECDC_TARGET", "local")
    return db


def raw_rows(db: Path) -> list[dict[str, Any]]:
    with LocalWarehouse(db) as wh:
        return wh.execute(
            f"SELECT r.*, m.title FROM {NS}.raw_movie_bookings r LEFT JOIN {NS}.movies m ON m.movie_id = r.movie_id"
        ).dicts()


def shown(at: Any) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def expected(rows: list[dict[str, Any]]) -> dict[str, str]:
    valid = [r for r in rows if is_valid(r)]
    active = sum((Decimal(r["total_amount"]) for r in valid if r["status"] == "BOOKED"), Decimal(0))
    lost = sum((Decimal(r["total_amount"]) for r in valid if r["status"] == "CANCELLED"), Decimal(0))
    cancelled = sum(r["status"] == "CANCELLED" for r in valid)
    return {
        "Total bookings": f"{len(rows):,}",
        "Total revenue": f"${active + lost:,.2f}",
        "Active revenue": f"${active:,.2f}",
        "Lost revenue": f"${lost:,.2f}",
        "Cancellation rate": f"{100 * cancelled / len(valid):.1f}%" if valid else "-",
        "Data quality": f"{100 * len(valid) / len(rows):.1f}%" if rows else "-",
    }


def test_every_filter_shows_the_figures_of_the_raw_table(seeded: Path) -> None:
    raw = raw_rows(seeded)
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and not at.error
    assert shown(at) == expected(raw)

    at.selectbox(key="status").select("CANCELLED").run()
    assert shown(at) == expected([r for r in raw if r["status"] == "CANCELLED"])

    title = sorted({r["title"] for r in raw if r["title"]})[0]
    at.selectbox(key="status").select("All").run()
    at.selectbox(key="movie").select(title).run()
    assert shown(at) == expected([r for r in raw if r["title"] == title])

    at.selectbox(key="movie").select("All").run()
    first, last = date(2025, 9, 8), date(2025, 9, 14)
    at.date_input(key="dates").set_value((first, last)).run()
    in_range = [r for r in raw if r["booking_date"] and first <= r["booking_date"].date() <= last]
    assert shown(at) == expected(in_range)
    assert not at.exception


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: nobody else may open the file now
print("held", flush=True)
sys.stdin.readline()  # until the test lets go
"""


def test_a_busy_database_never_puts_an_error_on_the_page(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIECDC_BUSY_TIMEOUT", "0.5")
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    before = shown(at)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(seeded)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        at.button[0].click().run()  # Refresh while another process writes
        assert not at.exception and not at.error
        assert "busy" in at.warning[0].value and shown(at) == before  # the last figures, said to be stale
        fresh = AppTest.from_file(str(APP), default_timeout=60).run()  # a new visitor meanwhile
        assert not fresh.exception and not fresh.error  # sees the figures the server read last
        assert "busy" in fresh.warning[0].value and shown(fresh) == before
        st.cache_resource.clear()  # a server that never read the database
        first = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not first.exception and not first.error
        assert "busy" in first.info[0].value
    finally:
        holder.communicate("\n", timeout=30)
    at.button[0].click().run()
    assert not at.warning and shown(at) == before


def test_sessions_hold_no_bookings_of_their_own(seeded: Path) -> None:
    """Security (memory): the bookings are read once per server, not once per visitor, so
    many open pages cannot exhaust memory; a session keeps only its filters."""
    st.cache_resource.clear()
    pages = [AppTest.from_file(str(APP), default_timeout=60).run() for _ in range(3)]
    for at in pages:
        assert not at.exception and not at.error
        held = [at.session_state[k] for k in at.session_state.keys()]  # noqa: SIM118 (not a dict)
        assert held and all(len(repr(v)) < 200 for v in held), held  # filter values, no frames
    assert shown(pages[0]) == shown(pages[1]) == shown(pages[2])
