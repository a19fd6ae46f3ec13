"""The dashboard in a real browser: Chromium, driven by Playwright, against
`moviecdc dashboard` serving a seeded local database.

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
from pathlib import Path

import pytest

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
    with LocalWarehouse(db) as wh:
        deploy_pipeline(wh)
        load_sample(wh, NS)
        gen = ChangeGenerator(11)
        gen.known(sample_bookings())
        apply_changes(wh, NS, gen.changes(400))
        run_pending(wh.engine, catch_up=True)
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


def test_dashboard_filter_in_a_real_browser(dashboard: tuple[str, Path], tmp_path: Path) -> None:
    url, db = dashboard
    with LocalWarehouse(db, read_only=True) as wh:
        total = wh.execute(f"SELECT count(*) FROM {NS}.raw_movie_bookings").scalar()
        cancelled = wh.execute(f"SELECT count(*) FROM {NS}.raw_movie_bookings WHERE status = 'CANCELLED'").scalar()
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
        page.wait_for_selector('[data-testid="stMetricValue"]', timeout=60_000)
        assert metric(page, "Total bookings") == f"{total:,}"
        page.get_by_role("combobox", name="Booking status").click()
        page.get_by_role("option", name="CANCELLED", exact=True).click()
        page.wait_for_function(
            "expected => [...document.querySelectorAll('[data-testid=\"stMetric\"]')]"
            ".some(m => m.innerText.includes('Total bookings') && m.innerText.includes(expected))",
            arg=f"{cancelled:,}",
            timeout=30_000,
        )
        assert metric(page, "Total bookings") == f"{cancelled:,}"
        assert metric(page, "Active revenue") == "$0.00"
        path = shots / "dashboard.png"
        page.screenshot(path=str(path), full_page=True)
        with page.expect_download(timeout=30_000) as download:  # the CSV is built on the click
            # the button by its role: while a rerun ends, the old copy of its label may linger
            page.get_by_role("button", name="Download filtered bookings (CSV)").click()
        lines = Path(download.value.path()).read_text().splitlines()
        assert lines[0].startswith("booking_id,") and len(lines) == 1 + cancelled
        browser.close()
    print(f"dashboard screenshot: {path}")
    assert path.stat().st_size > 10_000
