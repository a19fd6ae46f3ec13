-- Change capture through ordinary statements: MERGE into a table with a stream is captured
-- like the DML it amounts to, and MERGE from a stream consumes it.
-- Reference: https://docs.snowflake.com/en/user-guide/streams-intro

-- case: MERGE into a table with a stream: its changes as the stream reports them
CREATE TABLE tgt (id INT, name STRING);
INSERT INTO tgt VALUES (1, 'old'), (3, 'gone');
CREATE STREAM tgt_changes ON TABLE tgt;
CREATE TABLE src (id INT, name STRING, del BOOLEAN);
INSERT INTO src VALUES (1, 'new', FALSE), (2, 'two', FALSE), (3, NULL, TRUE);
MERGE INTO tgt t USING src s ON t.id = s.id
    WHEN MATCHED AND s.del THEN DELETE
    WHEN MATCHED THEN UPDATE SET t.name = s.name
    WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
SELECT id, name, METADATA$ACTION, METADATA$ISUPDATE FROM tgt_changes ORDER BY id, METADATA$ACTION;
-- expect
[1, "old", "DELETE", true]
[1, "new", "INSERT", true]
[2, "two", "INSERT", false]
[3, "gone", "DELETE", false]

-- case: MERGE into a table with a stream: the counts
CREATE TABLE tgt (id INT, name STRING);
INSERT INTO tgt VALUES (1, 'old'), (3, 'gone');
CREATE STREAM tgt_changes ON TABLE tgt;
CREATE TABLE src (id INT, name STRING, del BOOLEAN);
INSERT INTO src VALUES (1, 'new', FALSE), (2, 'two', FALSE), (3, NULL, TRUE);
MERGE INTO tgt t USING src s ON t.id = s.id
    WHEN MATCHED AND s.del THEN DELETE
    WHEN MATCHED THEN UPDATE SET t.name = s.name
    WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
-- expect
[1, 1, 1]

-- case: MERGE from a stream consumes it
CREATE TABLE raw (id INT, name STRING);
CREATE STREAM raw_changes ON TABLE raw;
CREATE TABLE cur (id INT, name STRING);
INSERT INTO raw VALUES (1, 'a'), (2, 'b');
MERGE INTO cur c USING (SELECT * FROM raw_changes WHERE METADATA$ACTION = 'INSERT') s ON c.id = s.id
    WHEN MATCHED THEN UPDATE SET c.name = s.name
    WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
SELECT count(*) FROM raw_changes;
-- expect
[0]

-- case: MERGE from a stream into a table with its own stream (the standard CDC pattern)
CREATE TABLE raw (id INT, name STRING);
CREATE STREAM raw_changes ON TABLE raw;
CREATE TABLE cur (id INT, name STRING);
CREATE STREAM cur_changes ON TABLE cur;
INSERT INTO raw VALUES (1, 'a'), (2, 'b');
MERGE INTO cur c USING (SELECT * FROM raw_changes WHERE METADATA$ACTION = 'INSERT') s ON c.id = s.id
    WHEN MATCHED THEN UPDATE SET c.name = s.name WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
UPDATE raw SET name = 'z' WHERE id = 1;
MERGE INTO cur c USING (SELECT * FROM raw_changes WHERE METADATA$ACTION = 'INSERT') s ON c.id = s.id
    WHEN MATCHED THEN UPDATE SET c.name = s.name WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
SELECT id, name, METADATA$ACTION FROM cur_changes ORDER BY id;
-- expect
[1, "z", "INSERT"]
[2, "b", "INSERT"]

-- case: CREATE TABLE AS SELECT from a stream consumes it
CREATE TABLE raw (id INT);
CREATE STREAM raw_changes ON TABLE raw;
INSERT INTO raw VALUES (1), (2);
CREATE TABLE copied AS SELECT id FROM raw_changes;
SELECT (SELECT count(*) FROM copied), (SELECT count(*) FROM raw_changes);
-- expect
[2, 0]

-- case: a dynamic table formats dates as asked
CREATE TABLE ev (ts TIMESTAMP_NTZ);
INSERT INTO ev VALUES ('2024-03-05 13:14:15');
CREATE DYNAMIC TABLE months TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT to_char(ts, 'YYYY-MM') AS m FROM ev;
SELECT m FROM months;
-- expect
["2024-03"]

-- case: ALTER STREAM SET COMMENT
CREATE TABLE t (a INT);
CREATE STREAM s ON TABLE t;
ALTER STREAM s SET COMMENT = 'new comment';
SHOW STREAMS LIKE 'S';
-- expect some rows

-- case: ALTER TASK ADD AFTER makes it a child task
CREATE TABLE t (a INT);
CREATE TASK root SCHEDULE = '1 MINUTE' AS INSERT INTO t VALUES (1);
CREATE TASK child AS INSERT INTO t VALUES (2);
ALTER TASK child ADD AFTER root;
EXECUTE TASK child;
-- expect error

-- case: ALTER TASK REMOVE AFTER makes it a root again
CREATE TABLE t (a INT);
CREATE TASK root SCHEDULE = '1 MINUTE' AS INSERT INTO t VALUES (1);
CREATE TASK child AFTER root AS INSERT INTO t VALUES (2);
ALTER TASK child REMOVE AFTER root;
EXECUTE TASK child;
SELECT a FROM t;
-- expect
[2]

-- case: a dynamic table with CLUSTER BY
CREATE TABLE src (id INT);
INSERT INTO src VALUES (1);
CREATE DYNAMIC TABLE d TARGET_LAG = '1 hour' WAREHOUSE = wh CLUSTER BY (id) AS SELECT id FROM src;
SELECT id FROM d;
-- expect
[1]
