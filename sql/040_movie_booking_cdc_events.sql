-- Every change the stream reported, exactly once, with its stream metadata.
-- An UPDATE arrives as two rows sharing source_row_id, both with is_update = TRUE:
-- change_action = 'DELETE' holds the old image, 'INSERT' the new one.
-- change_timestamp is the consuming task run's statement time: one value per run,
-- increasing from run to run. Within one run a row appears at most twice (an update
-- pair), so (change_timestamp, change_action = 'INSERT') orders every image of a row.
CREATE TABLE IF NOT EXISTS {{ ns }}.movie_booking_cdc_events (
    booking_id        STRING,
    customer_id       STRING,
    movie_id          STRING,
    booking_date      TIMESTAMP_NTZ,
    status            STRING,
    ticket_count      INT,
    ticket_price      NUMBER(10, 2),
    total_amount      NUMBER(18, 2),
    created_at        TIMESTAMP_NTZ,
    updated_at        TIMESTAMP_NTZ,
    change_action     STRING,         -- METADATA$ACTION: 'INSERT' or 'DELETE', never 'UPDATE'
    is_update         BOOLEAN,        -- METADATA$ISUPDATE
    source_row_id     STRING,         -- METADATA$ROW_ID: the source row, stable across updates
    change_timestamp  TIMESTAMP_LTZ   -- when the task consumed the change
);
