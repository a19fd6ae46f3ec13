"""Benchmark: the user's commands, timed as whole processes, against their floors.

Run on demand (not part of the tests):

    .venv/bin/python bench/bench_commands.py                    # 10k, 100k, 1M bookings, 3 runs each
    .venv/bin/python bench/bench_commands.py --sizes 10k,100k,1m,10m
    .venv/bin/python bench/bench_commands.py --quick            # smoke run: 10k, one run, no RESULTS.md

Every figure is one `moviecdc ...` process (started with `subprocess`, in a scratch
directory that holds the local database, `MOVIECDC_DB` pointing at it), from exec to exit:
interpreter start, imports, opening the database, the work, the commit and the close. Its
peak memory is the command's own ``ru_maxrss``, read by ``/usr/bin/time``. Each command runs side by
side with its floor, in the same run, interleaved (command, floor, command, floor, ...);
the tables show medians of ``--repeat`` runs. Every run starts from a copy of a prepared
database file (the copy is not timed).

The floor is the same work done by a bare ``python`` process that imports only ``duckdb``
and works on a plain DuckDB file with the same table schema (no streams, no change
capture, no history, no engine):

1. ``simulate --changes 1000 --seed S`` on a caught-up pipeline of N bookings. Floor: the
   same mix of 1,000 changes as plain DML on a plain copy of ``raw_movie_bookings``, in one
   transaction: 450 new bookings as one multi-row INSERT, 150 ticket-count changes as one
   ``UPDATE ... FROM (VALUES ...)``, 150 cancellations as ``UPDATE ... WHERE booking_id IN
   (...)``, 100 deletes as ``DELETE ... WHERE booking_id IN (...)``, 50 re-inserts of
   deleted ids and 100 invalid rows as multi-row INSERTs. The existing ids are picked by the
   harness beforehand (a seeded sample of row positions), so the floor does no searching.
2. ``simulate --bookings N --seed 1`` into a freshly deployed pipeline (the first run is
   the build of the history used by every other row). Floor: one ``INSERT INTO t SELECT ...
   FROM range(N)`` producing rows of the same columns into the same (empty) table.
3. The first ``run --once`` after N bookings (deployed, loaded, nothing consumed). Floor:
   the task's insert of all N rows as INSERT events (``INSERT INTO events SELECT ... FROM
   raw``), then ``CREATE TABLE ... AS`` each dynamic table's query, taken from
   sql/060_movie_bookings_filtered.sql and sql/070_movie_booking_insights.sql and
   translated to DuckDB by sqlglot. Both tables' row counts are checked against the
   engine's.
4. ``run --once`` after ``simulate --changes 1000`` on a caught-up pipeline, against the
   same command on a copy whose dynamic tables were redeployed with ``REFRESH_MODE = FULL``
   (the engine has no switch to force FULL refreshes from the CLI; see the report in
   bench/RESULTS.md). Also, as an internal figure, each dynamic table's own refresh time
   (``executionTimeMs`` in ``INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY()``),
   incremental against full.
5. ``sql -q "select 1"`` and ``status`` on a caught-up pipeline of N bookings, against
   ``moviecdc --help`` (which imports no engine): the fixed cost of a command, which should
   not grow with the history.

The result is printed as a markdown table and appended to bench/RESULTS.md (not with
``--quick``, unless ``--write``). 10M bookings need about 16 GiB of free memory (a full
refresh of 10M peaks near 11 GB) and some 25 GB of free disk; they are skipped when the
machine has less.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import sqlglot

ROOT = Path(__file__).resolve().parents[1]
SQL_DIR = ROOT / "sql"
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
DTS = ("MOVIE_BOOKINGS_FILTERED", "MOVIE_BOOKING_INSIGHTS")
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000, "10m": 10_000_000}
CHANGES = 1000
GIB = 1024**3


class BenchError(Exception):
    """A command or a floor failed, or a check did not hold: the bench stops, exit 1."""


# ---------------------------------------------------------------------------- processes
@dataclass
class Run:
    """One finished process: wall time from start to exit, and its peak resident memory."""

    seconds: float
    peak_mib: float
    stdout: str


def run_process(argv: Sequence[str], cwd: Path, env: dict[str, str], label: str) -> Run:
    """Run ``argv`` to completion; its time and peak memory.

    The peak is ``ru_maxrss`` of the command, read by ``/usr/bin/time`` (a small process
    that starts it) where there is one: a high-water mark survives ``exec``, so a child
    forked by this (much larger) process would report this process's size as its own.
    Without it, ``os.wait4``'s figure is used, which has that fault. stdout and stderr go
    to files, not pipes. A non-zero exit raises BenchError with the command's stderr.
    """
    out_path, err_path, rss_path = cwd / "_stdout.txt", cwd / "_stderr.txt", cwd / "_maxrss.txt"
    timer = shutil.which("time", path="/usr/bin")
    wrapped = [timer, "-q", "-f", "%M", "-o", str(rss_path), *argv] if timer else list(argv)
    with out_path.open("wb") as out, err_path.open("wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(wrapped, cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped by wait4, not by Popen
    stdout = out_path.read_text(errors="replace")
    if proc.returncode != 0:
        stderr = err_path.read_text(errors="replace").strip()
        raise BenchError(f"{label} failed (exit {proc.returncode}): {' '.join(argv)}\n{stderr or stdout}")
    kib = usage.ru_maxrss  # KiB on Linux
    if timer:
        kib = int(rss_path.read_text().split()[-1])
    return Run(seconds, kib / 1024, stdout)


def copy_db(src: Path, dst: Path) -> Path:
    """Copy a DuckDB file (and its WAL, if one was left) over ``dst``."""
    for suffix in ("", ".wal"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    shutil.copyfile(src, dst)
    wal = Path(f"{src}.wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{dst}.wal"))
    return dst


def remove_db(path: Path) -> None:
    for suffix in ("", ".wal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


class Moviecdc:
    """Runs ``moviecdc`` commands on one local database file, from the scratch directory."""

    def __init__(self, exe: Path, cwd: Path) -> None:
        self.exe = exe
        self.cwd = cwd

    def env(self, db: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MOVIECDC_", "SNOWFLAKE_"))}
        env.update(MOVIECDC_DB=str(db), MOVIECDC_TARGET="local", NO_COLOR="1")
        return env

    def run(self, db: Path, *args: str) -> Run:
        return run_process([str(self.exe), *args], self.cwd, self.env(db), f"moviecdc {' '.join(args)}")

    def query(self, db: Path, sql: str) -> list[dict[str, Any]]:
        """Rows of a query, through `moviecdc sql --format json` (untimed bookkeeping)."""
        rows: list[dict[str, Any]] = json.loads(self.run(db, "sql", "-q", sql, "--format", "json").stdout)
        return rows


def run_floor(script: Path, *args: str) -> Run:
    """A floor: ``python script args`` with the same interpreter, importing only duckdb."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOVIECDC_")}
    return run_process([sys.executable, str(script), *args], script.parent, env, f"floor {script.name}")


