"""The pipeline's object names, as the templates in ``sql/`` create them (one place)."""

from __future__ import annotations

MOVIES = "movies"
SOURCE_TABLE = "raw_movie_bookings"
STREAM = "movie_bookings_stream"
EVENTS_TABLE = "movie_booking_cdc_events"
TASK = "consume_stream_task"
FILTERED = "movie_bookings_filtered"
INSIGHTS = "movie_booking_insights"
DYNAMIC_TABLES = (FILTERED, INSIGHTS)  # in dependency order

ENGINE_SCHEMA = "_moviecdc"  # the local engine's own storage: no user object may live there
