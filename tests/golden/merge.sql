-- Ordinary Snowflake statements and the rows Snowflake returns (merge).
-- Reference: https://docs.snowflake.com/en/sql-reference/sql/merge

-- case: merge qualified set
CREATE TABLE mt (id INT, name STRING);
INSERT INTO mt VALUES (1,'old');
CREATE TABLE ms (id INT, name STRING);
INSERT INTO ms VALUES (1,'new'),(2,'two');
MERGE INTO mt t USING ms s ON t.id = s.id WHEN MATCHED THEN UPDATE SET t.name = s.name WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
SELECT id, name FROM mt ORDER BY id;
-- expect
[1, "new"]
[2, "two"]

-- case: merge result counts
CREATE TABLE mt2 (id INT, name STRING);
INSERT INTO mt2 VALUES (1,'old');
CREATE TABLE ms2 (id INT, name STRING);
INSERT INTO ms2 VALUES (1,'new'),(2,'two');
MERGE INTO mt2 t USING ms2 s ON t.id = s.id WHEN MATCHED THEN UPDATE SET name = s.name WHEN NOT MATCHED THEN INSERT (id, name) VALUES (s.id, s.name);
-- expect
[1, 1]

-- case: merge delete
CREATE TABLE md (id INT);
INSERT INTO md VALUES (1),(2);
CREATE TABLE mds (id INT);
INSERT INTO mds VALUES (1);
MERGE INTO md USING mds ON md.id = mds.id WHEN MATCHED THEN DELETE;
SELECT id FROM md;
-- expect
[2]
