"""Benchmark: the cost of change capture on the local engine.

Run on demand:  python bench/bench_capture.py [--rows 1000000] [--batches 1000,10000]

The same batches of mixed changes (moviecdc simulate's default mix: inserts,
ticket-count updates, cancellations, deletes, re-inserts, invalid rows) applied by the
same runner, side by side in one run, to
  1. raw_movie_bookings with a stream on it (change capture on), and
  2. the same table without a stream (the engine's SQL path, no capture),
each holding the same --rows bookings first. Times are medians of 3 runs per batch size.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import INSERT_COLUMNS, apply_changes, booking_row
from moviecdc.warehouse.local import LocalWarehouse

NS = "MOVIECDC.CDC"
DDL = f"""CREATE TABLE {NS}.raw_movie_bookings (booking_id STRING, customer_id STRING, movie_id STRING,
    booking_date TIMESTAMP_NTZ, status STRING, ticket_count INT, ticket_price NUMBER(10, 2),
    total_amount NUMBER(18, 2) AS (ticket_count * ticket_price),
    created_at TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(), updated_at TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP())"""


def prepare(path: Path, rows: list[tuple[object, ...]], captured: bool) -> LocalWarehouse:
    wh = LocalWarehouse(path)
    wh.execute(f"CREATE SCHEMA IF NOT EXISTS {NS}")
    wh.execute(DDL)
    if captured:
        wh.execute(f"CREATE STREAM {NS}.s ON TABLE {NS}.raw_movie_bookings")
    for i in range(0, len(rows), 100_000):
        wh.insert_rows(f"{NS}.raw_movie_bookings", INSERT_COLUMNS, rows[i : i + 100_000])
    wh.engine.con.execute("CHECKPOINT")
    return wh


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batches", default="1000,10000")
    args = parser.parse_args()
    gen = ChangeGenerator(3)
    rows = [booking_row(b) for b in gen.bookings(args.rows)]
    sizes = [int(x) for x in args.batches.split(",")]
    print(f"machine: {platform.machine()}, python {platform.python_version()}, duckdb {duckdb.__version__},"
          f" {date.today()}; table of {args.rows:,} bookings")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        whs = {name: prepare(Path(tmp) / f"{name}.duckdb", rows, name == "captured") for name in ("captured", "plain")}
        for size in sizes:
            times: dict[str, list[float]] = {"captured": [], "plain": []}
            for rep in range(3):
                batch = ChangeGenerator(100 + rep)
                batch.known([b for b in gen_known(rows)])
                changes = batch.changes(size)
                for name in ("captured", "plain"):  # the same changes to both, alternating
                    t0 = time.perf_counter()
                    apply_changes(whs[name], NS, changes)
                    times[name].append(time.perf_counter() - t0)
            cap, plain = statistics.median(times["captured"]), statistics.median(times["plain"])
            print(f"batch of {size:>6,} changes: with capture {cap:6.3f} s, without {plain:6.3f} s,"
                  f" ratio {cap / plain:.2f}x")  # fmt: skip
        for wh in whs.values():
            wh.close()


def gen_known(rows: list[tuple[object, ...]]) -> list[object]:
    from moviecdc.simulate.generator import Booking

    return [Booking(*r) for r in rows[:20_000]]  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
