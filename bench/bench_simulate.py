"""Benchmark: loading bookings with `simulate` on the local engine, side by side with
DuckDB's bare bulk insert of the same rows and with one INSERT per row (executemany).

Run on demand:  python bench/bench_simulate.py [--rows 1000000] [--per-row-sample 20000]

All three load the same pre-generated rows (the first two --repeats times, interleaved;
medians reported) into an equivalent raw_movie_bookings
table; `simulate` goes through the local engine (change capture for the stream
included), the others straight into DuckDB. The per-row path is measured on a
sample and reported as rows per second, since a million single-row INSERTs take
minutes. Generation time is reported separately.
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
import pyarrow as pa

from moviecdc.config import Settings
from moviecdc.render import render_all, template_variables
from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import INSERT_COLUMNS, booking_row
from moviecdc.warehouse.local import LocalWarehouse

DDL = """CREATE TABLE raw_movie_bookings (booking_id VARCHAR, customer_id VARCHAR, movie_id VARCHAR,
    booking_date TIMESTAMP, status VARCHAR, ticket_count INTEGER, ticket_price DECIMAL(10, 2),
    total_amount DECIMAL(18, 2) GENERATED ALWAYS AS (ticket_count * ticket_price),
    created_at TIMESTAMP DEFAULT current_timestamp, updated_at TIMESTAMP DEFAULT current_timestamp)"""
BATCH = 10_000


def load_with_engine(path: Path, batches: list[list[tuple[object, ...]]], n: int) -> float:
    """moviecdc simulate's load path: the local engine, pipeline deployed, capture on."""
    wh = LocalWarehouse(path)
    for script in render_all(None, template_variables(Settings())):
        for stmt in script.statements:
            wh.execute(stmt.sql)
    t0 = time.perf_counter()
    for batch in batches:
        wh.insert_rows("MOVIECDC.CDC.raw_movie_bookings", INSERT_COLUMNS, batch)
    wh.engine.con.execute("CHECKPOINT")
    took = time.perf_counter() - t0
    assert wh.execute("SELECT COUNT(*) FROM MOVIECDC.CDC.movie_bookings_stream").scalar() == n
    wh.close()
    return took


def load_bare(path: Path, batches: list[list[tuple[object, ...]]]) -> float:
    """Bare DuckDB: the same rows, the same batches, Arrow bulk insert, no capture."""
    con = duckdb.connect(str(path))
    con.execute(DDL)
    t0 = time.perf_counter()
    for batch in batches:
        table = pa.table({c: pa.array([r[i] for r in batch]) for i, c in enumerate(INSERT_COLUMNS)})
        con.register("batch", table)
        con.execute(f"INSERT INTO raw_movie_bookings ({', '.join(INSERT_COLUMNS)}) SELECT * FROM batch")
        con.unregister("batch")
    con.execute("CHECKPOINT")
    took = time.perf_counter() - t0
    con.close()
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--per-row-sample", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each load; medians reported")
    args = parser.parse_args()

    t0 = time.perf_counter()
    rows = [booking_row(b) for b in ChangeGenerator(1).bookings(args.rows)]
    gen_s = time.perf_counter() - t0
    batches = [rows[i : i + BATCH] for i in range(0, len(rows), BATCH)]

    engine_times, bare_times = [], []
    for rep in range(args.repeats):  # interleaved, so drift in the machine hits both alike
        with tempfile.TemporaryDirectory() as tmp:
            engine_times.append(load_with_engine(Path(tmp) / f"engine{rep}.duckdb", batches, args.rows))
            bare_times.append(load_bare(Path(tmp) / f"bare{rep}.duckdb", batches))
    engine_s, bare_s = statistics.median(engine_times), statistics.median(bare_times)
    with tempfile.TemporaryDirectory() as tmp:
        # one INSERT statement per row (executemany), on a sample
        con = duckdb.connect(str(Path(tmp) / "perrow.duckdb"))
        con.execute(DDL)
        sample = rows[: args.per_row_sample]
        t0 = time.perf_counter()
        con.executemany(
            f"INSERT INTO raw_movie_bookings ({', '.join(INSERT_COLUMNS)}) VALUES (?, ?, ?, ?, ?, ?, ?)", sample
        )
        con.execute("CHECKPOINT")
        per_row_s = time.perf_counter() - t0
        con.close()

    n = args.rows
    engine_rate, bare_rate, per_row_rate = n / engine_s, n / bare_s, len(sample) / per_row_s
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()},"
          f" duckdb {duckdb.__version__}, {date.today()}")  # fmt: skip
    print(f"rows: {n:,} (generated in {gen_s:.2f} s, {n / gen_s:,.0f} rows/s)")
    runs = lambda xs: ", ".join(f"{x:.2f}" for x in xs)  # noqa: E731
    engine_runs, bare_runs = runs(engine_times), runs(bare_times)
    label = "moviecdc simulate load (local engine):"
    print(f"{label} {engine_s:7.2f} s  {engine_rate:12,.0f} rows/s  (runs: {engine_runs})")
    print(f"bare DuckDB bulk insert (Arrow):       {bare_s:7.2f} s  {bare_rate:12,.0f} rows/s  (runs: {bare_runs})")
    print(f"one INSERT per row (sample {len(sample):,}):  {per_row_s:7.2f} s  {per_row_rate:12,.0f} rows/s")
    print(f"ratio simulate / bare insert: {engine_s / bare_s:.2f}x  (goal <= 2x)")
    print(f"speed-up over one INSERT per row: {engine_rate / per_row_rate:,.0f}x  (goal >= 100x)")


if __name__ == "__main__":
    main()
