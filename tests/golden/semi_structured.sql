-- Ordinary Snowflake statements and the rows Snowflake returns (semi structured).
-- Reference: https://docs.snowflake.com/en/user-guide/querying-semistructured

-- case: json path string
SELECT parse_json('{"a":"x"}'):a::varchar;
-- expect
["x"]

-- case: json path nested index
SELECT parse_json('{"a":{"b":[1,2,3]}}'):a.b[1]::int;
-- expect
[2]

-- case: variant column path
CREATE TABLE vt (j VARIANT);
INSERT INTO vt SELECT parse_json('{"str":"hello","n":5}');
SELECT j:str::varchar, j:n::int FROM vt;
-- expect
["hello", 5]

-- case: variant bracket path
CREATE TABLE vt2 (j VARIANT);
INSERT INTO vt2 SELECT parse_json('{"Str":"hi"}');
SELECT j['Str']::string FROM vt2;
-- expect
["hi"]

-- case: json path missing is null
SELECT parse_json('{"a":1}'):missing IS NULL;
-- expect
[true]

-- case: array_size
SELECT array_size(parse_json('[1,2,3]'));
-- expect
[3]

-- case: array_size construct
SELECT array_size(array_construct(1,2,3,4));
-- expect
[4]

-- case: object_construct drops nulls
SELECT object_construct('a',1,'b',null);
-- expect
[{"a": 1}]

-- case: object_construct_keep_null
SELECT object_construct_keep_null('a',1,'b',null);
-- expect
[{"a": 1, "b": null}]

-- case: table flatten
SELECT f.value::int FROM TABLE(FLATTEN(input => parse_json('[1,2,3]'))) f ORDER BY 1;
-- expect
[1]
[2]
[3]

-- case: lateral flatten
CREATE TABLE lf (id INT, arr VARIANT);
INSERT INTO lf SELECT 1, parse_json('["a","b"]');
SELECT id, f.value::string FROM lf, LATERAL FLATTEN(input => lf.arr) f ORDER BY f.index;
-- expect
[1, "a"]
[1, "b"]

-- case: flatten object keys
SELECT f.key, f.value::int FROM TABLE(FLATTEN(input => parse_json('{"x":1,"y":2}'))) f ORDER BY f.key;
-- expect
["x", 1]
["y", 2]

-- case: get index
SELECT get(parse_json('[10,20]'), 1)::int;
-- expect
[20]

-- case: array_contains
SELECT array_contains(2::variant, array_construct(1,2,3));
-- expect
[true]

-- case: object_agg
SELECT object_agg(k, v::variant) FROM (SELECT 'a' k, 1 v UNION ALL SELECT 'b', 2);
-- expect
[{"a": 1, "b": 2}]

-- case: array_agg within group
SELECT array_agg(x) WITHIN GROUP (ORDER BY x) FROM (SELECT column1 x FROM VALUES (3),(1),(2));
-- expect
[[1, 2, 3]]

-- case: array column
CREATE TABLE ta (a ARRAY);
INSERT INTO ta SELECT array_construct(1,2);
SELECT array_size(a) FROM ta;
-- expect
[2]

-- case: object column
CREATE TABLE tob (o OBJECT);
INSERT INTO tob SELECT object_construct('k','v');
SELECT o:k::string FROM tob;
-- expect
["v"]

-- case: variant equals string
SELECT parse_json('{"a":"x"}'):a::string = 'x';
-- expect
[true]

-- case: variant concat
SELECT parse_json('{"a":"x"}'):a::string || 'y';
-- expect
["xy"]

-- case: array_construct mixed
SELECT array_construct(1, 'a');
-- expect
[[1, "a"]]

-- case: parse_json number
SELECT parse_json('{"n": 1.5}'):n::float;
-- expect
[1.5]

-- case: try_parse_json bad
SELECT try_parse_json('{bad');
-- expect
[null]

-- case: split
SELECT split('a,b', ',');
-- expect
[["a", "b"]]

-- case: split_part
SELECT split_part('a,b,c', ',', 2);
-- expect
["b"]
