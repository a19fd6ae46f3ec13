"""The page's sections, drawn with Streamlit from the aggregates of ``queries``."""

from __future__ import annotations

import csv
import io
from datetime import datetime

import altair as alt
import pandas as pd
import streamlit as st

from moviecdc.config import Settings
from moviecdc.dashboard import charts
from moviecdc.dashboard.health import banner as banner_text
from moviecdc.dashboard.health import duration, money, percent
from moviecdc.dashboard.queries import (
    CSV_MAX_ROWS,
    FEED_ROWS,
    RAW_COLUMNS,
    RAW_PAGE_ROWS,
    Activity,
    Figures,
    Filters,
    Kpis,
    Overview,
    Table,
    as_text,
)
from moviecdc.dashboard.shared import Connection
from moviecdc.errors import MovieCdcError
from moviecdc.names import INSIGHTS

BOX = {"OK": st.success, "WARN": st.warning, "FAIL": st.error}
MONEY = st.column_config.NumberColumn(format="dollar")
COUNT = st.column_config.NumberColumn(format="localized")
HEADERS = {
    "movie_id": "Movie id",
    "movie_title": "Movie",
    "customer_id": "Customer",
    "booking_id": "Booking",
    "booking_date": "Booking time",
    "status": "Status",
    "ticket_count": "Tickets",
    "ticket_price": "Ticket price",
    "total_amount": "Amount",
    "booking_size_category": "Size",
    "price_category": "Price band",
    "is_valid_booking": "Valid",
    "last_change_type": "Last change",
    "last_change_timestamp": "Changed at",
}


def banner(overview: Overview) -> None:
    """Health and freshness, first on the page: the verdict of ``moviecdc status``."""
    b = banner_text(overview.status)
    text = f"**{b.verdict}** · {b.headline}"
    if b.todo:
        text += f"  \nWhat to do: {b.todo}"
    with st.container(key="health"):
        BOX.get(b.verdict, st.info)(text)
        with st.expander(f"Pipeline details ({len(b.findings)} finding{'s' if len(b.findings) != 1 else ''})"):
            for line in b.findings or ("no finding: every check of `moviecdc status` passed",):
                st.markdown(f"- {line}")
            for task in overview.status.tasks:
                runs = task["recent_runs"]
                last = runs[0] if isinstance(runs, list) and runs else None
                ran = f"{last['state']} at {last['scheduled_time']:%Y-%m-%d %H:%M:%S} UTC" if last else "never run"
                st.markdown(f"- task **{task['name']}**: {task['state']}, last run {ran}")
            for note in overview.status.notes:
                st.caption(note)


def kpis(k: Kpis) -> None:
    top, bottom = st.columns(3), st.columns(3)
    top[0].metric(
        "Bookings",
        f"{k.valid:,}",
        help="Valid bookings in their current state (an updated booking"
        " counts once, a deleted one not at all). Every figure below counts valid bookings only.",
    )
    top[1].metric("Cancellation rate", percent(k.cancellation_rate), help="Valid CANCELLED bookings / valid bookings.")
    top[2].metric(
        "Data quality",
        percent(k.data_quality),
        help=f"{k.valid:,} of {k.rows:,} rows are valid"
        " (ids present, a date in 2000-2099, a known status, tickets and a price above zero).",
    )
    bottom[0].metric(
        "Total revenue",
        money(k.revenue),
        help="Active revenue: the amount of valid BOOKED"
        " bookings. Cancelled money is not included; it is Lost revenue.",
    )
    bottom[1].metric("Lost revenue", money(k.lost_revenue), help="The amount of valid CANCELLED bookings.")
    bottom[2].metric("Tickets sold", f"{k.tickets:,}", help="Tickets of valid bookings, BOOKED and CANCELLED.")


def netting_note(a: Activity) -> None:
    if a.netted:
        st.info(
            f"Change activity shows {a.status_changes:,} status changes and {a.deletions:,} deletions, yet"
            f" {a.cancelled:,} bookings are cancelled. That is how streams work (on Snowflake too): a stream"
            " reports each row's net change since the task last consumed it, so a booking inserted and then"
            " cancelled, updated or deleted before a task run arrives as one insert of its final state (or not"
            " at all). The figures from the current state are unaffected."
        )


