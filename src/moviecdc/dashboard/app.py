"""The Streamlit dashboard: bookings analytics and pipeline health, read-only.

Started by ``moviecdc dashboard``, which passes the target in the environment. Every
figure is computed in SQL on the target (``dashboard/queries.py``), from the pipeline's
dynamic tables (``movie_bookings_filtered`` for the current state of each booking,
``movie_booking_insights`` for the figures per day and the change metrics) through the
same Warehouse interface as the CLI, so the page shows the same numbers on both targets
and only aggregates cross the wire; rows are read only on demand, one page at a time,
and the CSV only when it is downloaded (capped). The server reads the figures at most
every 15 s and keeps one copy for every visitor; a browser session holds only its
filters. Locally the database is opened read-only, once per page run; when another
process holds it for writing longer than the busy timeout, the page keeps showing the
last figures it read, and says so, instead of an error.
"""

from __future__ import annotations

import os
import time
from datetime import date

import streamlit as st

from moviecdc.config import Settings, load
from moviecdc.dashboard import sections
from moviecdc.dashboard.queries import STATUSES, Filters, Options, Overview, read_overview
from moviecdc.dashboard.shared import Connection, Outcome, SharedReads
from moviecdc.errors import MovieCdcError
from moviecdc.names import FILTERED, INSIGHTS
from moviecdc.render import ident, namespace

ALL = "All"
INTERVALS = {"15 s": 15, "30 s": 30, "1 min": 60, "5 min": 300}


@st.cache_resource(max_entries=4)
def _shared_reads(key: tuple[str, str, str]) -> SharedReads:
    """The last reads of one pipeline, shared by every browser session of this server."""
    return SharedReads()


def _reads(settings: Settings) -> SharedReads:
    return _shared_reads((settings.target, str(settings.db_path), namespace(settings)))


def _overview(settings: Settings, conn: Connection) -> Outcome[Overview]:
    since = float(st.session_state.get("refresh_at", 0.0))
    database = ident(settings.database, "database")
    return _reads(settings).get(
        ("overview",), lambda: conn.read(lambda r: read_overview(r, database, settings.schema)), since=since
    )


def _refresh() -> None:
    st.session_state["refresh_at"] = time.time()


def _sidebar(options: Options) -> tuple[Filters, int | None]:
    """The filters (values from the target's own lists) and the auto-refresh interval."""
    movies = {m.movie_id: m.label for m in options.movies}
    if st.session_state.get("movie", ALL) not in (ALL, *movies):
        st.session_state["movie"] = ALL  # the movie is gone since the last read
    with st.sidebar:
        st.header("Filters")
        whole = (options.first_day or date.today(), options.last_day or date.today())
        dates = st.date_input(
            "Booking dates", value=whole, key="dates",
            help="The whole range (the default) also keeps rows without a valid booking date,"
                 " which count in Data quality only.",
        )  # fmt: skip
        status = st.selectbox(
            "Booking status", [ALL, *STATUSES], key="status",
            help="Valid bookings with this status. Change activity ignores it (events are changes, not bookings).",
        )  # fmt: skip
        movie = st.selectbox("Movie", [ALL, *movies], key="movie", format_func=lambda m: movies.get(m, m))
        st.button("Refresh", key="refresh", on_click=_refresh, help="Read the figures now (else every 15 s at most)")
        auto = st.toggle("Auto-refresh", key="auto")
        every = st.selectbox("Every", list(INTERVALS), key="interval", disabled=not auto)
    chosen = tuple(dates) if isinstance(dates, tuple | list) else ()
    start = end = None
    if len(chosen) == 2 and chosen != whole:
        start, end = chosen
    return (
        Filters(start, end, None if status == ALL else status, None if movie == ALL else movie),
        INTERVALS[every] if auto else None,
    )


def _body(settings: Settings, filters: Filters) -> None:
    """Everything below the title; re-run alone by the auto-refresh."""
    since = float(st.session_state.get("refresh_at", 0.0))
    try:
        with Connection(settings) as conn:
            overview = _overview(settings, conn)
            figures = _reads(settings).get(
                ("figures", filters), lambda: conn.read(lambda r: r.figures(filters)), since=since
            )
    except MovieCdcError as exc:  # drawn in the fragment, which may run on its own
        st.info(f"Cannot read the pipeline now: {exc}")
        return
    if overview.value is not None:
        sections.banner(overview.value)
    for outcome in (overview, figures):
        if outcome.busy and outcome.read_at is not None:
            st.warning(f"The database is busy; showing figures read at {outcome.read_at:%H:%M:%S}.")
            break
    if figures.value is None:
        st.info("The local database is busy with another moviecdc command; press Refresh in a moment.")
        return
    sections.kpis(figures.value.kpis)
    if overview.value is not None:
        sections.netting_note(overview.value.activity)
    sections.all_charts(figures.value)
    sections.tables(figures.value)
    if overview.value is not None:
        sections.refresh_history(overview.value)
    sections.downloads(settings, filters, figures.value.kpis.rows)


def main() -> None:
    st.set_page_config(page_title="Movie bookings", layout="wide")
    st.title("Movie bookings")
    try:
        settings = load({}, os.environ)
        st.caption(f"{settings.target} · {namespace(settings)} · figures from {FILTERED} and {INSIGHTS}")
        with Connection(settings) as conn:
            overview = _overview(settings, conn)
        if overview.value is None:
            st.info("The local database is busy with another moviecdc command; press Refresh in a moment.")
            st.button("Refresh", key="refresh", on_click=_refresh)
            return
        filters, every = _sidebar(overview.value.options)
        st.fragment(_body, run_every=every)(settings, filters)
    except MovieCdcError as exc:
        st.info(f"Cannot read the pipeline yet: {exc}")


main()
