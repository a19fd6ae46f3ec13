"""Concurrent use of one local database: `moviecdc run` (the scheduler loop), `moviecdc
simulate --rate`, repeated `moviecdc status` and dashboard reads, all at once for 60
seconds. No command may fail (no lock error), and afterwards every change the simulator
reports as committed is in the source table and, exactly once, in the events table.

The processes take turns: each opens the file only for one short unit of work and
waits (MOVIECDC_BUSY_TIMEOUT, 30 s by default) while another holds it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from moviecdc.emulator.scheduler import run_pending
from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import INSERT_COLUMNS
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS
from tests.test_crash import batch_applied_to
from tests.test_simulate_oracle import check_consistency

SECONDS = float(os.environ.get("MOVIECDC_SOAK_SECONDS", "60"))
RATE = 40

READER = """
import sys, time
from moviecdc.config import load
from moviecdc.warehouse import connect
import os
settings = load({}, os.environ)
end = time.monotonic() + float(sys.argv[1])
reads = 0
while time.monotonic() < end:
    wh = connect(settings, command="dashboard", read_only=True)
    try:
        wh.execute("SELECT COUNT(*), SUM(active_revenue) FROM MOVIECDC.CDC.movie_booking_insights")
        wh.execute("SELECT status, COUNT(*) FROM MOVIECDC.CDC.movie_bookings_filtered GROUP BY status")
    finally:
        wh.close()
    reads += 1
    time.sleep(0.2)
print(reads)
"""

STATUS_LOOP = """
import subprocess, sys, time
end = time.monotonic() + float(sys.argv[1])
runs = 0
while time.monotonic() < end:
    out = subprocess.run([sys.executable, "-m", "moviecdc", "status", "--json"], capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr, file=sys.stderr)
        sys.exit(1)
    runs += 1
print(runs)
"""


@pytest.mark.slow
def test_run_simulate_status_and_dashboard_together(tmp_path: Path) -> None:
    env = {**os.environ, "MOVIECDC_DB": str(tmp_path / "soak.duckdb"), "MOVIECDC_TARGET": "local"}
    cli = [sys.executable, "-m", "moviecdc"]
    assert subprocess.run([*cli, "deploy"], env=env, capture_output=True).returncode == 0
    procs = {
        "run": subprocess.Popen([*cli, "run", "--interval", "1"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True),
        "simulate": subprocess.Popen([*cli, "simulate", "--rate", str(RATE), "--duration", str(SECONDS),
                                      "--seed", "99", "--json"], env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True),
        "status": subprocess.Popen([sys.executable, "-c", STATUS_LOOP, str(SECONDS)], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
        "dashboard": subprocess.Popen([sys.executable, "-c", READER, str(SECONDS)], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True),
    }  # fmt: skip
    outputs = {}
    for name in ("simulate", "status", "dashboard"):
        out, err = procs[name].communicate(timeout=SECONDS + 120)
        assert procs[name].returncode == 0, f"{name} failed: {err[-2000:]}"
        assert "lock" not in err.lower() and "busy" not in err.lower(), err[-2000:]
        outputs[name] = out
    time.sleep(2)
    procs["run"].send_signal(2)  # Ctrl-C: the scheduler finishes its pass and stops
    out, err = procs["run"].communicate(timeout=60)
    assert procs["run"].returncode == 0, err[-2000:]
    summary = json.loads(outputs["simulate"])
    assert summary["total_changes"] >= RATE * SECONDS / 3  # it really ran (roughly at rate)
    assert int(outputs["status"].split()[-1]) > 3 and int(outputs["dashboard"].split()[-1]) > 10

    # reconcile: regenerate what the simulator reports as committed and compare by id and count
    gen = ChangeGenerator(99)
    expected: Counter[tuple[object, ...]] = Counter()
    for _ in range(summary["total_changes"] // RATE):
        expected = batch_applied_to(expected, gen.changes(RATE))
    with LocalWarehouse(env["MOVIECDC_DB"]) as wh:
        actual = Counter(wh.execute(f"SELECT {', '.join(INSERT_COLUMNS)} FROM {NS}.raw_movie_bookings").rows)
        assert actual == expected
        run_pending(wh.engine, catch_up=True)
        check_consistency(wh)  # every change in the events exactly once; insights from the source
