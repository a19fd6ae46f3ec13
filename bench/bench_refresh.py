"""Benchmark: incremental against full refresh, end to end, and peak memory.

Run on demand:
    python bench/bench_refresh.py [--sizes 1000000,10000000] [--batches 1000,10000,100000]
                                  [--workdir DIR]

For each history size N (bookings already through the pipeline) and batch size K:

1. a batch of K mixed changes (moviecdc simulate's default mix, applied by the same
   runner `moviecdc simulate` uses) goes into raw_movie_bookings and the task moves it
   into the events table;
2. both dynamic tables are refreshed from that same state twice, each on its own copy
   of the database file: incrementally (``ALTER DYNAMIC TABLE ... REFRESH``) and in
   full (a forced FULL refresh of both). Their contents are checked to be equal;
3. end to end: the batch from source DML to refreshed insights (DML with capture, task
   run, incremental refresh of both tables) against plain DuckDB applying the same DML
   statements to a plain table holding the same bookings.

Every step runs in a fresh process, so its peak resident memory is its own. The history
is generated in SQL (12 movies over 30 days, like `simulate`) and cached in --workdir.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

NS = "MOVIECDC.CDC"
DTS = ("movie_bookings_filtered", "movie_booking_insights")
CHUNK = 1_000_000


# ------------------------------------------------------------------ steps (child processes)
def history_sql(start: int, n: int) -> str:
    """N bookings spread like simulate's: 12 movies, 30 days, 1 in 10 cancelled."""
    return f"""
        SELECT 'BH' || lpad(i::VARCHAR, 10, '0') AS booking_id,
               'C' || (hash(i) % 50000)::VARCHAR AS customer_id,
               'M' || lpad((1 + hash(i + 1) % 12)::VARCHAR, 3, '0') AS movie_id,
               TIMESTAMP '2025-09-01' + to_seconds((hash(i + 2) % (30 * 86400))::BIGINT) AS booking_date,
               CASE WHEN hash(i + 3) % 10 = 0 THEN 'CANCELLED' ELSE 'BOOKED' END AS status,
               (1 + hash(i + 4) % 6)::INT AS ticket_count,
               (5 + (hash(i + 5) % 2700) / 100)::DECIMAL(10, 2) AS ticket_price
        FROM range({start}, {start + n}) AS r(i)"""


def step_build(db: Path, n: int) -> dict[str, Any]:
    """Deploy the pipeline, load N bookings, move them through the task and both tables."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import deploy_pipeline  # the shipped templates, as `moviecdc deploy` applies them

    from moviecdc.warehouse.local import LocalWarehouse

    gen = duckdb.connect()
    with LocalWarehouse(db) as wh:
        deploy_pipeline(wh)
        eng = wh.engine
        for start in range(0, n, CHUNK):
            data = gen.sql(history_sql(start, min(CHUNK, n - start))).to_arrow_table()
            eng.con.register("__mcdc_src_hist", data)
            eng.execute(
                f"INSERT INTO {NS}.raw_movie_bookings (booking_id, customer_id, movie_id, booking_date, status,"
                " ticket_count, ticket_price) SELECT * FROM __mcdc_src_hist"
            )
            eng.con.unregister("__mcdc_src_hist")
        eng.execute(f"EXECUTE TASK {NS}.consume_stream_task")
        eng.execute(f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights REFRESH")
        eng.con.execute("CHECKPOINT")
        rows = eng.execute(f"SELECT count(*) FROM {NS}.movie_booking_cdc_events").scalar()
    return {"events": rows}


def _changes(db: Path | None, k: int, seed: int, con: Any = None) -> list[Any]:
    """K changes in simulate's default mix, over a sample of the bookings in the table."""
    from moviecdc.simulate.generator import Booking, ChangeGenerator

    sample = (
        "SELECT booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price"
        " FROM CDC.raw_movie_bookings USING SAMPLE 50000 ROWS (reservoir, 7) ORDER BY booking_id"
    )
    if con is None:
        with duckdb.connect(str(db), read_only=True) as own:
            known = own.execute(sample).fetchall()
    else:
        known = con.execute(sample).fetchall()
    gen = ChangeGenerator(seed)
    gen.known([Booking(*r) for r in known])
    return gen.changes(k)


WARM_UP = 200  # changes applied and refreshed first, untimed: a running scheduler has compiled its plans


