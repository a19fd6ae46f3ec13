-- Analytics per movie and booking day. The TARGET_LAG sits here, on the leaf:
-- Snowflake never refreshes a DOWNSTREAM table that no dynamic table reads.
-- State figures (bookings, revenue, rates, categories) come from the current state
-- of each booking, so an update is counted once, never as a delete plus an insert.
-- Change metrics come from the events: new bookings (inserts), status changes
-- (update pairs whose status differs) and deletions (deletes that are not updates).
-- Titles come from the movies catalogue.
CREATE OR ALTER DYNAMIC TABLE {{ ns }}.movie_booking_insights
    TARGET_LAG = '{{ target_lag }}'
    WAREHOUSE = {{ warehouse }}
    REFRESH_MODE = INCREMENTAL
    COMMENT = 'Booking analytics per movie and day'
AS
WITH state_facts AS (
    SELECT
        movie_id,
        booking_day,
        1 AS bookings,
        IFF(is_valid_booking, 1, 0) AS valid_bookings,
        IFF(is_valid_booking AND status = 'BOOKED', 1, 0) AS active_bookings,
        IFF(is_valid_booking AND status = 'CANCELLED', 1, 0) AS cancelled_bookings,
        IFF(is_valid_booking, ticket_count, 0) AS tickets,
        active_revenue,
        lost_revenue,
        IFF(is_valid_booking AND booking_size_category = 'SINGLE', 1, 0) AS single_bookings,
        IFF(is_valid_booking AND booking_size_category = 'GROUP', 1, 0) AS group_bookings,
        IFF(is_valid_booking AND booking_size_category = 'LARGE_GROUP', 1, 0) AS large_group_bookings,
        IFF(is_valid_booking AND price_category = 'BUDGET', 1, 0) AS budget_bookings,
        IFF(is_valid_booking AND price_category = 'STANDARD', 1, 0) AS standard_bookings,
        IFF(is_valid_booking AND price_category = 'PREMIUM', 1, 0) AS premium_bookings,
        0 AS new_bookings,
        0 AS status_changes,
        0 AS deletions
    FROM {{ ns }}.movie_bookings_filtered
),
events AS (
    SELECT
        movie_id,
        CAST(booking_date AS DATE) AS booking_day,
        change_action,
        is_update,
        status,
        LAG(status) OVER (
            PARTITION BY source_row_id
            ORDER BY change_timestamp, change_action) AS previous_status
    FROM {{ ns }}.movie_booking_cdc_events
),
change_facts AS (
    SELECT
        movie_id, booking_day,
        0 AS bookings, 0 AS valid_bookings, 0 AS active_bookings, 0 AS cancelled_bookings,
        0 AS tickets, 0 AS active_revenue, 0 AS lost_revenue,
        0 AS single_bookings, 0 AS group_bookings, 0 AS large_group_bookings,
        0 AS budget_bookings, 0 AS standard_bookings, 0 AS premium_bookings,
        IFF(change_action = 'INSERT' AND NOT is_update, 1, 0) AS new_bookings,
        IFF(change_action = 'INSERT' AND is_update
            AND status IS DISTINCT FROM previous_status, 1, 0) AS status_changes,
        IFF(change_action = 'DELETE' AND NOT is_update, 1, 0) AS deletions
    FROM events
),
facts AS (
    SELECT * FROM state_facts
    UNION ALL
    SELECT * FROM change_facts
),
totals AS (
    SELECT
        movie_id,
        booking_day,
        SUM(bookings) AS total_bookings,
        SUM(valid_bookings) AS valid_bookings,
        SUM(active_bookings) AS active_bookings,
        SUM(cancelled_bookings) AS cancelled_bookings,
        SUM(tickets) AS tickets_sold,
        SUM(active_revenue) AS active_revenue,
        SUM(lost_revenue) AS lost_revenue,
        SUM(single_bookings) AS single_bookings,
        SUM(group_bookings) AS group_bookings,
        SUM(large_group_bookings) AS large_group_bookings,
        SUM(budget_bookings) AS budget_bookings,
        SUM(standard_bookings) AS standard_bookings,
        SUM(premium_bookings) AS premium_bookings,
        SUM(new_bookings) AS new_bookings,
        SUM(status_changes) AS status_changes,
        SUM(deletions) AS deletions
    FROM facts
    GROUP BY movie_id, booking_day
)
SELECT
    t.movie_id,
    m.title AS movie_title,
    t.booking_day,
    t.total_bookings,
    t.valid_bookings,
    t.active_bookings,
    t.cancelled_bookings,
    t.tickets_sold,
    t.active_revenue,
    t.lost_revenue,
    ROUND(100 * t.cancelled_bookings / NULLIF(t.valid_bookings, 0), 2) AS cancellation_rate_pct,
    ROUND(100 * t.valid_bookings / NULLIF(t.total_bookings, 0), 2) AS data_quality_score_pct,
    t.single_bookings,
    t.group_bookings,
    t.large_group_bookings,
    t.budget_bookings,
    t.standard_bookings,
    t.premium_bookings,
    t.new_bookings,
    t.status_changes,
    t.deletions
FROM totals AS t
LEFT JOIN {{ ns }}.movies AS m ON m.movie_id = t.movie_id;
