"""Benchmark: the cost of change capture on the local engine.

Run on demand:  python bench/bench_capture.py [--rows 1000000] [--batches 1000,10000]

The same batches of mixed changes (moviecdc simulate's default mix: inserts,
ticket-count updates, cancellations, deletes, re-inserts, invalid rows) applied by the
same runner, side by side in one run, to
  1. raw_movie_bookings with a stream on it (change capture on), and
  2. the same table without a stream (the engine's SQL path, no capture),
each holding the same --rows bookings first, and
  3. plain DuckDB: the same statements, transpiled by sqlglot, on a plain table (no
     engine at all). Times are medians of 3 runs per batch size.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from bench_refresh import PlainDuckDB

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


def prepare_plain(path: Path, rows: list[tuple[object, ...]]) -> PlainDuckDB:
    path.mkdir()
    plain = PlainDuckDB(path / "MOVIECDC.duckdb")  # the runner names MOVIECDC.CDC.<table>
    plain.con.execute("CREATE SCHEMA CDC")
    plain.con.execute(
        "CREATE TABLE CDC.raw_movie_bookings (booking_id VARCHAR, customer_id VARCHAR, movie_id VARCHAR,"
        " booking_date TIMESTAMP, status VARCHAR, ticket_count INT, ticket_price DECIMAL(10, 2),"
        " total_amount DECIMAL(18, 2) AS (ticket_count * ticket_price),"
        " created_at TIMESTAMP DEFAULT current_timestamp, updated_at TIMESTAMP DEFAULT current_timestamp)"
    )
    for i in range(0, len(rows), 100_000):
        plain.insert_rows(f"{NS}.raw_movie_bookings", list(INSERT_COLUMNS), rows[i : i + 100_000])
    plain.con.execute("CHECKPOINT")
    return plain


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
        whs: dict[str, Any] = {
            name: prepare(Path(tmp) / f"{name}.duckdb", rows, name == "captured") for name in ("captured", "engine")
        }
        whs["duckdb"] = prepare_plain(Path(tmp) / "plain", rows)
        for size in sizes:
            times: dict[str, list[float]] = {name: [] for name in whs}
            for rep in range(3):
                batch = ChangeGenerator(100 + rep)
                batch.known([b for b in gen_known(rows)])
                changes = batch.changes(size)
                for name, wh in whs.items():  # the same changes to each, in turn
                    t0 = time.perf_counter()
                    apply_changes(wh, NS, changes)
                    times[name].append(time.perf_counter() - t0)
            cap, eng, duck = (statistics.median(times[n]) for n in ("captured", "engine", "duckdb"))
            print(f"batch of {size:>6,} changes: with capture {cap:6.3f} s, engine without capture {eng:6.3f} s,"
                  f" plain DuckDB {duck:6.3f} s; capture / no capture {cap / eng:.2f}x,"
                  f" capture / plain DuckDB {cap / duck:.2f}x")  # fmt: skip
        whs["captured"].close()
        whs["engine"].close()
        whs["duckdb"].con.close()


def gen_known(rows: list[tuple[object, ...]]) -> list[object]:
    from moviecdc.simulate.generator import Booking

    return [Booking(*r) for r in rows[:20_000]]  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
