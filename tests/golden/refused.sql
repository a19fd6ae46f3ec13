-- What the local engine refuses rather than answer differently from Snowflake: each case
-- is a statement Snowflake runs, and the one-line refusal must name the construct.

-- case: implicit cast of a VARCHAR to a number
SELECT sum(v) FROM (SELECT '1' v UNION ALL SELECT '2');
-- expect refused implicit cast of a VARCHAR argument in SUM

-- case: TO_VARCHAR with a numeric format
SELECT to_varchar(12.5, '999.99');
-- expect refused numeric format

-- case: a date format element without an exact equivalent
SELECT to_varchar('2024-01-01 10:00:00'::timestamp_tz, 'YYYY-MM-DD TZH:TZM');
-- expect refused date format element

-- case: an INFORMATION_SCHEMA view the engine does not have
SELECT * FROM information_schema.load_history;
-- expect refused INFORMATION_SCHEMA.LOAD_HISTORY

-- case: change tracking on a temporary table
CREATE TEMPORARY TABLE tt (a INT) CHANGE_TRACKING = TRUE;
-- expect refused CHANGE_TRACKING on a temporary table

-- case: a system function other than SYSTEM$STREAM_HAS_DATA
SELECT SYSTEM$CLUSTERING_INFORMATION('t');
-- expect refused SYSTEM$CLUSTERING_INFORMATION

-- case: SHOW of objects the engine does not have
SHOW WAREHOUSES;
-- expect refused SHOW WAREHOUSES
