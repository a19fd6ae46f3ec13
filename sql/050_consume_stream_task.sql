-- Copies the stream into the events table on a schedule. The WHEN guard is checked
-- without a warehouse: when the stream is empty the run is SKIPPED and costs nothing.
-- One INSERT ... SELECT is one transaction: the events are written and the stream's
-- offset advances together, or neither.
-- A started task cannot be altered, so suspend it first; 090 resumes it.
ALTER TASK IF EXISTS {{ ns }}.consume_stream_task SUSPEND;

CREATE OR ALTER TASK {{ ns }}.consume_stream_task
    WAREHOUSE = {{ warehouse }}
    SCHEDULE = '{{ task_schedule }}'
    COMMENT = 'Copies movie_bookings_stream into movie_booking_cdc_events'
    WHEN SYSTEM$STREAM_HAS_DATA('{{ ns }}.movie_bookings_stream')
AS
    INSERT INTO {{ ns }}.movie_booking_cdc_events (
        booking_id, customer_id, movie_id, booking_date, status, ticket_count,
        ticket_price, total_amount, created_at, updated_at,
        change_action, is_update, source_row_id, change_timestamp)
    SELECT
        booking_id, customer_id, movie_id, booking_date, status, ticket_count,
        ticket_price, total_amount, created_at, updated_at,
        METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID, CURRENT_TIMESTAMP()
    FROM {{ ns }}.movie_bookings_stream;