def charts_row(left: alt.Chart, right: alt.Chart) -> None:
    a, b = st.columns(2)
    a.altair_chart(left, width="stretch")
    b.altair_chart(right, width="stretch")


def all_charts(f: Figures) -> None:
    if f.by_day.rows:
        st.subheader("Revenue and bookings over time")
        st.caption("Per booking day, from movie_booking_insights: valid bookings; the red area is lost revenue.")
        charts_row(*charts.over_time(f.by_day))
    left, right = st.columns(2)
    with left:
        st.subheader("Revenue by status")
        st.caption("BOOKED: active revenue (the Total revenue); CANCELLED: lost revenue.")
        st.altair_chart(charts.revenue_by_status(f.by_status), width="stretch")
    with right:
        st.subheader("Booking status")
        st.caption("Valid bookings per status, with their share.")
        st.altair_chart(charts.status_donut(f.by_status), width="stretch")
    left, right = st.columns(2)
    with left:
        st.subheader("Bookings by hour of day")
        st.altair_chart(charts.distribution(f.by_hour, "hour"), width="stretch")
    with right:
        st.subheader("Bookings by day of week")
        st.altair_chart(charts.distribution(f.by_weekday, "weekday"), width="stretch")


def _movies(t: Table, extra: dict[str, str]) -> pd.DataFrame:
    df = charts.frame(t)
    df["movie"] = [
        title or f"{m} (not in the movies catalogue)" if m is not None else "(no movie id)"
        for m, title in zip(df["movie_id"], df["title"], strict=True)
    ]
    return df.drop(columns=["title"]).rename(columns={"movie": "Movie", "movie_id": "Movie id", **extra})


