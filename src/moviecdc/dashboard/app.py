"""The Streamlit dashboard: bookings analytics and pipeline health, read-only.

Started by ``moviecdc dashboard``, which passes the target in the environment. All
figures come from the pipeline's dynamic tables through the same Warehouse
interface as the CLI, so the page shows the same numbers on both targets.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from typing import Any

import pandas as pd
import streamlit as st

from moviecdc.config import load
from moviecdc.errors import MovieCdcError
from moviecdc.render import ident
from moviecdc.status import collect_status
from moviecdc.warehouse import connect

FILTERED = "movie_bookings_filtered"
INSIGHTS = "movie_booking_insights"


def _settings() -> Any:
    return load({}, os.environ)


def _query(sql: str, params: list[object] | None = None) -> pd.DataFrame:
    settings = _settings()
    wh = connect(settings, command="dashboard")
    try:
        res = wh.execute(sql, params)
    finally:
        wh.close()
    return pd.DataFrame(res.rows, columns=[c.lower() for c in res.columns])


@st.cache_data(ttl=30, show_spinner=False)
def load_bookings(ns: str) -> pd.DataFrame:
    return _query(
        f"SELECT booking_id, movie_id, customer_id, booking_date, booking_day, booking_hour,"
        f" booking_day_of_week, status, ticket_count, ticket_price, total_amount,"
        f" booking_size_category, price_category, is_valid_booking, active_revenue, lost_revenue"
        f" FROM {ns}.{FILTERED}"
    )


@st.cache_data(ttl=30, show_spinner=False)
def load_insights(ns: str) -> pd.DataFrame:
    return _query(f"SELECT * FROM {ns}.{INSIGHTS}")


@st.cache_data(ttl=15, show_spinner=False)
def load_status(database: str, schema: str) -> dict[str, Any]:
    settings = _settings()
    wh = connect(settings, command="dashboard")
    try:
        return collect_status(wh, database, schema, history=3).as_dict()
    finally:
        wh.close()


def main() -> None:
    st.set_page_config(page_title="Movie bookings", page_icon="🎬", layout="wide")
    settings = _settings()
    ns = f"{ident(settings.database)}.{ident(settings.schema)}"
    st.title("🎬 Movie bookings")
    st.caption(f"{settings.target} · {ns} · figures from {INSIGHTS} and {FILTERED}")
    try:
        bookings = load_bookings(ns)
    except MovieCdcError as exc:
        st.error(f"Cannot read the pipeline: {exc}. Run `moviecdc deploy` first.")
        return

    with st.sidebar:
        st.header("Filters")
        days = bookings["booking_day"].dropna()
        lo = days.min() if len(days) else date(2025, 9, 1)
        hi = days.max() if len(days) else date(2025, 9, 30)
        picked = st.date_input("Booking dates", value=(lo, hi), key="dates")
        status = st.selectbox("Booking status", ["All", "BOOKED", "CANCELLED"], key="status")
        movies = sorted(m for m in bookings["movie_id"].dropna().unique())
        movie = st.selectbox("Movie", ["All", *movies], key="movie")
        if st.button("Refresh"):
            st.cache_data.clear()
            st.rerun()

    view = bookings
    if isinstance(picked, tuple) and len(picked) == 2:
        start, end = picked
        view = view[view["booking_day"].between(start, end)]
    if status != "All":
        view = view[view["status"] == status]
    if movie != "All":
        view = view[view["movie_id"] == movie]
    valid = view[view["is_valid_booking"]]

    total = len(view)
    active = float(valid["active_revenue"].sum())
    lost = float(valid["lost_revenue"].sum())
    cancelled = int((valid["status"] == "CANCELLED").sum())
    cols = st.columns(6)
    cols[0].metric("Total bookings", f"{total:,}")
    cols[1].metric("Total revenue", f"${active + lost:,.2f}")
    cols[2].metric("Active revenue", f"${active:,.2f}")
    cols[3].metric("Lost revenue", f"${lost:,.2f}")
    cols[4].metric("Cancellation rate", f"{100 * cancelled / len(valid):.1f}%" if len(valid) else "-")
    cols[5].metric("Data quality", f"{100 * len(valid) / total:.1f}%" if total else "-")

    left, right = st.columns(2)
    with left:
        st.subheader("Revenue by status")
        st.bar_chart(pd.DataFrame({"revenue": [active, lost]}, index=["BOOKED", "CANCELLED"]))
        st.subheader("Bookings by hour")
        st.bar_chart(valid.groupby("booking_hour").size().rename("bookings"))
    with right:
        st.subheader("Booking status distribution")
        st.bar_chart(view["status"].value_counts().rename("bookings"))
        st.subheader("Bookings by day of week (0 = Sunday)")
        st.bar_chart(valid.groupby("booking_day_of_week").size().rename("bookings"))

    st.subheader("Movie performance")
    perf = valid.groupby("movie_id").agg(
        bookings=("booking_id", "count"),
        active_revenue=("active_revenue", "sum"),
        lost_revenue=("lost_revenue", "sum"),
        cancelled=("status", lambda s: int((s == "CANCELLED").sum())),
    )
    perf["cancellation_rate_pct"] = (100 * perf["cancelled"] / perf["bookings"]).round(2)
    st.dataframe(perf, width="stretch")

    st.subheader("Change activity (from the change events)")
    insights = load_insights(ns)
    if isinstance(picked, tuple) and len(picked) == 2:
        insights = insights[insights["booking_day"].between(picked[0], picked[1])]
    if movie != "All":
        insights = insights[insights["movie_id"] == movie]
    st.dataframe(
        insights.groupby("movie_id")[["new_bookings", "status_changes", "deletions"]].sum(),
        width="stretch",
    )

    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    st.download_button("Download filtered bookings (CSV)", view.to_csv(index=False),
                       file_name=f"movie_bookings_{stamp}.csv", mime="text/csv")  # fmt: skip
    with st.expander("Raw data"):
        st.dataframe(view, width="stretch")

    with st.expander("Pipeline health", expanded=True):
        try:
            report = load_status(settings.database, settings.schema)
        except MovieCdcError as exc:
            st.warning(f"Status unavailable: {exc}")
            return
        st.write(f"Health: **{report['health']}**")
        for task in report["tasks"]:
            runs = task["recent_runs"]
            last = f"{runs[0]['state']} at {runs[0]['scheduled_time']}" if runs else "never run"
            st.write(f"Task {task['name']}: {task['state']}, last run {last}")
        for dt in report["dynamic_tables"]:
            lag = dt["actual_lag_sec"]
            st.write(f"{dt['name']}: target lag {dt['target_lag']}, "
                     f"actual {'-' if lag is None else f'{lag:.0f} s'}")  # fmt: skip
        for f in report["findings"]:
            st.write(f"{f['level']} {f['object']}: {f['message']}")


main()
