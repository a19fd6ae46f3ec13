-- Ordinary Snowflake statements and the rows Snowflake returns (metadata).
-- Reference: https://docs.snowflake.com/en/sql-reference/info-schema

-- case: information_schema upper
CREATE TABLE m1 (a INT);
SELECT table_name FROM information_schema.tables WHERE table_name = 'M1';
-- expect
["M1"]

-- case: information_schema columns type
CREATE TABLE m2 (a INT, b VARCHAR);
SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'M2' ORDER BY ordinal_position;
-- expect
["A", "NUMBER"]
["B", "TEXT"]

-- case: current_schema after use
CREATE SCHEMA s1;
USE SCHEMA s1;
SELECT current_schema();
-- expect
["S1"]

-- case: use missing schema fails
USE SCHEMA no_such_schema_x;
-- expect error

-- case: missing table error
SELECT * FROM no_such_table_x;
-- expect error

-- case: show tables
CREATE TABLE sh1 (a INT);
SHOW TABLES LIKE 'SH1';
-- expect some rows

-- case: describe table type
CREATE TABLE dt1 (a INT);
DESCRIBE TABLE dt1;
-- expect first row starts
["A", "NUMBER(38,0)"]

-- case: unquoted upper
CREATE TABLE uq (MixedCase INT);
INSERT INTO uq VALUES (1);
SELECT mixedcase FROM uq;
-- expect
[1]

-- case: DESCRIBE gives Snowflake's types
CREATE TABLE d (b VARCHAR(10) NOT NULL);
DESCRIBE TABLE d;
-- expect first row starts
["B", "VARCHAR(10)", "COLUMN", "N"]

-- case: INFORMATION_SCHEMA.COLUMNS gives Snowflake's types
CREATE TABLE d (a INT, b VARCHAR(10), c NUMBER(10, 2), d TIMESTAMP_NTZ, e VARIANT, f BOOLEAN, g FLOAT, h DATE);
SELECT column_name, data_type, character_maximum_length, numeric_precision, numeric_scale
FROM information_schema.columns WHERE table_name = 'D' ORDER BY ordinal_position;
-- expect
["A", "NUMBER", null, 38, 0]
["B", "TEXT", 10, null, null]
["C", "NUMBER", null, 10, 2]
["D", "TIMESTAMP_NTZ", null, null, null]
["E", "VARIANT", null, null, null]
["F", "BOOLEAN", null, null, null]
["G", "FLOAT", null, null, null]
["H", "DATE", null, null, null]

-- case: the engine's own storage is not listed
CREATE TABLE t (a INT) CHANGE_TRACKING = TRUE;
CREATE STREAM s ON TABLE t;
SELECT table_name, table_type FROM information_schema.tables ORDER BY 1;
-- expect
["T", "BASE TABLE"]

-- case: CURRENT_DATABASE names the database, not DuckDB's catalog
SELECT current_database();
-- expect
["MOVIECDC"]

-- case: a missing table has Snowflake's error code
SELECT * FROM no_such_table;
-- expect error 2003
