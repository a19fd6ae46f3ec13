-- Ordinary Snowflake statements and the rows Snowflake returns (dates).
-- Reference: https://docs.snowflake.com/en/sql-reference/functions-date-time

-- case: to_varchar date format
SELECT to_varchar('2024-03-05'::date, 'mm/dd/yyyy');
-- expect
["03/05/2024"]

-- case: to_char timestamp format
SELECT to_char('2024-03-05 13:14:15'::timestamp_ntz, 'YYYY-MM');
-- expect
["2024-03"]

-- case: to_char HH24:MI
SELECT to_char('2024-03-05 13:14:15'::timestamp_ntz, 'HH24:MI:SS');
-- expect
["13:14:15"]

-- case: dateadd string
SELECT dateadd('hour', 3, '2023-04-02 01:15:00');
-- expect
["2023-04-02T04:15:00"]

-- case: dateadd date stays date
SELECT dateadd(day, 1, '2024-01-31'::date);
-- expect
["2024-02-01"]

-- case: date_trunc time
SELECT date_trunc('minute', '12:34:56'::time);
-- expect
["12:34:00"]

-- case: epoch to timestamp
SELECT 1748179630::timestamp;
-- expect
["2025-05-25T13:27:10"]

-- case: to_timestamp_ntz
SELECT to_timestamp_ntz('2024-01-02 03:04:05');
-- expect
["2024-01-02T03:04:05"]

-- case: date full month name
SELECT '03-April-2024'::date;
-- expect
["2024-04-03"]

-- case: date dd-mon-yyyy
SELECT '03-Apr-2024'::date;
-- expect
["2024-04-03"]

-- case: datediff
SELECT datediff(day, '2024-01-01', '2024-03-01');
-- expect
[60]

-- case: last_day
SELECT last_day('2024-02-10'::date);
-- expect
["2024-02-29"]

-- case: dayname
SELECT dayname('2024-03-05'::date);
-- expect
["Tue"]

-- case: monthname
SELECT monthname('2024-03-05'::date);
-- expect
["Mar"]

-- case: to_date format
SELECT to_date('03/05/2024', 'MM/DD/YYYY');
-- expect
["2024-03-05"]

-- case: date_part
SELECT date_part(year, '2024-03-05'::date);
-- expect
[2024]

-- case: dayofweek
SELECT dayofweek('2024-03-05'::date);
-- expect
[2]

-- case: timestamp_tz offset
SELECT '2024-01-01 10:00:00 +09:00'::timestamp_tz;
-- expect
["2024-01-01T01:00:00+00:00"]

-- case: timestampadd
SELECT timestampadd(minute, 30, '2024-01-01 00:00:00'::timestamp_ntz);
-- expect
["2024-01-01T00:30:00"]

-- case: add_months end
SELECT add_months('2024-01-31'::date, 1);
-- expect
["2024-02-29"]

-- case: time value
SELECT '13:14:15'::time;
-- expect
["13:14:15"]
