-- Leave the pipeline running. Tasks are created (and altered) suspended, and a
-- suspended dynamic table stays suspended through CREATE OR ALTER, so resume them all.
-- Applied on every deploy (the line below), since a changed 050 leaves the task suspended.
-- moviecdc: always
ALTER DYNAMIC TABLE {{ ns }}.movie_bookings_filtered RESUME;
ALTER DYNAMIC TABLE {{ ns }}.movie_booking_insights RESUME;
ALTER TASK {{ ns }}.consume_stream_task RESUME;
