-- Tasks are created (and altered) suspended: start the consumer.
ALTER TASK {{ ns }}.consume_stream_task RESUME;
