"""Benchmark: the dashboard's first render on 1M bookings (local) against its SQL.

Run on demand (needs the ``dashboard`` extra, Playwright and a Chromium on PATH):
    python bench/bench_dashboard.py [--bookings 1000000] [--runs 3] [--workdir DIR]

1. A database is built as a user would: ``moviecdc deploy && moviecdc simulate --bookings N
   --seed 1 && moviecdc run --once`` in --workdir (kept for the next run).
2. Floors, each the median of --runs, in this process:
   - *engine*: every statement the page's first render runs (the filter options, the
     figures with no filter, the change totals, the refresh history and the monitoring
     queries of ``collect_status`` behind the banner), through ``LocalWarehouse`` on the
     file, opening included;
   - *bare DuckDB*: the figure statements only (the ones on tables; SHOW and the
     INFORMATION_SCHEMA table functions have no DuckDB form), translated by sqlglot and
     run by a bare DuckDB connection on the same file.
3. The render as a user sees it: ``moviecdc dashboard`` is started (a fresh server per
   run, so nothing is cached), then Chromium (Playwright) opens the page, and the time is
   from ``page.goto`` until the health banner shows its verdict, the six KPIs show their
   values and the first chart is drawn. A second visit within 15 s (the server's cached
   read) is timed too. Also reported: Streamlit's AppTest running the script once, cold,
   and, as a second floor, a minimal Streamlit page with the same markers (a banner, six
   metrics, one chart) and no SQL, served and timed the same way.

Goal: the first render at most 3x the engine floor.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

from moviecdc.dashboard.queries import Filters, Reader, read_overview
from moviecdc.warehouse.local import LocalWarehouse

NS = "MOVIECDC.CDC"
APP = Path(__file__).resolve().parents[1] / "src" / "moviecdc" / "dashboard" / "app.py"
READY = """() => {
  const b = document.querySelector('.st-key-health [data-testid="stAlert"]');
  const values = [...document.querySelectorAll('[data-testid="stMetricValue"]')].filter(v => v.innerText.trim());
  const chart = document.querySelector('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg');
  return !!b && /^(OK|WARN|FAIL)/.test(b.innerText) && values.length >= 6 && !!chart;
}"""


def moviecdc(workdir: Path, *args: str) -> None:
    env = {**os.environ, "MOVIECDC_DB": str(workdir / "bench.duckdb"), "MOVIECDC_TARGET": "local"}
    subprocess.run([sys.executable, "-m", "moviecdc", *args], env=env, cwd=workdir, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip


def build(workdir: Path, bookings: int) -> Path:
    db = workdir / "bench.duckdb"
    marker = workdir / f"built-{bookings}"
    if db.exists() and marker.exists():
        return db
    db.unlink(missing_ok=True)
    marker.unlink(missing_ok=True)
    started = time.perf_counter()
    moviecdc(workdir, "deploy")
    moviecdc(workdir, "simulate", "--bookings", str(bookings), "--seed", "1")
    moviecdc(workdir, "run", "--once")
    marker.write_text("ok")
    print(f"built {bookings:,} bookings in {time.perf_counter() - started:.1f} s")
    return db


class Recording:
    """A warehouse that notes every statement it runs."""

    def __init__(self, wh: LocalWarehouse) -> None:
        self.wh = wh
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = None) -> Any:
        self.statements.append(sql)
        return self.wh.execute(sql, params)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.wh, name)


def first_render_sql(db: Path) -> tuple[float, list[str], list[str]]:
    """The page's first-render reads through the engine: seconds, every statement, and
    the dashboard's own (not the monitoring queries of ``collect_status``)."""
    started = time.perf_counter()
    with LocalWarehouse(db, read_only=True) as wh:
        rec = Recording(wh)
        reader = Reader(rec, NS)  # type: ignore[arg-type]
        read_overview(reader, "MOVIECDC", "CDC")
        reader.figures(Filters())
    return time.perf_counter() - started, rec.statements, reader.queries


def figure_statements(statements: list[str]) -> list[str]:
    """The dashboard's statements on tables (not its INFORMATION_SCHEMA read)."""
    return [s for s in statements if "INFORMATION_SCHEMA" not in s.upper()]