def tables(f: Figures) -> None:
    st.subheader("Movie performance")
    st.caption("Valid bookings per movie, highest total revenue first.")
    cols = {
        "bookings": "Bookings",
        "tickets": "Tickets",
        "revenue": "Total revenue",
        "lost_revenue": "Lost revenue",
        "cancellation_rate": "Cancellation rate",
        "single": "Single",
        "group": "Group (2-4)",
        "large_group": "Large group (5+)",
        "budget": "Budget (<$10)",
        "standard": "Standard ($10-20)",
        "premium": "Premium (>$20)",
    }
    perf = _movies(f.by_movie, cols)
    perf["Cancellation rate"] = pd.to_numeric(perf["Cancellation rate"]).astype(float)
    config = {c: COUNT for c in cols.values()} | {
        "Total revenue": MONEY,
        "Lost revenue": MONEY,
        "Cancellation rate": st.column_config.NumberColumn(format="%.1f%%"),
    }
    st.dataframe(perf, hide_index=True, column_order=["Movie", *cols.values()], column_config=config, width="stretch")

    st.subheader("Change activity")
    changes = _movies(
        f.changes,
        {
            "new_bookings": "New bookings",
            "status_changes": "Status changes",
            "deletions": "Deletions",
            "revenue": "Total revenue",
        },
    )
    note = "From the change events (movie_booking_insights); honours the movie and date filters, not the status."
    if "(no movie id)" in set(changes["Movie"]):
        note += " “(no movie id)” counts changes to rows without a movie id: invalid rows, left out of the figures."
    st.caption(note)
    st.dataframe(
        changes,
        hide_index=True,
        width="stretch",
        column_order=["Movie", "New bookings", "Status changes", "Deletions", "Total revenue"],
        column_config={"Total revenue": MONEY, "New bookings": COUNT, "Status changes": COUNT, "Deletions": COUNT},
    )

    st.subheader("Latest changes")
    st.caption(
        f"The newest {FEED_ROWS} change events (filtered like the page); an update shows once, as its new image."
    )
    feed = charts.frame(f.feed)
    feed["change"] = [
        ("update" if u else "new booking") if a == "INSERT" else "deletion"
        for a, u in zip(feed["change_action"], feed["is_update"], strict=True)
    ]
    feed["movie"] = feed["title"].where(feed["title"].notna(), feed["movie_id"])
    feed = feed.rename(
        columns={
            "change_timestamp": "Consumed at",
            "change": "Change",
            "booking_id": "Booking",
            "movie": "Movie",
            "status": "Status",
            "ticket_count": "Tickets",
            "total_amount": "Amount",
        }
    )
    st.dataframe(
        feed,
        hide_index=True,
        width="stretch",
        column_order=["Consumed at", "Change", "Booking", "Movie", "Status", "Tickets", "Amount"],
        column_config={"Amount": MONEY, "Consumed at": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm:ss")},
    )


def refresh_history(o: Overview) -> None:
    st.subheader("Refresh history and lag")
    leaf = next((d for d in o.status.dynamic_tables if str(d["name"]).upper() == INSIGHTS.upper()), {})
    target = leaf.get("effective_target_lag_sec")
    target_sec = float(target) if isinstance(target, int | float) else None
    st.caption(
        f"{INSIGHTS}: how far its data lagged behind over time (it grows until a refresh, then drops)"
        + (f", against the {duration(target_sec)} target (dashed)." if target_sec else ".")
    )
    lag_now = leaf.get("actual_lag_sec")
    now_lag = float(lag_now) if isinstance(lag_now, int | float) else None
    chart = charts.lag_history(o.refreshes, target_sec, o.status.generated_at, now_lag)
    if chart is None:
        st.caption("No refresh to chart yet.")
    else:
        st.altair_chart(chart, width="stretch")
    df = charts.frame(o.refreshes).rename(
        columns={
            "refresh_start_time": "Started",
            "state": "State",
            "refresh_action": "Action",
            "refresh_trigger": "Trigger",
            "duration_sec": "Duration (s)",
            "lag_before_sec": "Lag before (s)",
        }
    )
    with st.expander(f"Recent refreshes ({len(df):,})"):
        st.dataframe(
            df.head(20),
            hide_index=True,
            width="stretch",
            column_order=["Started", "State", "Action", "Trigger", "Duration (s)", "Lag before (s)"],
        )


def csv_text(t: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(t.columns)
    writer.writerows([as_text(v) for v in row] for row in t.rows)
    return out.getvalue()


def downloads(settings: Settings, filters: Filters, rows: int) -> None:
    """The CSV (read when clicked, capped) and the raw rows (read when opened, one page)."""

    def build() -> str:
        with Connection(settings) as conn:
            return csv_text(conn.read(lambda r: r.rows(filters, limit=CSV_MAX_ROWS)))

    stamp = datetime.now().strftime("%Y%m%d_%H%M%S")
    cap = f"the newest {CSV_MAX_ROWS:,} of {rows:,} rows" if rows > CSV_MAX_ROWS else f"all {rows:,} rows"
    st.download_button(
        "Download filtered bookings (CSV)",
        build,
        file_name=f"movie_bookings_{stamp}.csv",
        mime="text/csv",
        on_click="ignore",
        key="csv",
        help=f"Read when clicked: at most {CSV_MAX_ROWS:,} rows, newest booking first",
    )
    st.caption(f"The CSV holds {cap} matching the filters, valid or not (at most {CSV_MAX_ROWS:,}).")
    with st.expander("Raw data", key="raw_open", on_change="rerun") as raw:
        if not raw.open:
            return
        pages = max(1, -(-rows // RAW_PAGE_ROWS))
        page = int(st.number_input(f"Page (of {pages:,}, {RAW_PAGE_ROWS} rows each)", 1, pages, key="raw_page"))
        try:
            with Connection(settings) as conn:
                t = conn.read(lambda r: r.rows(filters, limit=RAW_PAGE_ROWS, offset=(page - 1) * RAW_PAGE_ROWS))
        except MovieCdcError as exc:
            st.info(f"Cannot read the rows now: {exc}")
            return
        df = charts.frame(t).rename(columns=HEADERS)
        st.dataframe(
            df,
            hide_index=True,
            width="stretch",
            column_order=[HEADERS[c] for c in RAW_COLUMNS],
            column_config={"Amount": MONEY, "Ticket price": MONEY},
        )
