-- Ordinary Snowflake statements and the rows Snowflake returns (queries).
-- Reference: https://docs.snowflake.com/en/sql-reference/functions-all

-- case: values column names
SELECT column1, column2 FROM VALUES (1,'a'),(2,'b') ORDER BY column1;
-- expect
[1, "a"]
[2, "b"]


-- case: regexp_substr
SELECT regexp_substr('abc123def', '[0-9]+');
-- expect
["123"]

-- case: regexp_substr group
SELECT regexp_substr('key=val', '(\\w+)=(\\w+)', 1, 1, 'e', 2);
-- expect
["val"]

-- case: real precision
CREATE TABLE rl (x REAL);
INSERT INTO rl VALUES (1.23);
SELECT x FROM rl;
-- expect
[1.23]

-- case: float column
CREATE TABLE fl (x FLOAT);
INSERT INTO fl VALUES (1.1);
SELECT x FROM fl;
-- expect
[1.1]

-- case: iff
SELECT iff(1 < 2, 'y', 'n');
-- expect
["y"]

-- case: nvl
SELECT nvl(null, 5);
-- expect
[5]

-- case: zeroifnull
SELECT zeroifnull(null);
-- expect
[0]

-- case: div0
SELECT div0(1, 0);
-- expect
[0]

-- case: listagg
SELECT listagg(x, ',') WITHIN GROUP (ORDER BY x) FROM (SELECT column1 x FROM VALUES ('b'),('a'));
-- expect
["a,b"]

-- case: division scale
SELECT 7 / 2;
-- expect
[3.5]

-- case: ilike
SELECT 'abc' ILIKE 'A%';
-- expect
[true]

-- case: lpad
SELECT lpad('5', 3, '0');
-- expect
["005"]

-- case: decode
SELECT decode(2, 1, 'one', 2, 'two', 'other');
-- expect
["two"]

-- case: try_cast
SELECT try_cast('x' AS int);
-- expect
[null]

-- case: count_if
SELECT count_if(x > 1) FROM (SELECT column1 x FROM VALUES (1),(2),(3));
-- expect
[2]

-- case: md5
SELECT md5('a');
-- expect
["0cc175b9c0f1b6a831c399e269772661"]

-- case: sha2
SELECT sha2('a');
-- expect
["ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"]

-- case: qualify
SELECT x FROM (SELECT column1 x FROM VALUES (3),(1)) QUALIFY row_number() OVER (ORDER BY x) = 1;
-- expect
[1]

-- case: equal_null
SELECT equal_null(null, null);
-- expect
[true]

-- case: boolor
SELECT boolor_agg(x) FROM (SELECT column1 x FROM VALUES (true),(false));
-- expect
[true]

-- case: integer division type
SELECT 10 / 4 * 2;
-- expect
[5]

-- case: round half
SELECT round(2.5);
-- expect
[3]

-- case: string to number compare
SELECT '10' > 9;
-- expect
[true]

-- case: char length
SELECT length('héllo');
-- expect
[5]

-- case: concat_ws
SELECT concat_ws('-', 'a', 'b');
-- expect
["a-b"]

-- case: startswith
SELECT startswith('abc', 'ab');
-- expect
[true]

-- case: charindex
SELECT charindex('c', 'abc');
-- expect
[3]

-- case: to_number
SELECT to_number('12.34', 10, 2);
-- expect
[12.34]

-- case: cast number scale
SELECT 1.005::number(10,2);
-- expect
[1.01]