def bare(db: Path, statements: list[str]) -> float:
    figure_sql = figure_statements(statements)
    duck = [sqlglot.transpile(s, read="snowflake", write="duckdb")[0].replace(f"{NS}.", "CDC.") for s in figure_sql]
    started = time.perf_counter()
    con = duckdb.connect(str(db), read_only=True)
    for sql in duck:
        con.execute(sql).fetchall()
    con.close()
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# The same markers with no SQL and no figures: what Streamlit and Chromium cost by themselves.
MINIMAL = """
import streamlit as st
st.title("Movie bookings")
with st.container(key="health"):
    st.success("OK")
top, bottom = st.columns(3), st.columns(3)
for i, col in enumerate([*top, *bottom]):
    col.metric(f"figure {i}", "1")
st.bar_chart({"bookings": [1, 2, 3]})
"""


def serve(db: Path, minimal: Path | None = None) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}
    cmd = [sys.executable, "-m", "moviecdc", "dashboard", "--port", str(port)]
    if minimal is not None:
        cmd = [sys.executable, "-m", "streamlit", "run", str(minimal), "--server.port", str(port),
               "--server.address", "127.0.0.1", "--server.headless", "true",
               "--browser.gatherUsageStats", "false"]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the dashboard did not start")


def browser_renders(db: Path, runs: int, minimal: Path | None = None) -> tuple[list[float], list[float]]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no chromium on PATH")
    cold, warm = [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu",
                                     "--disable-dev-shm-usage", "--no-first-run"])  # fmt: skip
        for _ in range(runs):
            proc, url = serve(db, minimal)
            try:
                for times in (cold, warm):
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    started = time.perf_counter()
                    page.goto(url, wait_until="commit")
                    page.wait_for_function(READY, timeout=120_000, polling=20)
                    times.append(time.perf_counter() - started)
                    page.close()
            finally:
                proc.terminate()
                proc.wait(timeout=30)
        browser.close()
    return cold, warm


def apptest(db: Path) -> float:
    code = (
        "import os, time, sys\n"
        "from streamlit.testing.v1 import AppTest\n"
        "t = time.perf_counter(); at = AppTest.from_file(sys.argv[1], default_timeout=300).run()\n"
        "assert not at.exception and len(at.metric) == 6\n"
        "print(time.perf_counter() - t)\n"
    )
    env = {**os.environ, "MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}
    out = subprocess.run([sys.executable, "-c", code, str(APP)], env=env, check=True, capture_output=True, text=True)
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bookings", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "moviecdc-bench-dashboard")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    db = build(args.workdir, args.bookings)

    engine, statements, own = [], [], []
    for _ in range(args.runs):
        seconds, statements, own = first_render_sql(db)
        engine.append(seconds)
    bare_s = [bare(db, own) for _ in range(args.runs)]
    cold, warm = browser_renders(db, args.runs)
    page = args.workdir / "minimal_page.py"
    page.write_text(MINIMAL)
    base_cold, base_warm = browser_renders(db, args.runs, page)
    app_s = [apptest(db) for _ in range(args.runs)]

    med = statistics.median
    floor = med(engine)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()},"
          f" {time.strftime('%Y-%m-%d')}; {args.bookings:,} bookings, median of {args.runs}")  # fmt: skip
    print("| what | seconds | vs engine floor |\n|---|---|---|")
    rows = [
        (f"bare DuckDB: the {len(figure_statements(own))} figure statements (sqlglot-translated)", med(bare_s)),
        (f"engine floor: all {len(statements)} statements of the first render (open included)", floor),
        ("Chromium: first render (fresh server) until banner, 6 KPIs and a chart show", med(cold)),
        ("Chromium: a second visit within 15 s (the server's cached read)", med(warm)),
        ("AppTest: the script run once, cold (no browser)", med(app_s)),
        ("Chromium: a minimal Streamlit page (banner, 6 metrics, 1 chart; no SQL), first visit", med(base_cold)),
        ("Chromium: the same minimal page, second visit", med(base_warm)),
    ]
    for what, seconds in rows:
        print(f"| {what} | {seconds:.3f} | {seconds / floor:.2f}x |")
    ratio = med(cold) / floor
    print(f"goal: first render <= 3x the engine floor: {ratio:.2f}x {'PASS' if ratio <= 3 else 'FAIL'}")
    print(f"first render / the minimal Streamlit page's: {med(cold) / med(base_cold):.2f}x;"
          f" second visits: {med(warm) / med(base_warm):.2f}x")  # fmt: skip
    print(f"all runs: engine {engine}, bare {bare_s}, cold {cold}, warm {warm}, apptest {app_s}")


if __name__ == "__main__":
    main()