# ---------------------------------------------------------------------------- floors
# The plain tables: the types the local engine stores the pipeline's columns as (Snowflake's
# INT is NUMBER(38, 0), a HUGEINT; TIMESTAMP_LTZ is a TIMESTAMPTZ), with the same virtual
# column and defaults as sql/020_raw_movie_bookings.sql.
PLAIN_SCHEMA = """
CREATE TABLE raw_movie_bookings (
    booking_id VARCHAR, customer_id VARCHAR, movie_id VARCHAR, booking_date TIMESTAMP,
    status VARCHAR, ticket_count HUGEINT, ticket_price DECIMAL(10, 2),
    total_amount DECIMAL(18, 2) AS (ticket_count * ticket_price),
    created_at TIMESTAMP DEFAULT current_localtimestamp(),
    updated_at TIMESTAMP DEFAULT current_localtimestamp());
CREATE TABLE movie_booking_cdc_events (
    booking_id VARCHAR, customer_id VARCHAR, movie_id VARCHAR, booking_date TIMESTAMP,
    status VARCHAR, ticket_count HUGEINT, ticket_price DECIMAL(10, 2), total_amount DECIMAL(18, 2),
    created_at TIMESTAMP, updated_at TIMESTAMP, change_action VARCHAR, is_update BOOLEAN,
    source_row_id VARCHAR, change_timestamp TIMESTAMPTZ);
"""
BOOKING_COLUMNS = "booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price"