def _warm_up(wh: Any) -> None:
    from moviecdc.simulate.runner import apply_changes

    apply_changes(wh, NS, _changes(None, WARM_UP, 5, wh.engine.con))
    wh.execute(f"EXECUTE TASK {NS}.consume_stream_task")
    wh.execute(f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights REFRESH")


def step_refresh(db: Path, k: int, mode: str) -> dict[str, Any]:
    """Warm up, apply K changes and run the task, then refresh both tables, timed:
    incrementally or (forced) in full. Returns the times and the tables' checksums."""
    from moviecdc.clock import ManualClock
    from moviecdc.emulator import plans, refresh
    from moviecdc.simulate.runner import apply_changes
    from moviecdc.warehouse.local import LocalWarehouse

    # both runs see the same statement times, so their tables can be compared bit for bit
    clock = ManualClock()
    with LocalWarehouse(db, clock=clock) as wh:
        eng = wh.engine
        clock.set(datetime.fromisoformat(eng.catalog.meta["last_ts"]) + timedelta(hours=1))
        _warm_up(wh)
        clock.advance(seconds=60)
        changes = _changes(None, k, 11, eng.con)
        t0 = time.perf_counter()
        apply_changes(wh, NS, changes)
        t1 = time.perf_counter()
        clock.advance(seconds=60)
        wh.execute(f"EXECUTE TASK {NS}.consume_stream_task")
        t2 = time.perf_counter()
        keys = [("CDC", name.upper()) for name in DTS]
        forced = None if mode == "incremental" else "FULL"
        results = refresh.refresh_group(eng, keys, "MANUAL", initial_action=forced)
        seconds = time.perf_counter() - t2
        actions = [results[key][1] for key in keys]
        if mode == "incremental":  # what was stored equals the query run in full, now
            for key in keys:
                dt = eng.catalog.dynamic_tables[key]
                stored, query = _checksum(eng, f"CDC.{key[1]}"), _checksum(eng, plans.translated(eng, dt)[0])
                if stored != query:
                    raise SystemExit(f"{key[1]}: the incremental result differs from the full one")
    return {"seconds": seconds, "dml": t1 - t0, "task": t2 - t1, "actions": actions}


def _checksum(eng: Any, relation: str) -> list[Any]:
    """Row count and an order-independent hash of a table or a query's rows."""
    rel = relation if relation.startswith("CDC.") else f"({relation})"
    cols = [d[0] for d in eng.con.execute(f"SELECT * FROM {rel} LIMIT 0").description]
    names = ", ".join(f"c{i}" for i in range(len(cols)))
    row = eng.con.execute(f"SELECT count(*), sum(hash({names})::HUGEINT) FROM {rel} AS _r({names})").fetchone()
    return [int(row[0]), str(row[1])]


def step_end_to_end(db: Path, k: int) -> dict[str, Any]:
    """Warm up, then source DML to refreshed insights: DML with capture, task, incremental refresh."""
    from moviecdc.simulate.runner import apply_changes
    from moviecdc.warehouse.local import LocalWarehouse

    with LocalWarehouse(db) as wh:
        _warm_up(wh)
        changes = _changes(None, k, 11, wh.engine.con)
        t0 = time.perf_counter()
        apply_changes(wh, NS, changes)
        wh.execute(f"EXECUTE TASK {NS}.consume_stream_task")
        wh.execute(f"ALTER DYNAMIC TABLE {NS}.movie_booking_insights REFRESH")
        seconds = time.perf_counter() - t0
    return {"seconds": seconds}


class PlainDuckDB:
    """The runner's statements, transpiled by sqlglot and run on plain DuckDB: no capture."""

    def __init__(self, path: Path) -> None:
        self.con = duckdb.connect(str(path))

    def execute(self, sql: str, params: list[object] | None = None) -> None:
        duck = sqlglot.transpile(sql, read="snowflake", write="duckdb")[0]
        self.con.execute(duck, params or None)

    def insert_rows(self, table: str, columns: list[str], rows: list[tuple[object, ...]]) -> int:
        import pyarrow as pa

        data = pa.table({c: pa.array([r[i] for r in rows]) for i, c in enumerate(columns)})
        self.con.register("_rows", data)
        cols = ", ".join(columns)
        self.con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _rows")
        self.con.unregister("_rows")
        return len(rows)


def step_plain(db: Path, k: int) -> dict[str, Any]:
    """The same DML on plain DuckDB, against a plain copy of the bookings (after the same warm-up DML)."""
    from moviecdc.simulate.runner import apply_changes

    plain = PlainDuckDB(db)
    apply_changes(plain, NS, _changes(None, WARM_UP, 5, plain.con))  # type: ignore[arg-type]
    changes = _changes(None, k, 11, plain.con)
    t0 = time.perf_counter()
    apply_changes(plain, NS, changes)  # type: ignore[arg-type]
    seconds = time.perf_counter() - t0
    plain.con.close()
    return {"seconds": seconds}


def step_plain_build(db: Path, src: Path) -> dict[str, Any]:
    con = duckdb.connect(str(db))
    con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
    con.execute("CREATE SCHEMA IF NOT EXISTS CDC")
    con.execute(
        "CREATE TABLE CDC.raw_movie_bookings (booking_id VARCHAR, customer_id VARCHAR, movie_id VARCHAR,"
        " booking_date TIMESTAMP, status VARCHAR, ticket_count INT, ticket_price DECIMAL(10, 2),"
        " total_amount DECIMAL(18, 2) AS (ticket_count * ticket_price),"
        " created_at TIMESTAMP DEFAULT current_timestamp, updated_at TIMESTAMP DEFAULT current_timestamp)"
    )
    con.execute(
        "INSERT INTO CDC.raw_movie_bookings SELECT booking_id, customer_id, movie_id, booking_date, status,"
        " ticket_count, ticket_price, created_at, updated_at FROM src.CDC.raw_movie_bookings"
    )
    con.execute("CHECKPOINT")
    con.close()
    return {}


STEPS = {
    "build": lambda a: step_build(Path(a.db), a.n),
    "refresh": lambda a: step_refresh(Path(a.db), a.k, a.mode),
    "end_to_end": lambda a: step_end_to_end(Path(a.db), a.k),
    "plain_build": lambda a: step_plain_build(Path(a.db), Path(a.src)),
    "plain": lambda a: step_plain(Path(a.db), a.k),
}


# ---------------------------------------------------------------------------- driver
def run_step(*args: str) -> dict[str, Any]:
    """Run one step in a fresh process; adds its peak resident memory (MiB)."""
    proc = subprocess.Popen([sys.executable, __file__, "--step", *args], stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read() if proc.stdout else ""
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"step {args} failed")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["peak_mib"] = usage.ru_maxrss / 1024
    return result


def copy(src: Path, dst: Path) -> Path:
    shutil.copyfile(src, dst)
    wal = src.with_name(src.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, dst.with_name(dst.name + ".wal"))
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000000,10000000")
    parser.add_argument("--batches", default="1000,10000,100000")
    parser.add_argument("--workdir", default=None, help="keeps the generated histories between runs")
    parser.add_argument("--step")
    parser.add_argument("--db")
    parser.add_argument("--src")
    parser.add_argument("--n", type=int)
    parser.add_argument("--k", type=int)
    parser.add_argument("--mode")
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args)))
        return
    work = Path(args.workdir or tempfile.mkdtemp(prefix="moviecdc-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()},"
        f" duckdb {duckdb.__version__}, {date.today()}"
    )
    for n in (int(x) for x in args.sizes.split(",")):
        base = work / f"history_{n}.duckdb"
        if not base.exists():
            t0 = time.perf_counter()
            built = run_step("build", "--db", str(base), "--n", str(n))
            print(f"\nhistory of {n:,} bookings built in {time.perf_counter() - t0:.0f} s ({built['events']:,} events,"
                  f" peak {built['peak_mib']:.0f} MiB)")  # fmt: skip
        plain_base = work / f"plain_{n}" / "MOVIECDC.duckdb"  # the runner names MOVIECDC.CDC.<table>
        plain_base.parent.mkdir(exist_ok=True)
        if not plain_base.exists():
            run_step("plain_build", "--db", str(plain_base), "--src", str(base))
        print(f"\n## {n:,} bookings of history")
        print("| batch | incremental | full | incr / full | actions | peak MiB incr / full |"
              " DML with capture | plain DuckDB DML | capture / plain | task run |"
              " end to end | e2e / plain | peak MiB e2e / plain |")  # fmt: skip
        print("|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for k in (int(x) for x in args.batches.split(",")):
            a = run_step("refresh", "--db", str(copy(base, work / "a.duckdb")), "--k", str(k), "--mode", "incremental")
            b = run_step("refresh", "--db", str(copy(base, work / "b.duckdb")), "--k", str(k), "--mode", "full")
            e2e = run_step("end_to_end", "--db", str(copy(base, work / "e.duckdb")), "--k", str(k))
            (work / "p").mkdir(exist_ok=True)
            plain = run_step("plain", "--db", str(copy(plain_base, work / "p" / "MOVIECDC.duckdb")), "--k", str(k))
            print(
                f"| {k:,} | {a['seconds']:.3f} s | {b['seconds']:.3f} s | {a['seconds'] / b['seconds']:.3f}"
                f" (1/{b['seconds'] / a['seconds']:.0f}) | {', '.join(a['actions'])} |"
                f" {a['peak_mib']:.0f} / {b['peak_mib']:.0f} | {a['dml']:.3f} s | {plain['seconds']:.3f} s |"
                f" {a['dml'] / plain['seconds']:.2f}x | {a['task']:.3f} s | {e2e['seconds']:.3f} s |"
                f" {e2e['seconds'] / plain['seconds']:.1f}x | {e2e['peak_mib']:.0f} / {plain['peak_mib']:.0f} |",
                flush=True,
            )
        for f in ("a", "b", "e", "p/MOVIECDC"):
            for suffix in ("duckdb", "duckdb.wal"):
                (work / f"{f}.{suffix}").unlink(missing_ok=True)


if __name__ == "__main__":
    main()
