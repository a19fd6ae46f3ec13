"""The dashboard's figures: Snowflake SQL run on the target, aggregates back.

Every figure is one SQL query over the pipeline's tables, so only aggregates (and, on
demand, one page of rows) cross the wire; the same SQL runs on Snowflake and on the local
engine. The definitions, one per figure (the page's hover texts say the same):

- a *booking* is a row of ``movie_bookings_filtered`` (the current state of one source
  row: an updated booking counts once, a deleted one not at all);
- the booking figures (bookings, tickets, revenue, rates, charts, the movie table) count
  *valid* bookings only; *data quality* is the share of rows that are valid;
- *total revenue* is the active revenue (valid BOOKED bookings); the money of valid
  CANCELLED bookings is *lost revenue*, never added to it;
- change activity (new bookings, status changes, deletions) comes from the change events
  through ``movie_booking_insights``; it honours the movie and date filters, not the status
  filter (an event's status is not a booking's).

Filters become WHERE clauses; their values are escaped as SQL literals (strings) or
written from ``date`` objects, never pasted in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from moviecdc.names import EVENTS_TABLE, FILTERED, INSIGHTS, MOVIES
from moviecdc.render import literal
from moviecdc.status import StatusReport, collect_status
from moviecdc.warehouse.base import Warehouse

STATUSES = ("BOOKED", "CANCELLED")  # the statuses a valid booking can have
RAW_PAGE_ROWS = 100
CSV_MAX_ROWS = 100_000
FEED_ROWS = 20
REFRESH_HISTORY_ROWS = 100
RAW_COLUMNS = (
    "booking_id", "movie_id", "movie_title", "customer_id", "booking_date", "status", "ticket_count",
    "ticket_price", "total_amount", "booking_size_category", "price_category", "is_valid_booking",
    "last_change_type", "last_change_timestamp",
)  # fmt: skip


@dataclass(frozen=True)
class Filters:
    """The page's filters. ``None`` means "all"; no dates means the whole range (rows
    without a valid booking date included)."""

    start: date | None = None
    end: date | None = None
    status: str | None = None
    movie_id: str | None = None

    def conditions(self, *, day: str = "booking_day", status: bool = True, movie: str = "movie_id") -> list[str]:
        """The filters as SQL conditions on the given columns."""
        out = []
        if self.start is not None and self.end is not None:
            out.append(f"{day} BETWEEN {_date(self.start)} AND {_date(self.end)}")
        if status and self.status is not None:
            out.append(f"status = {literal(self.status)}")
        if self.movie_id is not None:
            out.append(f"{movie} = {literal(self.movie_id)}")
        return out


def _date(value: date) -> str:
    if not isinstance(value, date):  # a str here would be pasted into the SQL
        raise TypeError(f"a filter date must be a date, got {type(value).__name__}")
    return f"DATE '{value.isoformat()}'"


def where(*conditions: str) -> str:
    """``WHERE a AND b`` (or nothing)."""
    kept = [c for c in conditions if c]
    return f" WHERE {' AND '.join(kept)}" if kept else ""


@dataclass(frozen=True)
class Movie:
    movie_id: str
    title: str | None

    @property
    def label(self) -> str:
        return self.title or f"{self.movie_id} (not in the movies catalogue)"


@dataclass(frozen=True)
class Options:
    """What the filters offer, read from the target."""

    movies: tuple[Movie, ...]
    first_day: date | None
    last_day: date | None


@dataclass(frozen=True)
class Kpis:
    rows: int  # every current row, valid or not
    valid: int
    booked: int
    cancelled: int
    tickets: int
    revenue: Decimal  # active revenue: valid BOOKED bookings
    lost_revenue: Decimal  # valid CANCELLED bookings

    @property
    def cancellation_rate(self) -> float | None:
        return 100 * self.cancelled / self.valid if self.valid else None

    @property
    def data_quality(self) -> float | None:
        return 100 * self.valid / self.rows if self.rows else None


@dataclass(frozen=True)
class Table:
    """A small aggregate result: column names (lower case) and rows."""

    columns: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...] = ()

    def dicts(self) -> list[dict[str, object]]:
        return [dict(zip(self.columns, r, strict=True)) for r in self.rows]

    def column(self, name: str) -> list[object]:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass(frozen=True)
class Figures:
    """Everything the page shows for one set of filters."""

    filters: Filters
    kpis: Kpis
    by_status: Table
    by_hour: Table
    by_weekday: Table
    by_movie: Table
    by_day: Table
    changes: Table
    feed: Table


@dataclass(frozen=True)
class Activity:
    """Pipeline-wide change totals, to tell when the stream netted changes away."""

    new_bookings: int
    status_changes: int
    deletions: int
    cancelled: int

    @property
    def netted(self) -> bool:
        """Cancelled bookings exist, yet no event recorded a status change: every
        cancellation reached the stream before a task run consumed the booking's insert."""
        return self.cancelled > 0 and self.status_changes == 0