# Floor 2: N bookings of the same columns, generated in SQL.
FLOOR_LOAD = '''"""Floor: N bookings into a plain table, one INSERT ... SELECT ... FROM range(N)."""
import sys

import duckdb

db, n = sys.argv[1], int(sys.argv[2])
con = duckdb.connect(db)
con.execute(f"""
    INSERT INTO raw_movie_bookings (booking_id, customer_id, movie_id, booking_date, status,
                                    ticket_count, ticket_price)
    SELECT 'BK' || lpad(i::VARCHAR, 9, '0'),
           'C' || lpad((hash(i) % 500)::VARCHAR, 5, '0'),
           'M' || lpad((1 + hash(i + 1) % 12)::VARCHAR, 3, '0'),
           TIMESTAMP '2025-09-01' + to_seconds((hash(i + 2) % (30 * 86400))::BIGINT),
           CASE WHEN hash(i + 3) % 10 = 0 THEN 'CANCELLED' ELSE 'BOOKED' END,
           (1 + hash(i + 4) % 6)::INT,
           (5 + (hash(i + 5) % 2700) / 100)::DECIMAL(10, 2)
    FROM range(1, {n} + 1) AS r(i)""")
con.close()
'''

# Floor 3: the task's copy of every row as an INSERT event, then both dynamic tables' queries.
FLOOR_FIRST_RUN = '''"""Floor: the task's INSERT of all rows as events, then CTAS of both dynamic tables."""
import sys

import duckdb

FILTERED = {filtered!r}
INSIGHTS = {insights!r}

con = duckdb.connect(sys.argv[1])
con.execute("BEGIN")
con.execute("""
    INSERT INTO movie_booking_cdc_events
    SELECT booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price,
           total_amount, created_at, updated_at, 'INSERT', FALSE, CAST(rowid AS VARCHAR), now()
    FROM raw_movie_bookings""")
con.execute("CREATE TABLE movie_bookings_filtered AS " + FILTERED)
con.execute("CREATE TABLE movie_booking_insights AS " + INSIGHTS)
con.execute("COMMIT")
con.close()
'''

# Floor 1: the statements are generated by the harness (see ChangeSet) and embedded here.
FLOOR_CHANGES = '''"""Floor: {changes} changes as plain DML on a plain table, in one transaction."""
import sys

import duckdb

STATEMENTS = {statements!r}

con = duckdb.connect(sys.argv[1])
con.execute("BEGIN")
for sql in STATEMENTS:
    con.execute(sql)
con.execute("COMMIT")
con.close()
'''


def dynamic_table_query(template: str) -> str:
    """The SELECT of a dynamic table's template, rendered and translated to DuckDB.

    Only ``{{ ns }}`` occurs in the query part; the plain file keeps every table in its
    default schema, so the namespace is dropped.
    """
    text = (SQL_DIR / template).read_text()
    query = text.split("\nAS\n", 1)[1].replace("{{ ns }}.", "").strip().rstrip(";")
    if "{{" in query or "{%" in query:
        raise BenchError(f"{template}: the query uses template variables the bench does not render")
    return sqlglot.transpile(query, read="snowflake", write="duckdb")[0]


