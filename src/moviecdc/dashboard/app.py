"""The Streamlit dashboard: bookings analytics and pipeline health, read-only.

Started by ``moviecdc dashboard``, which passes the target in the environment. Every
figure comes from the pipeline's dynamic tables (``movie_bookings_filtered`` for the
current state of each booking, ``movie_booking_insights`` for the change metrics)
through the same Warehouse interface as the CLI, so the page shows the same numbers
on both targets. The server reads them at most every 15 s and keeps one copy for every
visitor; a browser session holds only its filters. Locally the database is opened read-only, one query at a time; when
another process holds it for writing longer than the busy timeout, the page keeps
showing the last figures it read, and says so, instead of an error.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from moviecdc.config import Settings, load
from moviecdc.errors import DatabaseBusyError, MovieCdcError
from moviecdc.names import FILTERED, INSIGHTS
from moviecdc.render import namespace
from moviecdc.status import collect_status
from moviecdc.warehouse import connect

DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]  # DAYOFWEEK: 0 = Sunday
ALL = "All"


def _settings() -> Settings:
    return load({}, os.environ)


def _frame(settings: Settings, sql: str) -> pd.DataFrame:
    wh = connect(settings, command="dashboard", read_only=True)
    try:
        res = wh.execute(sql)
    finally:
        wh.close()
    return pd.DataFrame(res.rows, columns=[c.lower() for c in res.columns])


def load_data(settings: Settings, ns: str) -> dict[str, Any]:
    """Everything the page shows, read in one go (read-only)."""
    bookings = _frame(
        settings,
        "SELECT booking_id, movie_id, movie_title, customer_id, booking_date, booking_day, booking_hour,"
        " booking_day_of_week, status, ticket_count, ticket_price, total_amount, booking_size_category,"
        f" price_category, is_valid_booking, active_revenue, lost_revenue FROM {ns}.{FILTERED}",
    )
    insights = _frame(settings, f"SELECT * FROM {ns}.{INSIGHTS}")
    wh = connect(settings, command="dashboard", read_only=True)
    try:
        health = collect_status(wh, settings.database, settings.schema, history=3).as_dict()
    finally:
        wh.close()
    for frame in (bookings, insights):
        if "movie_title" in frame:
            frame["movie"] = frame["movie_title"].fillna(frame["movie_id"]).fillna("(no movie)")
    return {"bookings": bookings, "insights": insights, "health": health, "read_at": datetime.now()}


@st.cache_resource(max_entries=4)
def _shared_reads(key: tuple[str, str, str]) -> dict[str, Any]:
    """The last read of one pipeline, shared by every browser session of this server: the
    bookings are held once, however many pages are open (a session keeps only its filters)."""
    return {}


def current_data(settings: Settings, ns: str, *, refresh: bool = False) -> dict[str, Any] | None:
    """Fresh data (read at most every 15 s, whatever the number of sessions), or the last good
    read while the database is busy (a stale read, never an error)."""
    shared = _shared_reads((settings.target, str(settings.db_path), ns))
    if refresh or "data" not in shared or shared.get("stale_after", datetime.min) < datetime.now():
        try:
            shared["data"] = load_data(settings, ns)
            shared["stale_after"] = datetime.now() + pd.Timedelta(seconds=15)
            shared.pop("busy", None)
        except DatabaseBusyError as exc:
            shared["busy"] = str(exc)
    if "busy" in shared:
        if "data" in shared:
            st.warning(f"The database is busy; showing figures read at {shared['data']['read_at']:%H:%M:%S}.")
        else:
            st.info("The local database is busy with another moviecdc command; press Refresh in a moment.")
    return shared.get("data")


def filter_bookings(bookings: pd.DataFrame, dates: Any, status: str, movie: str) -> pd.DataFrame:
    view = bookings
    if isinstance(dates, tuple | list) and len(dates) == 2:
        view = view[view["booking_day"].between(dates[0], dates[1])]
    if status != ALL:
        view = view[view["status"] == status]
    if movie != ALL:
        view = view[view["movie"] == movie]
    return view


def metrics(view: pd.DataFrame) -> None:
    valid = view[view["is_valid_booking"]]
    active, lost = float(valid["active_revenue"].sum()), float(valid["lost_revenue"].sum())
    cancelled = int((valid["status"] == "CANCELLED").sum())
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric("Total bookings", f"{len(view):,}")
    top[1].metric("Cancellation rate", f"{100 * cancelled / len(valid):.1f}%" if len(valid) else "-")
    top[2].metric("Data quality", f"{100 * len(valid) / len(view):.1f}%" if len(view) else "-")
    bottom[0].metric("Total revenue", f"${active + lost:,.2f}")
    bottom[1].metric("Active revenue", f"${active:,.2f}")
    bottom[2].metric("Lost revenue", f"${lost:,.2f}")


def charts(view: pd.DataFrame) -> None:
    valid = view[view["is_valid_booking"]]
    left, right = st.columns(2)
    with left:
        st.subheader("Revenue by status")
        revenue = pd.DataFrame(
            {"status": ["BOOKED", "CANCELLED"],
             "revenue": [float(valid["active_revenue"].sum()), float(valid["lost_revenue"].sum())]}
        )  # fmt: skip
        st.altair_chart(alt.Chart(revenue).mark_bar().encode(x="status", y="revenue", color="status"), width="stretch")
        st.subheader("Bookings by hour of day")
        st.bar_chart(valid.groupby("booking_hour").size().rename("bookings"))
    with right:
        st.subheader("Booking status")
        counts = view["status"].fillna("(none)").value_counts().rename_axis("status").reset_index(name="bookings")
        st.altair_chart(
            alt.Chart(counts).mark_arc().encode(theta="bookings", color="status", tooltip=["status", "bookings"]),
            width="stretch",
        )
        st.subheader("Bookings by day of week")
        by_day = valid.groupby("booking_day_of_week").size().reindex(range(7), fill_value=0)
        by_day.index = pd.CategoricalIndex(DAYS, categories=DAYS, ordered=True)
        st.bar_chart(by_day.rename("bookings"))


def movie_table(view: pd.DataFrame) -> pd.DataFrame:
    valid = view[view["is_valid_booking"]]
    perf = valid.groupby("movie").agg(
        bookings=("booking_id", "count"),
        active_revenue=("active_revenue", "sum"),
        lost_revenue=("lost_revenue", "sum"),
        cancelled=("status", lambda s: int((s == "CANCELLED").sum())),
    )
    perf["cancellation_rate_pct"] = (100 * perf["cancelled"] / perf["bookings"]).round(1)
    sizes = pd.crosstab(valid["movie"], valid["booking_size_category"])
    prices = pd.crosstab(valid["movie"], valid["price_category"])
    return perf.join(sizes, how="left").join(prices, how="left").fillna(0)


def health_panel(health: dict[str, Any]) -> None:
    with st.expander(f"Pipeline health: {health['health']}", expanded=health["health"] != "OK"):
        for task in health["tasks"]:
            runs = task["recent_runs"]
            last = f"{runs[0]['state']} (scheduled {runs[0]['scheduled_time']})" if runs else "never run"
            st.write(f"**Task {task['name']}**: {task['state']}, last run {last}")
        for dt in health["dynamic_tables"]:
            lag = dt["actual_lag_sec"]
            refreshes = dt["recent_refreshes"]
            last = f"{refreshes[0]['state']} {refreshes[0]['action']}" if refreshes else "never"
            st.write(f"**{dt['name']}**: target lag {dt['target_lag']}, actual"
                     f" {'-' if lag is None else f'{lag:.0f} s'}, last refresh {last}")  # fmt: skip
        for f in health["findings"]:
            st.write(f"{f['level']} {f['object']}: {f['message']}")


def main() -> None:
    st.set_page_config(page_title="Movie bookings", layout="wide")
    settings = _settings()
    ns = namespace(settings)
    st.title("Movie bookings")
    st.caption(f"{settings.target} · {ns} · figures from {FILTERED} and {INSIGHTS}")
    try:
        data = current_data(settings, ns, refresh=bool(st.session_state.pop("refresh", False)))
    except MovieCdcError as exc:
        st.info(f"Cannot read the pipeline yet: {exc}")
        return
    if data is None:
        return
    bookings = data["bookings"]

    with st.sidebar:
        st.header("Filters")
        days = bookings["booking_day"].dropna()
        lo = days.min() if len(days) else date(2025, 9, 1)
        hi = days.max() if len(days) else date(2025, 9, 30)
        dates = st.date_input("Booking dates", value=(lo, hi), key="dates")
        status = st.selectbox("Booking status", [ALL, "BOOKED", "CANCELLED"], key="status")
        movie = st.selectbox("Movie", [ALL, *sorted(bookings["movie"].unique())], key="movie")
        if st.button("Refresh"):
            st.session_state["refresh"] = True
            st.rerun()

    view = filter_bookings(bookings, dates, status, movie)
    metrics(view)
    charts(view)
    st.subheader("Movie performance")
    st.dataframe(movie_table(view), width="stretch")

    st.subheader("Change activity (from the change events)")
    insights = data["insights"]
    if isinstance(dates, tuple | list) and len(dates) == 2:
        insights = insights[insights["booking_day"].between(dates[0], dates[1])]
    if movie != ALL:
        insights = insights[insights["movie"] == movie]
    st.dataframe(insights.groupby("movie")[["new_bookings", "status_changes", "deletions"]].sum(), width="stretch")

    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    # built when clicked, not on every rerun of every session
    st.download_button("Download filtered bookings (CSV)", lambda: view.to_csv(index=False),
                       file_name=f"movie_bookings_{stamp}.csv", mime="text/csv")  # fmt: skip
    with st.expander("Raw data"):
        st.dataframe(view, width="stretch")
    health_panel(data["health"])


main()
