"""The dashboard in a real browser: Chromium, driven by Playwright, against
`moviecdc dashboard` serving a seeded local database whose pipeline is behind: its last
refresh ten minutes ago (a clock set back), changes waiting in the stream since.

Skipped when Chromium or Playwright is missing, unless MOVIECDC_REQUIRE_BROWSER=1
(as in CI). The screenshot goes to MOVIECDC_SCREENSHOT_DIR (default: a temp dir) and
its path is printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.scheduler import run_pending
from moviecdc.simulate.generator import ChangeGenerator, sample_bookings
from moviecdc.simulate.runner import apply_changes, load_sample
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline

REQUIRED = os.environ.get("MOVIECDC_REQUIRE_BROWSER") == "1"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(
    not REQUIRED and (CHROMIUM is None or sync_playwright is None or shutil.which("streamlit") is None),
    reason="needs Chromium, Playwright and Streamlit",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def dashboard(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    db = tmp_path / "browser.duckdb"
    with LocalWarehouse(db, clock=ManualClock(datetime.now(UTC) - timedelta(minutes=10))) as wh:
        deploy_pipeline(wh)
        load_sample(wh, NS)
        gen = ChangeGenerator(11)
        gen.known(sample_bookings())
        apply_changes(wh, NS, gen.changes(300))
        run_pending(wh.engine, catch_up=True)  # ten minutes ago
        apply_changes(wh, NS, gen.changes(100))  # pending since
    port = free_port()
    env = {**os.environ, "MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}
    proc = subprocess.Popen([sys.executable, "-m", "moviecdc", "dashboard", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout else ""
                raise AssertionError(f"dashboard did not start: {out[-2000:]}")
            time.sleep(0.5)
        yield url, db
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def metric(page: object, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label)  # type: ignore[attr-defined]
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def wait_for_metric(page: object, label: str, value: str) -> None:
    page.wait_for_function(  # type: ignore[attr-defined]
        "([label, value]) => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
        ".some(m => m.innerText.includes(label) && m.querySelector('[data-testid=\"stMetricValue\"]')"
        ".innerText.trim() === value)",
        arg=[label, value],
        timeout=30_000,
    )


BANNER = ".st-key-health [data-testid='stAlert']"


def banner(page: object, starts: str = "") -> str:
    """The health banner's text, once it starts with ``starts`` (any verdict by default)."""
    page.wait_for_function(  # type: ignore[attr-defined]
        "([sel, starts]) => /^(OK|WARN|FAIL)/.test(document.querySelector(sel)?.innerText ?? '')"
        " && document.querySelector(sel).innerText.startsWith(starts)",
        arg=[BANNER, starts],
        timeout=30_000,
    )
    return str(page.locator(BANNER).first.inner_text())  # type: ignore[attr-defined]


# The oracle: figures recomputed from the raw table (sql/060's validity rule written out).
VALID = (
    "booking_id IS NOT NULL AND customer_id IS NOT NULL AND movie_id IS NOT NULL"
    " AND LENGTH(booking_id) <= 64 AND LENGTH(customer_id) <= 64 AND LENGTH(movie_id) <= 64"
    " AND booking_date >= '2000-01-01' AND booking_date < '2100-01-01'"
    " AND status IN ('BOOKED', 'CANCELLED') AND ticket_count > 0 AND ticket_price > 0"
)


def raw_figures(db: Path, status: str | None = None) -> tuple[int, str, str]:
    """Valid bookings, total (active) and lost revenue, as the page formats them."""
    where = f" AND status = '{status}'" if status else ""
    with LocalWarehouse(db, read_only=True) as wh:
        valid, active, lost = wh.execute(
            f"SELECT COUNT(*), COALESCE(SUM(IFF(status = 'BOOKED', ticket_count * ticket_price, 0)), 0),"
            f" COALESCE(SUM(IFF(status = 'CANCELLED', ticket_count * ticket_price, 0)), 0)"
            f" FROM {NS}.raw_movie_bookings WHERE {VALID}{where}"
        ).rows[0]
    return int(valid), f"${active:,.2f}", f"${lost:,.2f}"


def test_dashboard_in_a_real_browser(dashboard: tuple[str, Path], tmp_path: Path) -> None:
    url, db = dashboard
    assert sync_playwright is not None and CHROMIUM is not None
    shots = Path(os.environ.get("MOVIECDC_SCREENSHOT_DIR", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url, wait_until="domcontentloaded")
        page.wait_for_selector(BANNER, timeout=60_000)
        behind = banner(page)
        assert behind.startswith("WARN") and "behind a 2 min target" in behind, behind
        assert "changes waiting in the stream" in behind and "moviecdc run --once" in behind

        env = {**os.environ, "MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}
        subprocess.run([sys.executable, "-m", "moviecdc", "run", "--once"], env=env, check=True,
                       capture_output=True, timeout=120)  # fmt: skip
        valid, revenue, lost = raw_figures(db)  # after the catch-up, from the raw table
        page.get_by_role("button", name="Refresh").click()
        assert "data as of" in banner(page, "OK")
        for label, value in (("Bookings", f"{valid:,}"), ("Total revenue", revenue), ("Lost revenue", lost)):
            wait_for_metric(page, label, value)  # a rerun redraws the metrics one by one
        page.wait_for_selector("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg")
        path = shots / "dashboard.png"
        page.mouse.move(1390, 990)  # no tooltip in the picture
        tall = page.evaluate("document.querySelector('[data-testid=\"stMainBlockContainer\"]').scrollHeight")
        page.set_viewport_size({"width": 1400, "height": int(tall) + 100})  # Streamlit scrolls inside the page
        page.wait_for_timeout(500)
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size({"width": 1400, "height": 1000})

        cancelled, _, cancelled_lost = raw_figures(db, "CANCELLED")
        page.get_by_role("combobox", name="Booking status").click()
        page.get_by_role("option", name="CANCELLED", exact=True).click()
        assert cancelled != valid and cancelled_lost != revenue  # the filter changes the figures
        for label, value in (
            ("Bookings", f"{cancelled:,}"),
            ("Total revenue", "$0.00"),
            ("Lost revenue", cancelled_lost),
        ):
            wait_for_metric(page, label, value)
        assert metric(page, "Bookings") == f"{cancelled:,}" and metric(page, "Total revenue") == "$0.00"
        with LocalWarehouse(db, read_only=True) as wh:
            rows = wh.execute(f"SELECT COUNT(*) FROM {NS}.raw_movie_bookings WHERE status = 'CANCELLED'").scalar()
        with page.expect_download(timeout=30_000) as download:  # the CSV is read on the click
            page.get_by_role("button", name="Download filtered bookings (CSV)").click()
        lines = Path(download.value.path()).read_text().splitlines()
        assert lines[0].startswith("booking_id,") and len(lines) == 1 + rows
        browser.close()
    print(f"dashboard screenshot: {path}")
    assert path.stat().st_size > 10_000