def sql_literal(value: object) -> str:
    """A value as SQL text: NULL, a quoted string, or a number."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def values_list(rows: Sequence[Sequence[object]]) -> str:
    return ", ".join("(" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)


def changes_statements(plain_db: Path, seed: int) -> list[str]:
    """simulate's default mix of 1,000 changes as plain DML, on ids picked from the table.

    Existing rows are picked by position (a seeded sample of row ids 0..n-1 of the plain
    copy, whose rows were inserted in one go), so picking them costs the floor nothing.
    """
    rng = random.Random(seed)
    with duckdb.connect(str(plain_db), read_only=True) as con:
        (n,) = con.execute("SELECT count(*) FROM raw_movie_bookings").fetchone() or (0,)
        positions = rng.sample(range(n), min(n, 1200))
        picked = con.execute(
            "SELECT booking_id, status FROM raw_movie_bookings WHERE rowid IN (SELECT unnest(?)) ORDER BY rowid",
            [positions],
        ).fetchall()
    rng.shuffle(picked)
    booked = [b for b, s in picked if s == "BOOKED"]
    cancels = booked[:150]
    cancelled = set(cancels)
    rest = [b for b, _ in picked if b not in cancelled]
    updates, deletes = rest[:150], rest[150:250]
    if len(cancels) < 150 or len(deletes) < 100:
        raise BenchError("the table is too small to pick 400 distinct bookings for the floor's changes")

    def booking(booking_id: str | None, tickets: int, price: Decimal) -> tuple[object, ...]:
        day, second = rng.randrange(30), rng.randrange(86400)
        when = f"2025-09-{day + 1:02d} {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        return (
            booking_id,
            f"C{rng.randrange(500):05d}",
            f"M{rng.randrange(1, 13):03d}",
            when,
            "BOOKED",
            tickets,
            price,
        )

    def price() -> Decimal:
        return Decimal(rng.randrange(500, 3200)) / 100

    inserts = [booking(f"BN{seed:03d}{i:06d}", rng.randrange(1, 7), price()) for i in range(450)]
    reinserts = [booking(b, rng.randrange(1, 7), price()) for b in deletes[:50]]
    invalid = [
        booking(
            None if i % 3 == 0 else f"BI{seed:03d}{i:06d}", -rng.randrange(0, 3), Decimal("-1.00") if i % 2 else price()
        )
        for i in range(100)
    ]
    insert = f"INSERT INTO raw_movie_bookings ({BOOKING_COLUMNS}) VALUES "
    ids = ", ".join
    return [
        insert + values_list(inserts),
        "UPDATE raw_movie_bookings SET ticket_count = v.n, updated_at = current_localtimestamp()"
        f" FROM (VALUES {values_list([(b, rng.randrange(1, 9)) for b in updates])}) AS v(id, n)"
        " WHERE raw_movie_bookings.booking_id = v.id",
        "UPDATE raw_movie_bookings SET status = 'CANCELLED', updated_at = current_localtimestamp()"
        f" WHERE booking_id IN ({ids(sql_literal(b) for b in cancels)})",
        f"DELETE FROM raw_movie_bookings WHERE booking_id IN ({ids(sql_literal(b) for b in deletes)})",
        insert + values_list(reinserts),
        insert + values_list(invalid),
    ]


def build_plain_empty(path: Path) -> None:
    remove_db(path)
    with duckdb.connect(str(path)) as con:
        con.execute(PLAIN_SCHEMA)


def build_plain_base(path: Path, src: Path) -> None:
    """A plain file holding a copy of the engine's bookings and movies, and no events."""
    build_plain_empty(path)
    with duckdb.connect(str(path)) as con:
        con.execute(f"ATTACH '{src}' AS src (READ_ONLY)")
        con.execute(
            f"INSERT INTO raw_movie_bookings ({BOOKING_COLUMNS}, created_at, updated_at)"
            f" SELECT {BOOKING_COLUMNS}, created_at, updated_at FROM src.CDC.raw_movie_bookings"
        )
        con.execute("CREATE TABLE movies AS SELECT * FROM src.CDC.movies")
        con.execute("DETACH src")
        con.execute("CHECKPOINT")


def plain_counts(path: Path) -> dict[str, int]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {
            name: int((con.execute(f"SELECT count(*) FROM {name}").fetchone() or (0,))[0])
            for name in ("movie_booking_cdc_events", *DTS)
        }


