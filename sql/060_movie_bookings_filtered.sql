-- The current state of every source row, rebuilt from the change events: the newest
-- image of each source_row_id, dropped when that image is a delete. An update's
-- DELETE half is never the newest image: its INSERT half shares the timestamp and
-- sorts after it. Invalid rows (a missing or over-long id, a date outside 2000-2099, an
-- unknown status, no tickets, no price) are kept and flagged, so the data-quality score can
-- count them; titles come from the movies catalogue. TARGET_LAG = DOWNSTREAM: refreshed when movie_booking_insights needs it.
CREATE OR ALTER DYNAMIC TABLE {{ ns }}.movie_bookings_filtered
    TARGET_LAG = DOWNSTREAM
    WAREHOUSE = {{ warehouse }}
    REFRESH_MODE = INCREMENTAL
    COMMENT = 'Current state of each booking with derived fields'
AS
WITH latest AS (
    SELECT *
    FROM {{ ns }}.movie_booking_cdc_events
    QUALIFY ROW_NUMBER() OVER (
        PARTITION BY source_row_id
        ORDER BY change_timestamp DESC, change_action DESC) = 1
),
current_rows AS (
    SELECT
        *,
        COALESCE(
            booking_id IS NOT NULL AND customer_id IS NOT NULL AND movie_id IS NOT NULL
            AND LENGTH(booking_id) <= 64 AND LENGTH(customer_id) <= 64 AND LENGTH(movie_id) <= 64
            AND booking_date >= '2000-01-01' AND booking_date < '2100-01-01'
            AND status IN ('BOOKED', 'CANCELLED')
            AND ticket_count > 0 AND ticket_price > 0,
            FALSE) AS is_valid_booking
    FROM latest
    WHERE change_action = 'INSERT'
)
SELECT
    c.source_row_id,
    c.booking_id,
    c.customer_id,
    c.movie_id,
    m.title AS movie_title,
    m.genre AS movie_genre,
    c.booking_date,
    c.status,
    c.ticket_count,
    c.ticket_price,
    c.total_amount,
    c.created_at,
    c.updated_at,
    IFF(c.is_update, 'UPDATE', 'INSERT') AS last_change_type,
    c.change_timestamp AS last_change_timestamp,
    CAST(c.booking_date AS DATE) AS booking_day,
    HOUR(c.booking_date) AS booking_hour,
    DAYOFWEEK(c.booking_date) AS booking_day_of_week,   -- 0 = Sunday
    CASE c.status WHEN 'BOOKED' THEN 'ACTIVE' WHEN 'CANCELLED' THEN 'INACTIVE' END
        AS booking_status_category,
    CASE
        WHEN c.ticket_count = 1 THEN 'SINGLE'
        WHEN c.ticket_count BETWEEN 2 AND 4 THEN 'GROUP'
        WHEN c.ticket_count >= 5 THEN 'LARGE_GROUP'
    END AS booking_size_category,
    CASE
        WHEN c.ticket_price < 10 THEN 'BUDGET'
        WHEN c.ticket_price <= 20 THEN 'STANDARD'
        WHEN c.ticket_price > 20 THEN 'PREMIUM'
    END AS price_category,
    c.is_valid_booking,
    IFF(c.is_valid_booking AND c.status = 'BOOKED', c.total_amount, 0) AS active_revenue,
    IFF(c.is_valid_booking AND c.status = 'CANCELLED', c.total_amount, 0) AS lost_revenue
FROM current_rows AS c
LEFT JOIN {{ ns }}.movies AS m ON m.movie_id = c.movie_id;
