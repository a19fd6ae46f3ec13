-- A standard stream: every INSERT, UPDATE and DELETE on raw_movie_bookings since
-- the task last consumed it. IF NOT EXISTS keeps the offset (and so every pending
-- change) on redeploy; CREATE OR REPLACE would silently discard them.
CREATE STREAM IF NOT EXISTS {{ ns }}.movie_bookings_stream
    ON TABLE {{ ns }}.raw_movie_bookings
    COMMENT = 'Changes to raw_movie_bookings not yet copied to movie_booking_cdc_events';
