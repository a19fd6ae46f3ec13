"""The dashboard: every figure, under every filter, equals SQL recomputed from the raw
table (an oracle that shares no query with the dashboard); the page under Streamlit's
AppTest shows them, and a database held by another process never puts an error on it."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from moviecdc.dashboard.health import duration, money, percent
from moviecdc.dashboard.queries import Filters, Reader, read_overview
from moviecdc.emulator.scheduler import run_pending
from moviecdc.simulate.generator import ChangeGenerator, sample_bookings
from moviecdc.simulate.runner import apply_changes, load_sample
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS, deploy_pipeline

st = pytest.importorskip("streamlit")
AppTest = pytest.importorskip("streamlit.testing.v1").AppTest
APP = Path(__file__).parents[1] / "src" / "moviecdc" / "dashboard" / "app.py"

# The oracle: the raw table with the validity rule written out (sql/060's definition).
VALID = (
    "COALESCE(r.booking_id IS NOT NULL AND r.customer_id IS NOT NULL AND r.movie_id IS NOT NULL"
    " AND LENGTH(r.booking_id) <= 64 AND LENGTH(r.customer_id) <= 64 AND LENGTH(r.movie_id) <= 64"
    " AND r.booking_date >= '2000-01-01' AND r.booking_date < '2100-01-01'"
    " AND r.status IN ('BOOKED', 'CANCELLED') AND r.ticket_count > 0 AND r.ticket_price > 0, FALSE)"
)
RAW = f"{NS}.raw_movie_bookings AS r"


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


def raw_where(f: Filters, *, valid: bool = False) -> str:
    conds = [VALID] if valid else []
    if f.start is not None and f.end is not None:
        conds.append(f"CAST(r.booking_date AS DATE) BETWEEN '{f.start}' AND '{f.end}'")
    if f.status is not None:
        conds.append(f"r.status = '{f.status}'")
    if f.movie_id is not None:
        conds.append(f"r.movie_id = '{f.movie_id}'")
    return " WHERE " + " AND ".join(conds) if conds else ""


def oracle(wh: LocalWarehouse, f: Filters) -> dict[str, object]:
    kpi = wh.execute(
        f"SELECT COUNT(*), COUNT_IF({VALID}), COUNT_IF({VALID} AND r.status = 'BOOKED'),"
        f" COUNT_IF({VALID} AND r.status = 'CANCELLED'), COALESCE(SUM(IFF({VALID}, r.ticket_count, 0)), 0),"
        f" COALESCE(SUM(IFF({VALID} AND r.status = 'BOOKED', r.ticket_count * r.ticket_price, 0)), 0),"
        f" COALESCE(SUM(IFF({VALID} AND r.status = 'CANCELLED', r.ticket_count * r.ticket_price, 0)), 0)"
        f" FROM {RAW}{raw_where(f)}"
    ).rows[0]
    grouped = {
        "by_status": "r.status",
        "by_hour": "HOUR(r.booking_date), r.status",
        "by_weekday": "DAYOFWEEK(r.booking_date), r.status",
        "by_day": "CAST(r.booking_date AS DATE), r.status",
    }
    out: dict[str, object] = {"kpis": tuple(int(v) if isinstance(v, int) else Decimal(v) for v in kpi)}
    for name, by in grouped.items():
        rows = wh.execute(
            f"SELECT {by}, COUNT(*), SUM(r.ticket_count * r.ticket_price) FROM {RAW}{raw_where(f, valid=True)}"
            f" GROUP BY {by}"
        ).rows
        out[name] = sorted((tuple(r[:-2]), r[-2], Decimal(r[-1])) for r in rows)
    out["by_movie"] = wh.execute(
        "SELECT r.movie_id, m.title, COUNT(*),"
        " SUM(IFF(r.status = 'BOOKED', r.ticket_count * r.ticket_price, 0)) AS active,"
        " SUM(IFF(r.status = 'CANCELLED', r.ticket_count * r.ticket_price, 0)),"
        " COUNT_IF(r.ticket_count = 1), COUNT_IF(r.ticket_price > 20)"
        f" FROM {RAW} LEFT JOIN {NS}.movies AS m ON m.movie_id = r.movie_id{raw_where(f, valid=True)}"
        " GROUP BY r.movie_id, m.title ORDER BY active DESC, 5 DESC, r.movie_id"
    ).rows
    return out


def shown(reader: Reader, f: Filters) -> dict[str, object]:
    fig = reader.figures(f)
    k = fig.kpis
    out: dict[str, object] = {
        "kpis": (k.rows, k.valid, k.booked, k.cancelled, k.tickets, k.revenue, k.lost_revenue),
        "by_status": sorted(((s,), n, Decimal(v)) for s, n, _, v in fig.by_status.rows),
        "by_hour": sorted(((h, s), n, None) for h, s, n in fig.by_hour.rows),
        "by_weekday": sorted(((d, s), n, None) for d, s, n in fig.by_weekday.rows),
        "by_day": sorted(
            [((day, "BOOKED"), b, Decimal(rev)) for day, b, _, rev, _ in fig.by_day.rows if b]
            + [((day, "CANCELLED"), c, Decimal(lost)) for day, _, c, _, lost in fig.by_day.rows if c]
        ),
    }
    out["by_movie"] = [
        (r["movie_id"], r["title"], r["bookings"], r["revenue"], r["lost_revenue"], r["single"], r["premium"])
        for r in fig.by_movie.dicts()
    ]
    return out


def comparable(expected: dict[str, object]) -> dict[str, object]:
    """The oracle without the money of the hour and weekday charts (they show counts)."""
    for name in ("by_hour", "by_weekday"):
        expected[name] = [(k, n, None) for k, n, _ in expected[name]]  # type: ignore[attr-defined]
    return expected


def filters_for(wh: LocalWarehouse) -> list[Filters]:
    movie = wh.execute(f"SELECT MIN(movie_id) FROM {NS}.raw_movie_bookings").scalar()
    week = (date(2025, 9, 8), date(2025, 9, 14))
    return [
        Filters(),
        Filters(status="CANCELLED"),
        Filters(status="BOOKED"),
        Filters(movie_id=movie),
        Filters(*week),
        Filters(*week, status="BOOKED", movie_id=movie),
    ]


def test_every_filter_gives_the_figures_of_the_raw_table(seeded: Path) -> None:
    with LocalWarehouse(seeded, read_only=True) as wh:
        reader = Reader(wh, NS)
        for f in filters_for(wh):
            assert shown(reader, f) == comparable(oracle(wh, f)), f
        assert sum(reader.kpis(Filters()).__dict__[k] for k in ("booked", "cancelled")) > 0


def test_the_change_activity_and_feed_come_from_the_events(seeded: Path) -> None:
    with LocalWarehouse(seeded, read_only=True) as wh:
        reader = Reader(wh, NS)
        new = wh.execute(
            f"SELECT COUNT_IF(change_action = 'INSERT' AND NOT is_update) FROM {NS}.movie_booking_cdc_events"
        )
        changes = reader.changes(Filters())
        assert sum(changes.column("new_bookings")) == new.scalar()  # type: ignore[arg-type]
        assert reader.activity().new_bookings == new.scalar()
        feed = reader.feed(Filters())
        newest = wh.execute(f"SELECT MAX(change_timestamp) FROM {NS}.movie_booking_cdc_events").scalar()
        assert len(feed.rows) == 20 and feed.rows[0][0] == newest
        assert all(row[6] == "CANCELLED" for row in reader.feed(Filters(status="CANCELLED")).rows)


def test_rows_are_read_one_page_at_a_time_and_filters_are_escaped(seeded: Path) -> None:
    with LocalWarehouse(seeded, read_only=True) as wh:
        reader = Reader(wh, NS)
        total = reader.kpis(Filters()).rows
        first, second = reader.rows(Filters(), limit=100), reader.rows(Filters(), limit=100, offset=100)
        assert len(first.rows) == min(100, total) and not set(first.column("booking_id")) & set(
            second.column("booking_id")
        )
        hostile = Filters(status="BOOKED' OR '1'='1", movie_id="x\\' OR 1=1 --")
        assert reader.kpis(hostile).rows == 0 and reader.rows(hostile, limit=5).rows == ()
        with pytest.raises(TypeError):
            Filters("2025-09-01' OR 1=1 --", date(2025, 9, 2)).conditions()  # type: ignore[arg-type]


def test_formats_are_for_people() -> None:
    assert money(Decimal("1234.5")) == "$1,234.50" and money(Decimal("-5")) == "-$5.00"
    assert percent(12.345) == "12.3%" and percent(None) == "-"
    assert [duration(s) for s in (45, 120, 389, 3900, 180000)] == [
        "45 s",
        "2 min",
        "6 min 29 s",
        "1 h 5 min",
        "2 d 2 h",
    ]


def test_the_stream_netting_is_explained(seeded: Path) -> None:
    """All changes applied before the first task run: the stream hands over final states,
    so no status change is recorded although bookings are cancelled; the page says why."""
    with LocalWarehouse(seeded, read_only=True) as wh:
        activity = read_overview(Reader(wh, NS), "MOVIECDC", "CDC").activity
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert activity.netted and activity.status_changes == 0 and activity.cancelled > 0
    assert any("net change" in i.value for i in at.info)


def metrics(at: object) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}  # type: ignore[attr-defined]


def formatted(kpi: tuple[object, ...]) -> dict[str, str]:
    rows, valid, _, cancelled, tickets, revenue, lost = kpi
    return {
        "Bookings": f"{valid:,}",
        "Cancellation rate": percent(100 * cancelled / valid if valid else None),  # type: ignore[operator]
        "Data quality": percent(100 * valid / rows if rows else None),  # type: ignore[operator]
        "Total revenue": money(revenue),  # type: ignore[arg-type]
        "Lost revenue": money(lost),  # type: ignore[arg-type]
        "Tickets sold": f"{tickets:,}",
    }


def test_the_page_shows_the_figures_of_the_raw_table(seeded: Path) -> None:
    with LocalWarehouse(seeded, read_only=True) as wh:
        movie = filters_for(wh)[3].movie_id
        everything, cancelled = oracle(wh, Filters())["kpis"], oracle(wh, Filters(status="CANCELLED"))["kpis"]
        one_movie = oracle(wh, Filters(movie_id=movie))["kpis"]
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not at.exception and not at.error
    assert metrics(at) == formatted(everything)  # type: ignore[arg-type]
    assert at.success and at.success[0].value.startswith("**OK**")  # caught up: the banner says so
    at.selectbox(key="status").select("CANCELLED").run()
    assert metrics(at) == formatted(cancelled)  # type: ignore[arg-type]
    at.selectbox(key="status").select("All").run()
    at.selectbox(key="movie").select(movie).run()
    assert metrics(at) == formatted(one_movie)  # type: ignore[arg-type]
    assert not at.exception


HOLD = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write: nobody else may open the file now
print("held", flush=True)
sys.stdin.readline()  # until the test lets go
"""


