-- Ordinary Snowflake statements and the rows Snowflake returns (ddl and session).
-- Reference: https://docs.snowflake.com/en/sql-reference/sql/create-table

-- case: temporary table
CREATE TEMPORARY TABLE tmp1 (a INT);
INSERT INTO tmp1 VALUES (1);
SELECT a FROM tmp1;
-- expect
[1]

-- case: alter session
ALTER SESSION SET TIMEZONE = 'UTC';
-- expect ok

-- case: ctas column list
CREATE TABLE c1 (x, y) AS SELECT 1, 'a';
SELECT x, y FROM c1;
-- expect
[1, "a"]

-- case: add two columns
CREATE TABLE ac (id INT);
ALTER TABLE ac ADD COLUMN a INT, b VARCHAR;
INSERT INTO ac VALUES (1, 2, 'z');
SELECT b FROM ac;
-- expect
["z"]

-- case: clone
CREATE TABLE cs (a INT);
INSERT INTO cs VALUES (1),(2);
CREATE TABLE cc CLONE cs;
SELECT count(*) FROM cc;
-- expect
[2]

-- case: comment on
CREATE TABLE co (a INT);
COMMENT ON TABLE co IS 'hello';
SELECT count(*) FROM co;
-- expect
[0]

-- case: cluster by
CREATE TABLE cb (a INT) CLUSTER BY (a);
INSERT INTO cb VALUES (1);
SELECT a FROM cb;
-- expect
[1]

-- case: sequence nextval
CREATE SEQUENCE seq1;
SELECT seq1.nextval;
-- expect
[1]

-- case: autoincrement
CREATE TABLE ai (id INT AUTOINCREMENT, v STRING);
INSERT INTO ai (v) VALUES ('a'),('b');
SELECT id, v FROM ai ORDER BY id;
-- expect
[1, "a"]
[2, "b"]

-- case: identity
CREATE TABLE idt (id INT IDENTITY(1,1), v STRING);
INSERT INTO idt (v) VALUES ('a');
SELECT id FROM idt;
-- expect
[1]

-- case: identifier()
CREATE TABLE idf (a INT);
INSERT INTO idf VALUES (7);
SELECT a FROM IDENTIFIER('idf');
-- expect
[7]

-- case: drop schema with tables
CREATE SCHEMA ds;
CREATE TABLE ds.t (a INT);
DROP SCHEMA ds;
SELECT 1;
-- expect
[1]

-- case: create or replace table
CREATE TABLE cr (a INT);
CREATE OR REPLACE TABLE cr (b STRING);
INSERT INTO cr VALUES ('q');
SELECT b FROM cr;
-- expect
["q"]

-- case: insert overwrite
CREATE TABLE io (a INT);
INSERT INTO io VALUES (1),(2);
INSERT OVERWRITE INTO io VALUES (3);
SELECT a FROM io;
-- expect
[3]

-- case: truncate
CREATE TABLE tr (a INT);
INSERT INTO tr VALUES (1);
TRUNCATE TABLE tr;
SELECT count(*) FROM tr;
-- expect
[0]

-- case: VARCHAR(n) refuses a longer string
CREATE TABLE v (a VARCHAR(3));
INSERT INTO v VALUES ('abcd');
-- expect error 100074

-- case: a typed column list on CREATE TABLE AS SELECT
CREATE TABLE typed (id VARCHAR, n INT) AS SELECT 1, '2';
SELECT id, n FROM typed;
-- expect
["1", 2]

-- case: a column list of the wrong length
CREATE TABLE typed (id VARCHAR) AS SELECT 1, 2;
-- expect error 2026

-- case: the comment of a table
CREATE TABLE c (a INT) COMMENT = 'cheese';
SELECT comment FROM information_schema.tables WHERE table_name = 'C';
-- expect
["cheese"]

-- case: ALTER SESSION SET is listed by SHOW PARAMETERS
ALTER SESSION SET QUERY_TAG = 'nightly';
SHOW PARAMETERS LIKE 'QUERY_TAG';
-- expect first row starts
["QUERY_TAG", "nightly", "", "SESSION"]

-- case: division by zero
SELECT 1 / 0;
-- expect error 100051

-- case: DIV0 answers 0
SELECT div0(1, 0);
-- expect
[0]

-- case: a long VALUES list in a statement the rewrites copy (CREATE ... COMMENT AS SELECT)
CREATE TABLE t (a INT, b VARCHAR(5)) COMMENT = 'c' AS SELECT * FROM VALUES (0, 'x'), (1, 'x'), (2, 'x'), (3, 'x'), (4, 'x'), (5, 'x'), (6, 'x'), (7, 'x'), (8, 'x'), (9, 'x'), (10, 'x'), (11, 'x'), (12, 'x'), (13, 'x'), (14, 'x'), (15, 'x'), (16, 'x'), (17, 'x'), (18, 'x'), (19, 'x'), (20, 'x'), (21, 'x'), (22, 'x'), (23, 'x'), (24, 'x'), (25, 'x'), (26, 'x'), (27, 'x'), (28, 'x'), (29, 'x'), (30, 'x'), (31, 'x'), (32, 'x'), (33, 'x'), (34, 'x'), (35, 'x'), (36, 'x'), (37, 'x'), (38, 'x'), (39, 'x');
SELECT count(*), sum(a), min(b) FROM t;
-- expect
[40, 780, "x"]

-- case: a column's comment in CREATE TABLE
CREATE TABLE cc (a INT COMMENT 'the a', b INT);
SELECT column_name, comment FROM information_schema.columns WHERE table_name = 'CC' ORDER BY ordinal_position;
-- expect
["A", "the a"]
["B", null]
