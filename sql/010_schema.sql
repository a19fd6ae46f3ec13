-- The schema that holds the whole pipeline.
-- On Snowflake the database ({{ database }}) must already exist; the schema is
-- created if it is missing and never replaced.
CREATE SCHEMA IF NOT EXISTS {{ ns }};
