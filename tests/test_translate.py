"""Snowflake → DuckDB translation: parameters, markers and the rewrite rules."""

from __future__ import annotations

import pytest

from moviecdc.emulator import translate as tr
from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError, UnsupportedSqlError


@pytest.mark.parametrize(
    ("snowflake", "expected"),
    [
        pytest.param(
            "SELECT IFF(a > 1, 'x', 'y') FROM t", "SELECT CASE WHEN A > 1 THEN 'x' ELSE 'y' END FROM T", id="iff"
        ),
        pytest.param("SELECT a::DATE FROM t", "SELECT CAST(A AS DATE) FROM T", id="cast"),
        pytest.param("SELECT * FROM db.s.t", "SELECT * FROM S.T", id="strip-database"),
        pytest.param("SELECT a FROM t WHERE b = ?", "SELECT A FROM T WHERE B = ?", id="bound-parameter"),
        # unquoted identifiers fold to upper case, as Snowflake names them; quoted ones keep theirs
        pytest.param('SELECT "a", b AS c FROM t', 'SELECT "a", B AS C FROM T', id="identifier-case"),
    ],
)
def test_translation(snowflake: str, expected: str) -> None:
    class NoObjects:
        def stream_sql(self, table: object) -> None:
            return None

        def stream_has_data(self, name: str) -> bool:
            raise AssertionError

        def table_function_sql(self, name: str, kwargs: dict[str, object]) -> str:
            raise AssertionError

        def statement_time_sql(self) -> str:
            return "TIMESTAMP '2025-01-01'"

        def schema_in_other_case(self, schema: str) -> None:
            return None

    ctx = tr.Context(resolver=NoObjects())
    sql, params = tr.render(tr.apply_rules(tr.parse(snowflake), ctx), ctx, [1])
    assert sql == expected
    assert params == ([1] if "?" in snowflake else [])


def test_parameters_bind_in_order_across_split_statements(engine: Engine) -> None:
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("CREATE STREAM s ON TABLE t")
    engine.execute("INSERT INTO t VALUES (?, ?), (?, ?)", [1, "a", 2, "b"])
    engine.execute("UPDATE t SET v = ? WHERE id = ? AND v = ?", ["z", 2, "b"])
    assert engine.execute("SELECT v FROM t ORDER BY id").rows == [("a",), ("z",)]
    assert engine.execute("SELECT count(*) FROM s WHERE METADATA$ACTION = ?", ["INSERT"]).scalar() == 2


def test_values_are_never_parsed_as_sql(engine: Engine) -> None:
    engine.execute("CREATE TABLE t (v STRING)")
    evil = "x'); DROP TABLE t; --"
    engine.execute("INSERT INTO t VALUES (?)", [evil])
    assert engine.execute("SELECT v FROM t").scalar() == evil


def test_missing_parameter_is_an_error(engine: Engine) -> None:
    with pytest.raises(SqlError, match="bind parameter"):
        engine.execute("SELECT ? + ?", [1])


def test_syntax_error_names_the_position(engine: Engine) -> None:
    with pytest.raises(SqlError, match="line 1"):
        engine.execute("SELECT FROM WHERE")


def test_unsupported_statement_is_named(engine: Engine) -> None:
    with pytest.raises(UnsupportedSqlError, match="SHOW"):
        engine.execute("SHOW WAREHOUSES")


def test_current_timestamp_is_the_engine_clock_and_increases(engine: Engine) -> None:
    first = engine.execute("SELECT CURRENT_TIMESTAMP()").scalar()
    second = engine.execute("SELECT CURRENT_TIMESTAMP()").scalar()
    assert first.year == 2025 and second > first  # type: ignore[union-attr,operator]


def test_information_schema_functions_reject_unknown_arguments(engine: Engine) -> None:
    with pytest.raises(SqlError, match="BOGUS"):
        engine.execute("SELECT * FROM TABLE(INFORMATION_SCHEMA.TASK_HISTORY(BOGUS => 1))")


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT ROW_NUMBER() OVER (ORDER BY SEQ8()) AS n, SEQ8() AS s FROM TABLE(GENERATOR(ROWCOUNT => 50))",
        "SELECT 100 + ROW_NUMBER() OVER (ORDER BY SEQ4()) AS n FROM TABLE(GENERATOR(ROWCOUNT => 7)) g",
        # not the counter: a filter, a descending order, a partition renumber the rows
        "SELECT ROW_NUMBER() OVER (ORDER BY SEQ8()) AS n FROM TABLE(GENERATOR(ROWCOUNT => 20)) WHERE SEQ8() % 3 = 0",
        "SELECT ROW_NUMBER() OVER (ORDER BY SEQ8() DESC) AS n, SEQ8() AS s FROM TABLE(GENERATOR(ROWCOUNT => 9))",
        "SELECT ROW_NUMBER() OVER (PARTITION BY SEQ8() % 2 ORDER BY SEQ8()) AS n, SEQ8() AS s"
        " FROM TABLE(GENERATOR(ROWCOUNT => 9))",
    ],
)
def test_generator_row_numbers_are_the_counter_only_where_they_equal_it(engine: Engine, sql: str) -> None:
    """Without the shortcut (the same query with its ORDER BY key wrapped, which the
    rewrite leaves alone) the numbers are the same."""
    plain = sql.replace("ORDER BY SEQ8()", "ORDER BY SEQ8() + 0").replace("ORDER BY SEQ4()", "ORDER BY SEQ4() + 0")
    assert sorted(engine.execute(sql).rows) == sorted(engine.execute(plain).rows)
    assert engine.execute(sql).rows
