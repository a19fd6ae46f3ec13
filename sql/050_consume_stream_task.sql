-- Copies the stream into the events table. By default a triggered task: no SCHEDULE, so
-- Snowflake runs it when the stream has data (at most every 30 seconds, the default of
-- USER_TASK_MINIMUM_TRIGGER_INTERVAL_IN_SECONDS) and never while it is empty. It runs on
-- a warehouse (WAREHOUSE = ...); a serverless triggered task would need
-- TARGET_COMPLETION_INTERVAL instead. `--var task_mode=scheduled` gives the scheduled
-- variant: every task_schedule, with the same WHEN guard (checked without a warehouse:
-- a run with an empty stream is SKIPPED and costs nothing).
-- One INSERT ... SELECT is one transaction: the events are written and the stream's
-- offset advances together, or neither.
-- CREATE OR ALTER resets what the statement leaves out, so switching variants sets or
-- unsets the schedule and keeps the task's history and the stream's offset.
-- A started task cannot be altered, so suspend it first; 090 resumes it.
ALTER TASK IF EXISTS {{ ns }}.consume_stream_task SUSPEND;

CREATE OR ALTER TASK {{ ns }}.consume_stream_task
    WAREHOUSE = {{ warehouse }}
{%- if task_mode == "scheduled" %}
    SCHEDULE = '{{ task_schedule }}'
{%- endif %}
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