@dataclass
class Reader:
    """Runs the dashboard's SQL on one open warehouse."""

    wh: Warehouse
    ns: str
    queries: list[str] = field(default_factory=list)  # every statement run, for the benchmark

    def table(self, sql: str) -> Table:
        self.queries.append(sql)
        res = self.wh.execute(sql)
        return Table(tuple(c.lower() for c in res.columns), tuple(tuple(r) for r in res.rows))

    # -- filter-independent -------------------------------------------------------------

    def options(self) -> Options:
        movies = self.table(
            f"SELECT movie_id, ANY_VALUE(movie_title) AS title FROM {self.ns}.{INSIGHTS}"
            " WHERE movie_id IS NOT NULL GROUP BY movie_id ORDER BY title, movie_id"
        )
        days = self.table(
            f"SELECT MIN(booking_day) AS first_day, MAX(booking_day) AS last_day FROM {self.ns}.{INSIGHTS}"
            " WHERE valid_bookings > 0"
        )
        first, last = days.rows[0] if days.rows else (None, None)
        return Options(
            tuple(Movie(str(m), None if t is None else str(t)) for m, t in movies.rows),
            first if isinstance(first, date) else None,
            last if isinstance(last, date) else None,
        )

    def activity(self) -> Activity:
        t = self.table(
            "SELECT COALESCE(SUM(new_bookings), 0), COALESCE(SUM(status_changes), 0),"
            f" COALESCE(SUM(deletions), 0), COALESCE(SUM(cancelled_bookings), 0) FROM {self.ns}.{INSIGHTS}"
        )
        new, changed, deleted, cancelled = (int(v) for v in t.rows[0])  # type: ignore[call-overload]
        return Activity(new, changed, deleted, cancelled)

    def refresh_history(self, database: str) -> Table:
        """The leaf dynamic table's recent refreshes, newest first, with the lag each one
        ended (seconds from the previous refresh's data timestamp to this one's end) and the lag
        right after it (from its own data timestamp)."""
        name = literal(f"{self.ns}.{INSIGHTS.upper()}")
        return self.table(
            "SELECT state, refresh_action, refresh_trigger, data_timestamp, refresh_start_time, refresh_end_time,"
            " DATEDIFF('millisecond', refresh_start_time, refresh_end_time) / 1000 AS duration_sec,"
            " DATEDIFF('millisecond', LAG(data_timestamp) OVER (ORDER BY refresh_start_time), refresh_end_time)"
            " / 1000 AS lag_before_sec,"
            " DATEDIFF('millisecond', data_timestamp, refresh_end_time) / 1000 AS lag_after_sec"
            f" FROM TABLE({database}.INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY("
            f"NAME => {name}, RESULT_LIMIT => {REFRESH_HISTORY_ROWS})) ORDER BY refresh_start_time DESC"
        )

    # -- per filter ---------------------------------------------------------------------

    def figures(self, f: Filters) -> Figures:
        return Figures(
            f,
            self.kpis(f),
            self.by_status(f),
            self.by_hour(f),
            self.by_weekday(f),
            self.by_movie(f),
            self.by_day(f),
            self.changes(f),
            self.feed(f),
        )

    def kpis(self, f: Filters) -> Kpis:
        t = self.table(
            "SELECT COUNT(*), SUM(IFF(is_valid_booking, 1, 0)),"
            " SUM(IFF(is_valid_booking AND status = 'BOOKED', 1, 0)),"
            " SUM(IFF(is_valid_booking AND status = 'CANCELLED', 1, 0)),"
            " SUM(IFF(is_valid_booking, ticket_count, 0)), SUM(active_revenue), SUM(lost_revenue)"
            f" FROM {self.ns}.{FILTERED}{where(*f.conditions())}"
        )
        rows, valid, booked, cancelled, tickets, revenue, lost = t.rows[0]
        return Kpis(
            int(rows or 0),  # type: ignore[call-overload]
            int(valid or 0),  # type: ignore[call-overload]
            int(booked or 0),  # type: ignore[call-overload]
            int(cancelled or 0),  # type: ignore[call-overload]
            int(tickets or 0),  # type: ignore[call-overload]
            Decimal(str(revenue or 0)),
            Decimal(str(lost or 0)),
        )

    def by_status(self, f: Filters) -> Table:
        """Valid bookings per status: bookings, tickets and money (active or lost revenue)."""
        return self.table(
            "SELECT status, COUNT(*) AS bookings, SUM(ticket_count) AS tickets, SUM(total_amount) AS revenue"
            f" FROM {self.ns}.{FILTERED}{where('is_valid_booking', *f.conditions())}"
            " GROUP BY status ORDER BY revenue DESC, status"
        )

    def by_hour(self, f: Filters) -> Table:
        return self.table(
            "SELECT booking_hour AS hour, status, COUNT(*) AS bookings"
            f" FROM {self.ns}.{FILTERED}{where('is_valid_booking', *f.conditions())}"
            " GROUP BY booking_hour, status ORDER BY hour, status"
        )

    def by_weekday(self, f: Filters) -> Table:
        return self.table(
            "SELECT booking_day_of_week AS weekday, status, COUNT(*) AS bookings"  # 0 = Sunday
            f" FROM {self.ns}.{FILTERED}{where('is_valid_booking', *f.conditions())}"
            " GROUP BY booking_day_of_week, status ORDER BY weekday, status"
        )

    def by_movie(self, f: Filters) -> Table:
        """Valid bookings per movie, by active revenue (highest first)."""
        counts = ", ".join(
            f"SUM(IFF({col} = '{v}', 1, 0)) AS {v.lower()}"
            for col, values in (
                ("booking_size_category", ("SINGLE", "GROUP", "LARGE_GROUP")),
                ("price_category", ("BUDGET", "STANDARD", "PREMIUM")),
            )
            for v in values
        )
        return self.table(
            "SELECT movie_id, ANY_VALUE(movie_title) AS title, COUNT(*) AS bookings, SUM(ticket_count) AS tickets,"
            " SUM(active_revenue) AS revenue, SUM(lost_revenue) AS lost_revenue,"
            " 100 * SUM(IFF(status = 'CANCELLED', 1, 0)) / COUNT(*) AS cancellation_rate,"
            f" {counts} FROM {self.ns}.{FILTERED}{where('is_valid_booking', *f.conditions())}"
            " GROUP BY movie_id ORDER BY revenue DESC, lost_revenue DESC, movie_id"
        )

    def by_day(self, f: Filters) -> Table:
        """Valid bookings and revenue per booking day (from the insights); the status
        filter picks the status's columns."""
        booked = f.status in (None, "BOOKED")
        cancelled = f.status in (None, "CANCELLED")
        return self.table(
            f"SELECT booking_day AS day, {'SUM(active_bookings)' if booked else '0'} AS booked,"
            f" {'SUM(cancelled_bookings)' if cancelled else '0'} AS cancelled,"
            f" {'SUM(active_revenue)' if booked else '0'} AS revenue,"
            f" {'SUM(lost_revenue)' if cancelled else '0'} AS lost_revenue"
            f" FROM {self.ns}.{INSIGHTS}{where('valid_bookings > 0', *f.conditions(status=False))}"
            " GROUP BY booking_day ORDER BY day"
        )

    def changes(self, f: Filters) -> Table:
        """Change events per movie (movie and date filters only), by active revenue."""
        return self.table(
            "SELECT movie_id, ANY_VALUE(movie_title) AS title, SUM(new_bookings) AS new_bookings,"
            " SUM(status_changes) AS status_changes, SUM(deletions) AS deletions, SUM(active_revenue) AS revenue"
            f" FROM {self.ns}.{INSIGHTS}{where(*f.conditions(status=False))}"
            " GROUP BY movie_id ORDER BY revenue DESC NULLS LAST, movie_id NULLS LAST"
        )

    def feed(self, f: Filters) -> Table:
        """The latest change events, newest first; an update shows once, as its new image."""
        conds = f.conditions(day="CAST(e.booking_date AS DATE)", status=False, movie="e.movie_id")
        if f.status is not None:
            conds.append(f"e.status = {literal(f.status)}")
        return self.table(
            "SELECT e.change_timestamp, e.change_action, e.is_update, e.booking_id, e.movie_id, m.title,"
            " e.status, e.ticket_count, e.total_amount"
            f" FROM {self.ns}.{EVENTS_TABLE} AS e LEFT JOIN {self.ns}.{MOVIES} AS m ON m.movie_id = e.movie_id"
            f"{where('NOT (e.change_action = ' + literal('DELETE') + ' AND e.is_update)', *conds)}"
            f" ORDER BY e.change_timestamp DESC, e.source_row_id DESC LIMIT {FEED_ROWS}"
        )

    # -- rows, on demand ----------------------------------------------------------------

    def rows(self, f: Filters, *, limit: int, offset: int = 0) -> Table:
        """Current rows (valid or not) matching the filters, newest booking first."""
        return self.table(
            f"SELECT {', '.join(RAW_COLUMNS)} FROM {self.ns}.{FILTERED}{where(*f.conditions())}"
            f" ORDER BY booking_date DESC NULLS LAST, source_row_id LIMIT {int(limit)} OFFSET {int(offset)}"
        )


@dataclass(frozen=True)
class Overview:
    """What the page shows whatever the filters: health, filter options, change totals,
    the leaf table's refresh history."""

    status: StatusReport
    options: Options
    activity: Activity
    refreshes: Table


def read_overview(reader: Reader, database: str, schema: str) -> Overview:
    """The filter-independent part of the page.

    Args:
        reader: a reader on the target.
        database: the pipeline's database (as in the settings).
        schema: the pipeline's schema.
    """
    status = collect_status(reader.wh, database, schema, history=1)
    return Overview(status, reader.options(), reader.activity(), reader.refresh_history(database))


def as_text(value: object) -> str:
    """A cell for the CSV: ISO times, plain numbers, empty for NULL."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value)
