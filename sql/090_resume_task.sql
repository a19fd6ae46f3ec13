-- Tasks are created (and altered) suspended: start the consumer. Applied on every
-- deploy (the line below), since a changed 050 leaves the task suspended.
-- moviecdc: always
ALTER TASK {{ ns }}.consume_stream_task RESUME;
