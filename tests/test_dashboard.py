"""The dashboard under Streamlit's AppTest: its metrics equal figures from the raw table."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from moviecdc.emulator.pipeline import run_pending
from moviecdc.simulate.generator import ChangeGenerator, sample_bookings
from moviecdc.simulate.runner import apply_changes, load_sample
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline
from tests.test_oracle import is_valid

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


def raw_rows(db: Path) -> list[dict[str, object]]:
    with LocalWarehouse(db) as wh:
        return wh.execute(f"SELECT * FROM {NS}.raw_movie_bookings").dicts()


def metrics(at: object) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}  # type: ignore[attr-defined]


def money(rows: list[dict[str, object]], status: str) -> str:
    total = sum(
        (Decimal(r["total_amount"]) for r in rows if is_valid(r) and r["status"] == status),
        Decimal(0),
    )  # type: ignore[arg-type]
    return f"${total:,.2f}"


def test_dashboard_metrics_match_the_raw_table(seeded: Path) -> None:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception
    raw = raw_rows(seeded)
    shown = metrics(at)
    assert shown["Total bookings"] == f"{len(raw):,}"
    assert shown["Active revenue"] == money(raw, "BOOKED")
    assert shown["Lost revenue"] == money(raw, "CANCELLED")
    at.selectbox(key="status").select("CANCELLED").run()
    cancelled = [r for r in raw if r["status"] == "CANCELLED"]
    assert metrics(at)["Total bookings"] == f"{len(cancelled):,}"
    assert metrics(at)["Active revenue"] == "$0.00"
    movie = sorted({r["movie_id"] for r in raw if r["movie_id"]})[0]
    at.selectbox(key="status").select("All").run()
    at.selectbox(key="movie").select(movie).run()
    assert metrics(at)["Total bookings"] == f"{sum(r['movie_id'] == movie for r in raw):,}"
