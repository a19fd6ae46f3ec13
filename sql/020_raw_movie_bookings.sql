-- Source table: one row per booking, written by the booking system (or by
-- `moviecdc simulate`). Never CREATE OR REPLACE this table: replacing it drops
-- its change history and makes every stream on it stale.
CREATE TABLE IF NOT EXISTS {{ ns }}.raw_movie_bookings (
    booking_id    STRING,
    customer_id   STRING,
    movie_id      STRING,
    booking_date  TIMESTAMP_NTZ,
    status        STRING,          -- BOOKED or CANCELLED
    ticket_count  INT,
    ticket_price  NUMBER(10, 2),   -- price per ticket
    total_amount  NUMBER(18, 2) AS (ticket_count * ticket_price),
    created_at    TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP(),
    updated_at    TIMESTAMP_NTZ DEFAULT CURRENT_TIMESTAMP()
);
