"""The page's charts (Altair) and tables (pandas) from the aggregates of ``queries``.

Each status has one colour in every chart, filtered or not; money axes carry ``$``.
"""

from __future__ import annotations

from datetime import datetime

import altair as alt
import pandas as pd

from moviecdc.dashboard.queries import STATUSES, Table

STATUS_COLORS = {"BOOKED": "#2e7d32", "CANCELLED": "#c62828"}
DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]  # DAYOFWEEK: 0 = Sunday
MONEY_AXIS = alt.Axis(format="$,.0f")
STATUS_COLOR = alt.Color(
    "status:N",
    title="Status",
    scale=alt.Scale(domain=list(STATUS_COLORS), range=list(STATUS_COLORS.values())),
    legend=alt.Legend(orient="bottom"),
)


def frame(table: Table) -> pd.DataFrame:
    return pd.DataFrame(list(table.rows), columns=list(table.columns))


def _numeric(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    for c in cols:
        df[c] = pd.to_numeric(df[c]).astype(float)
    return df


def over_time(by_day: Table) -> tuple[alt.Chart, alt.Chart]:
    """Revenue per booking day (active and lost, by status) and bookings per day."""
    df = _numeric(frame(by_day), "booked", "cancelled", "revenue", "lost_revenue")
    df["day"] = pd.to_datetime(df["day"])
    money = pd.concat(
        [
            df.assign(status="BOOKED", amount=df["revenue"], kind="active revenue"),
            df.assign(status="CANCELLED", amount=df["lost_revenue"], kind="lost revenue"),
        ]
    )
    counts = pd.concat(
        [df.assign(status="BOOKED", bookings=df["booked"]), df.assign(status="CANCELLED", bookings=df["cancelled"])]
    )
    x = alt.X("day:T", title="Booking day", axis=alt.Axis(format="%b %d"))
    revenue = (
        alt.Chart(money[["day", "status", "amount", "kind"]])
        .mark_area(opacity=0.85)
        .encode(
            x=x,
            y=alt.Y("amount:Q", title="Revenue ($)", axis=MONEY_AXIS, stack=True),
            color=STATUS_COLOR,
            tooltip=[
                alt.Tooltip("day:T", title="Day"),
                alt.Tooltip("kind:N", title="Revenue"),
                alt.Tooltip("amount:Q", title="Amount", format="$,.2f"),
            ],
        )
    )
    bookings = (
        alt.Chart(counts[["day", "status", "bookings"]])
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("bookings:Q", title="Valid bookings", stack=True),
            color=STATUS_COLOR,
            tooltip=[
                alt.Tooltip("day:T", title="Day"),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("bookings:Q", title="Bookings", format=","),
            ],
        )
    )
    return revenue, bookings


def revenue_by_status(by_status: Table) -> alt.Chart:
    df = _numeric(frame(by_status), "revenue", "bookings")
    df["meaning"] = df["status"].map({"BOOKED": "active revenue", "CANCELLED": "lost revenue"})
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=alt.X("status:N", title="Status", sort=list(STATUSES), axis=alt.Axis(labelAngle=0)),
            y=alt.Y("revenue:Q", title="Revenue ($)", axis=MONEY_AXIS),
            color=STATUS_COLOR,
            tooltip=[
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("meaning:N", title="Counts as"),
                alt.Tooltip("revenue:Q", title="Revenue", format="$,.2f"),
            ],
        )
    )


def status_donut(by_status: Table) -> alt.Chart:
    df = _numeric(frame(by_status), "bookings")
    base = (
        alt.Chart(df)
        .transform_joinaggregate(total="sum(bookings)")
        .transform_calculate(share="datum.bookings / datum.total")
    )
    arc = base.mark_arc(innerRadius=55, outerRadius=110).encode(
        theta=alt.Theta("bookings:Q", stack=True),
        color=STATUS_COLOR,
        tooltip=[
            alt.Tooltip("status:N", title="Status"),
            alt.Tooltip("bookings:Q", title="Bookings", format=","),
            alt.Tooltip("share:Q", title="Share", format=".1%"),
        ],
    )
    labels = base.mark_text(radius=135, size=14).encode(
        theta=alt.Theta("bookings:Q", stack=True), text=alt.Text("share:Q", format=".1%"), color=STATUS_COLOR
    )
    return (arc + labels).properties(height=320)


def distribution(table: Table, by: str) -> alt.Chart:
    """Valid bookings per hour of day (``by="hour"``) or day of week (``by="weekday"``)."""
    df = _numeric(frame(table), "bookings")
    if by == "weekday":
        df["weekday"] = df["weekday"].map(lambda d: DAYS[int(d)])
        x = alt.X("weekday:N", title="Day of week", sort=DAYS)
    else:
        x = alt.X("hour:O", title="Hour of day", scale=alt.Scale(domain=list(range(24))))
    return (
        alt.Chart(df)
        .mark_bar()
        .encode(
            x=x,
            y=alt.Y("bookings:Q", title="Valid bookings", stack=True),
            color=STATUS_COLOR,
            tooltip=[
                alt.Tooltip(f"{by}:N", title=by.title()),
                alt.Tooltip("status:N", title="Status"),
                alt.Tooltip("bookings:Q", title="Bookings", format=","),
            ],
        )
    )


def lag_history(history: Table, target_sec: float | None, now: datetime, lag_now: float | None) -> alt.Chart | None:
    """The leaf table's lag over time, against the target: it grows from each refresh's
    data timestamp until the next refresh ends, then drops (a sawtooth)."""
    df = frame(history)
    df = df[df["state"] == "SUCCEEDED"].sort_values("refresh_end_time")
    if df.empty:
        return None
    ends = pd.to_datetime(df["refresh_end_time"], utc=True)
    before = pd.DataFrame({"at": ends, "sec": pd.to_numeric(df["lag_before_sec"]), "point": "before the refresh"})
    after = pd.DataFrame({"at": ends, "sec": pd.to_numeric(df["lag_after_sec"]), "point": "after the refresh"})
    points = pd.concat([before.dropna(), after.dropna()]).sort_values(["at", "point"], ascending=[True, False])
    if lag_now is not None:
        points = pd.concat([points, pd.DataFrame({"at": [pd.Timestamp(now)], "sec": [lag_now], "point": ["now"]})])
    points["minutes"] = points["sec"].astype(float) / 60
    line = (
        alt.Chart(points[["at", "minutes", "point"]])
        .mark_line(point=True, interpolate="linear")
        .encode(
            x=alt.X("at:T", title="Time (UTC)"),
            y=alt.Y("minutes:Q", title="Lag (min)"),
            order=alt.Order("index:Q"),
            tooltip=[
                alt.Tooltip("at:T", title="At", format="%Y-%m-%d %H:%M:%S"),
                alt.Tooltip("minutes:Q", title="Lag (min)", format=".1f"),
                alt.Tooltip("point:N", title="Measured"),
            ],
        )
        .transform_window(index="row_number()")
    )
    if target_sec is None:
        return line
    rule = alt.Chart(pd.DataFrame({"target": [target_sec / 60]})).mark_rule(color="#c62828", strokeDash=[6, 4])
    return line + rule.encode(y="target:Q", tooltip=[alt.Tooltip("target:Q", title="Target lag (min)")])