def busy(at: object) -> bool:
    return any("busy" in w.value for w in at.warning)  # type: ignore[attr-defined]


def test_a_busy_database_never_puts_an_error_on_the_page(seeded: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOVIECDC_BUSY_TIMEOUT", "0.5")
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    before = metrics(at)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(seeded)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        at.button(key="refresh").click().run()  # Refresh while another process writes
        assert not at.exception and not at.error
        assert busy(at) and metrics(at) == before  # the last figures, said to be stale
        fresh = AppTest.from_file(str(APP), default_timeout=60).run()  # a new visitor meanwhile
        assert not fresh.exception and not fresh.error  # sees the figures the server read last
        assert busy(fresh) and metrics(fresh) == before
        st.cache_resource.clear()  # a server that never read the database
        first = AppTest.from_file(str(APP), default_timeout=60).run()
        assert not first.exception and not first.error
        assert "busy" in first.info[0].value
    finally:
        holder.communicate("\n", timeout=30)
    at.button(key="refresh").click().run()
    assert not busy(at) and metrics(at) == before


def test_sessions_hold_no_bookings_of_their_own(seeded: Path) -> None:
    """Security (memory): the figures are read once per server, not once per visitor, so
    many open pages cannot exhaust memory; a session keeps only its filters."""
    st.cache_resource.clear()
    pages = [AppTest.from_file(str(APP), default_timeout=60).run() for _ in range(3)]
    for at in pages:
        assert not at.exception and not at.error
        held = [at.session_state[k] for k in at.session_state.keys()]  # noqa: SIM118 (not a dict)
        assert held and all(len(repr(v)) < 200 for v in held), held  # filter values, no frames
    assert metrics(pages[0]) == metrics(pages[1]) == metrics(pages[2])