# ---------------------------------------------------------------------------- measurements
@dataclass
class Series:
    """The runs of one process kind at one size."""

    runs: list[Run] = field(default_factory=list)

    def add(self, run: Run) -> Run:
        self.runs.append(run)
        return run

    @property
    def seconds(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_mib(self) -> float:
        return statistics.median(r.peak_mib for r in self.runs)

    def text(self) -> str:
        if len(self.runs) == 1:
            return f"{self.seconds:.3f} s"
        each = ", ".join(f"{r.seconds:.2f}" for r in self.runs)
        return f"{self.seconds:.3f} s ({each})"


@dataclass
class SizeResult:
    """Everything measured at one history size."""

    n: int
    label: str
    series: dict[str, Series] = field(default_factory=dict)
    refresh_ms: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # mode -> table -> ms
    counts: dict[str, int] = field(default_factory=dict)
    base_bytes: int = 0  # the database file after simulate --bookings N (no events yet)
    caught_bytes: int = 0  # ... and after the first run --once (events and both tables filled)

    def s(self, name: str) -> Series:
        return self.series.setdefault(name, Series())


def refresh_history(mc: Moviecdc, db: Path) -> dict[str, tuple[str, float]]:
    """The newest refresh of each dynamic table: its action and its own time (ms)."""
    rows = mc.query(
        db,
        "SELECT name, refresh_action, statistics, refresh_start_time, refresh_end_time"
        " FROM TABLE(INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY()) ORDER BY refresh_start_time DESC",
    )
    newest: dict[str, tuple[str, float]] = {}
    for row in rows:
        name = row["NAME"]
        if name in newest:
            continue
        stats = json.loads(row["STATISTICS"] or "{}")
        ms = stats.get("executionTimeMs")
        if ms is None:
            start, end = (datetime.fromisoformat(row[k]) for k in ("REFRESH_START_TIME", "REFRESH_END_TIME"))
            ms = (end - start).total_seconds() * 1000
        newest[name] = (row["REFRESH_ACTION"], float(ms))
    return newest


def progress(msg: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def measure_size(n: int, label: str, work: Path, mc: Moviecdc, repeat: int, seed: int) -> SizeResult:
    """All five rows at one history size; the files live in ``work`` and are removed after."""
    res = SizeResult(n, label)
    work.mkdir(parents=True)
    deployed, base, caught, full = (work / f"{x}.duckdb" for x in ("deployed", "base", "caught", "full"))
    db = work / "work.duckdb"
    plain_empty, plain_base, plain = (work / f"{x}.duckdb" for x in ("plain_empty", "plain_base", "plain"))
    floor_load, floor_first, floor_changes = (work / f"floor_{x}.py" for x in ("load", "first_run", "changes"))

    progress(f"{label}: deploying")
    mc.run(deployed, "deploy")
    build_plain_empty(plain_empty)
    floor_load.write_text(FLOOR_LOAD)

    # Row 2: simulate --bookings N into a freshly deployed pipeline; the first run builds `base`.
    for i in range(repeat):
        progress(f"{label}: simulate --bookings, run {i + 1}/{repeat}")
        target = base if i == 0 else db
        copy_db(deployed, target)
        res.s("load").add(mc.run(target, "simulate", "--bookings", str(n), "--seed", "1"))
        res.s("load_floor").add(run_floor(floor_load, str(copy_db(plain_empty, plain)), str(n)))
    res.base_bytes = base.stat().st_size

    # Row 3: the first run --once over N bookings; the first run's result is the caught-up history.
    build_plain_base(plain_base, base)
    floor_first.write_text(
        FLOOR_FIRST_RUN.format(
            filtered=dynamic_table_query("060_movie_bookings_filtered.sql"),
            insights=dynamic_table_query("070_movie_booking_insights.sql"),
        )
    )
    for i in range(repeat):
        progress(f"{label}: first run --once, run {i + 1}/{repeat}")
        res.s("first").add(mc.run(copy_db(base, db), "run", "--once"))
        if i == 0:
            (row,) = mc.query(
                db,
                "SELECT (SELECT count(*) FROM movie_booking_cdc_events) AS e,"
                " (SELECT count(*) FROM movie_bookings_filtered) AS f,"
                " (SELECT count(*) FROM movie_booking_insights) AS i",
            )
            copy_db(db, caught)
            res.caught_bytes = caught.stat().st_size
        res.s("first_floor").add(run_floor(floor_first, str(copy_db(plain_base, plain))))
        if i == 0:
            res.counts = plain_counts(plain)
            engine = {"movie_booking_cdc_events": row["E"], DTS[0]: row["F"], DTS[1]: row["I"]}
            if engine != res.counts:
                raise BenchError(f"{label}: the floor's row counts {res.counts} differ from the engine's {engine}")

    # The caught-up history with both dynamic tables in REFRESH_MODE = FULL (reinitialised by the deploy).
    full_sql = work / "sql_full"
    shutil.copytree(SQL_DIR, full_sql)
    for name in ("060_movie_bookings_filtered.sql", "070_movie_booking_insights.sql"):
        path = full_sql / name
        text = path.read_text()
        if "REFRESH_MODE = INCREMENTAL" not in text:
            raise BenchError(f"{name}: no REFRESH_MODE = INCREMENTAL to switch to FULL")
        path.write_text(text.replace("REFRESH_MODE = INCREMENTAL", "REFRESH_MODE = FULL"))
    copy_db(caught, full)
    mc.run(full, "deploy", "--sql-dir", str(full_sql))
    mc.run(full, "run", "--once")

    statements = changes_statements(plain_base, seed)
    floor_changes.write_text(FLOOR_CHANGES.format(changes=CHANGES, statements=statements))

    # Rows 1, 4 and 5 on the caught-up history, interleaved run by run.
    for i in range(repeat):
        progress(f"{label}: changes, run --once, sql, status; run {i + 1}/{repeat}")
        copy_db(caught, db)
        res.s("help").add(mc.run(db, "--help"))
        res.s("sql").add(mc.run(db, "sql", "-q", "select 1"))
        res.s("status").add(mc.run(db, "status"))
        res.s("changes").add(mc.run(db, "simulate", "--changes", str(CHANGES), "--seed", str(seed)))
        res.s("changes_floor").add(run_floor(floor_changes, str(copy_db(plain_base, plain))))
        res.s("incr").add(mc.run(db, "run", "--once"))
        record_refreshes(res, mc, db, "INCREMENTAL")
        copy_db(full, db)  # the same changes on the FULL twin; only its run --once is timed
        mc.run(db, "simulate", "--changes", str(CHANGES), "--seed", str(seed))
        res.s("full").add(mc.run(db, "run", "--once"))
        record_refreshes(res, mc, db, "FULL")
    return res


def record_refreshes(res: SizeResult, mc: Moviecdc, db: Path, mode: str) -> None:
    """Keep each dynamic table's newest refresh time; it must have been a ``mode`` refresh."""
    for table, (action, ms) in refresh_history(mc, db).items():
        if action != mode:
            raise BenchError(f"{res.label}: {table} refreshed {action}, expected {mode}")
        res.refresh_ms.setdefault(mode, {}).setdefault(table, []).append(ms)


# ---------------------------------------------------------------------------- report
@dataclass
class Row:
    """One line of the table: a command against its floor (or its reference)."""

    n: str
    what: str
    cmd: Series
    floor_what: str
    floor: Series
    goal: str
    check: Callable[[float], bool | None]  # ratio -> pass/fail, None when no goal at this size

    @property
    def ratio(self) -> float:
        return self.cmd.seconds / self.floor.seconds


def verdict(ok: bool | None) -> str:
    return "—" if ok is None else ("**PASS**" if ok else "**FAIL**")


def at_size(n: int, size: int, limit: float) -> Callable[[float], bool | None]:
    """A goal that applies at one size only."""
    return lambda r: r <= limit if n == size else None


def rows_for(res: SizeResult) -> list[Row]:
    n, s = res.n, res.s
    return [
        Row(res.label, f"`simulate --changes {CHANGES}`", s("changes"), "plain DML, one transaction",
            s("changes_floor"), "≤ 3x", lambda r: r <= 3),
        Row(res.label, f"`simulate --bookings {n:,}`", s("load"), "`INSERT ... SELECT FROM range(N)`",
            s("load_floor"), "≤ 2x at 1M", at_size(n, 1_000_000, 2)),
        Row(res.label, "first `run --once`", s("first"), "events INSERT + CTAS of both queries",
            s("first_floor"), "≤ 2x at 1M", at_size(n, 1_000_000, 2)),
        Row(res.label, f"`run --once` after {CHANGES} changes", s("incr"), "the same, REFRESH_MODE = FULL",
            s("full"), "≤ 1/10 at 1M, ≤ 1/3 at 100k",
            lambda r: r <= 0.1 if n == 1_000_000 else (r <= 1 / 3 if n == 100_000 else None)),
        Row(res.label, '`sql -q "select 1"`', s("sql"), "`moviecdc --help`", s("help"), "≤ 2.5x", lambda r: r <= 2.5),
        Row(res.label, "`status`", s("status"), "`moviecdc --help`", s("help"), "≤ 2.5x", lambda r: r <= 2.5),
    ]  # fmt: skip


def ratio_text(r: float) -> str:
    return f"{r:.2f}x (1/{1 / r:.0f})" if r < 0.5 else f"{r:.2f}x"


def report(results: list[SizeResult], skipped: list[str]) -> tuple[str, bool]:
    """The markdown tables and the goals; and whether every goal that applies passed."""
    ok = True
    lines = [
        "| bookings | command | time (runs) | peak MiB | floor | floor time (runs) | floor peak MiB"
        " | ratio | memory ratio | goal | |",
        "|---:|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for res in results:
        for row in rows_for(res):
            passed = row.check(row.ratio)
            ok = ok and passed is not False
            lines.append(
                f"| {row.n} | {row.what} | {row.cmd.text()} | {row.cmd.peak_mib:.0f} | {row.floor_what}"
                f" | {row.floor.text()} | {row.floor.peak_mib:.0f} | {ratio_text(row.ratio)}"
                f" | {row.cmd.peak_mib / row.floor.peak_mib:.2f}x | {row.goal} | {verdict(passed)} |"
            )
    lines += [
        "",
        "Internal figure: each dynamic table's own refresh time (`executionTimeMs` in the refresh history),"
        f" medians, after the same {CHANGES:,} changes:",
        "",
        "| bookings | dynamic table | incremental | full | incr / full | goal | |",
        "|---:|---|---:|---:|---:|---|---|",
    ]
    for res in results:
        for table in DTS:
            incr = statistics.median(res.refresh_ms["INCREMENTAL"][table])
            full = statistics.median(res.refresh_ms["FULL"][table])
            passed = incr / full <= 0.1 if res.n == 1_000_000 else None
            ok = ok and passed is not False
            lines.append(
                f"| {res.label} | {table.lower()} | {incr:.0f} ms | {full:.0f} ms | {ratio_text(incr / full)}"
                f" | ≤ 1/10 at 1M | {verdict(passed)} |"
            )
    lines += ["", "Goals across sizes:", ""]
    by_n = {res.n: res for res in results}
    if 10_000 in by_n and 1_000_000 in by_n:
        small, big = by_n[10_000].s("changes").seconds, by_n[1_000_000].s("changes").seconds
        passed = big <= 1.5 * small
        ok = ok and passed
        lines.append(
            f"- `simulate --changes {CHANGES}` at 1M / at 10k: {big:.3f} s / {small:.3f} s ="
            f" {big / small:.2f}x (goal ≤ 1.5x) {verdict(passed)}"
        )
    else:
        lines.append(f"- `simulate --changes {CHANGES}` at 1M / at 10k: not measured (needs both sizes)")
    if 10_000_000 in by_n:
        first = by_n[10_000_000].s("first")
        floor = by_n[10_000_000].s("first_floor")
        passed = first.peak_mib <= 2 * floor.peak_mib
        ok = ok and passed
        lines.append(
            f"- first `run --once` peak memory at 10M: {first.peak_mib:.0f} MiB against the floor's"
            f" {floor.peak_mib:.0f} MiB = {first.peak_mib / floor.peak_mib:.2f}x (goal ≤ 2x) {verdict(passed)}"
        )
    else:
        lines.append("- first `run --once` peak memory at 10M ≤ 2x the floor's: not measured (10M not run)")
    lines += [f"- {line}" for line in skipped]
    sizes = ", ".join(f"{r.label}: {r.base_bytes / 1e6:,.0f} / {r.caught_bytes / 1e6:,.0f} MB" for r in results)
    lines.append(f"- database file after `simulate --bookings N` / after the first `run --once`: {sizes}")
    return "\n".join(lines), ok


def machine() -> str:
    cpu = "unknown CPU"
    mem = 0
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return (
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC · {cpu} ({platform.machine()}), {os.cpu_count()} cores,"
        f" {mem / GIB:.0f} GiB · Python {platform.python_version()} · DuckDB {duckdb.__version__}"
        f" · commit {commit or 'unknown'}"
    )


def mem_available() -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 0


def fits(n: int, work: Path, measured: list[SizeResult]) -> str | None:
    """Why a size cannot run on this machine now, or None when it fits.

    Memory: a FULL refresh of 10M bookings peaked near 11 GB (bench_refresh.py), so 16 GiB
    must be free. Disk: the loaded history, the caught-up one, its FULL twin and the working
    copy live at once (the plain copies are smaller): four caught-up files of this size,
    scaled from the largest size measured so far (1,000 bytes a booking before any is).
    """
    need_mem = 16 * GIB if n >= 10_000_000 else 0
    largest = max(measured, key=lambda r: r.n, default=None)
    per_booking = largest.caught_bytes / largest.n if largest else 1000.0
    need_disk = int(4 * per_booking * n) + 2 * GIB
    free_mem, free_disk = mem_available(), shutil.disk_usage(work).free
    if free_mem < need_mem:
        return f"{n:,} bookings skipped: {free_mem / GIB:.1f} GiB of memory free, {need_mem / GIB:.0f} needed"
    if free_disk < need_disk:
        return f"{n:,} bookings skipped: {free_disk / GIB:.1f} GiB of disk free in {work}, {need_disk / GIB:.0f} needed"
    return None


def parse_sizes(text: str) -> list[tuple[str, int]]:
    sizes = []
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if part in SIZES:
            sizes.append((part.upper() if part.endswith("m") else part, SIZES[part]))
        elif re.fullmatch(r"\d+", part):
            sizes.append((f"{int(part):,}", int(part)))
        else:
            raise SystemExit(f"--sizes: unknown size {part!r} (use 10k, 100k, 1m, 10m or a number)")
    return sorted(sizes, key=lambda s: s[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10k,100k,1m", help="comma-separated: 10k, 100k, 1m, 10m (or numbers)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command and floor (medians shown)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the 1,000 changes")
    parser.add_argument("--quick", action="store_true", help="smoke run: 10k only, one run, RESULTS.md untouched")
    parser.add_argument("--workdir", type=Path, help="where the scratch directory goes (default: the temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch directory")
    parser.add_argument("--write", action=argparse.BooleanOptionalAction, default=None,
                        help="append the results to bench/RESULTS.md (default: yes, except with --quick)")  # fmt: skip
    parser.add_argument("--moviecdc", type=Path, default=Path(sys.executable).parent / "moviecdc")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat = "10k", 1
    write = (not args.quick) if args.write is None else args.write
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    if not args.moviecdc.exists():
        found = shutil.which("moviecdc")
        if not found:
            raise SystemExit(f"no moviecdc at {args.moviecdc}: pass --moviecdc PATH")
        args.moviecdc = Path(found)
    sizes = parse_sizes(args.sizes)

    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="moviecdc-bench-commands-", dir=args.workdir))
    mc = Moviecdc(args.moviecdc, scratch)
    header = machine()
    print(header, flush=True)
    results: list[SizeResult] = []
    skipped: list[str] = []
    t0 = time.perf_counter()
    try:
        for label, n in sizes:
            reason = fits(n, scratch, results)
            if reason:
                progress(reason)
                skipped.append(reason)
                continue
            results.append(measure_size(n, label, scratch / f"n{n}", mc, args.repeat, args.seed))
            if not args.keep:
                shutil.rmtree(scratch / f"n{n}")
    except BenchError as exc:
        print(f"\nbench_commands: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            progress(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    if not results:
        print("nothing measured", file=sys.stderr)
        return 1
    table, ok = report(results, skipped)
    print()
    print(table)
    progress(f"done in {time.perf_counter() - t0:.0f} s")
    if write:
        sizes_text = ",".join(res.label.lower().replace(",", "") for res in results)
        section = (
            f"\n\n## bench_commands.py — whole commands as processes ({sizes_text})\n\n"
            f"{header} · `python bench/bench_commands.py --sizes {args.sizes} --repeat {args.repeat}`."
            f" Medians of {args.repeat} interleaved runs; every figure is one process, start to exit.\n\n"
            f"{table}\n"
        )
        with RESULTS.open("a") as f:
            f.write(section)
        progress(f"appended to {RESULTS}")
    if not ok:
        progress("some goals FAILED (exit 3)")
    return 0 if ok else 3


if __name__ == "__main__":
    sys.exit(main())
