"""Session variables on the local engine: SET, UNSET, SHOW VARIABLES and ``$name``."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from moviecdc.clock import ManualClock
from moviecdc.dialect.split import split_statements
from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.warehouse.local import LocalWarehouse

META = "METADATA$ACTION, METADATA$ISUPDATE"
OK = [("Statement executed successfully.",)]


def test_changes_at_a_timestamp_held_in_a_variable(engine: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/constructs/changes (the examples keep the
    start in a variable: SET ts1 = (SELECT CURRENT_TIMESTAMP()), then AT(TIMESTAMP => $ts1))."""
    engine.execute("CREATE OR REPLACE TABLE shows (id NUMBER, title VARCHAR)")
    engine.execute("ALTER TABLE shows SET CHANGE_TRACKING = TRUE")
    assert engine.execute("SET ts1 = (SELECT CURRENT_TIMESTAMP())").rows == OK
    clock.advance(5)
    engine.execute("INSERT INTO shows (id, title) VALUES (1, 'dune'), (2, 'heat')")
    clock.advance(5)
    engine.execute("DELETE FROM shows WHERE id = 2")
    clock.advance(5)
    default = f"SELECT id, title, {META} FROM shows CHANGES(INFORMATION => DEFAULT) AT(TIMESTAMP => $ts1)"
    assert engine.execute(default).rows == [(1, "dune", "INSERT", False)]
    append_only = f"SELECT id, {META} FROM shows CHANGES(INFORMATION => APPEND_ONLY) AT(TIMESTAMP => $ts1) ORDER BY id"
    assert engine.execute(append_only).rows == [(1, "INSERT", False), (2, "INSERT", False)]
    ts1 = engine.execute("SELECT $ts1").scalar()
    assert ts1 == datetime(2025, 9, 1, 12, 0, tzinfo=UTC)  # the engine clock, when SET ran


def test_an_undefined_variable_is_named(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/session-variables (a variable must be set
    before it is used)."""
    with pytest.raises(SqlError, match=re.escape("Session variable '$NOPE' does not exist")) as err:
        engine.execute("SELECT $nope + 1")
    assert err.value.errno == 2211 and "parameters" not in err.value.message
    with pytest.raises(SqlError, match=re.escape("Session variable '$NOPE' does not exist")):
        engine.execute("UNSET nope")


def test_set_unset_and_show_variables(engine: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/set, .../sql/unset and
    .../sql/show-variables (several at once; every right-hand side is evaluated before any
    variable is set; names are case-insensitive; LIKE filters by name)."""
    engine.execute("SET V1 = 10")
    engine.execute("SET v2 = 'example'")
    engine.execute("SET (min, max) = (40, 70)")
    clock.advance(1)
    engine.execute("SET (min, max) = (50, 2 * $min)")
    assert engine.execute("SELECT $max, $Min, $v1, $V2").rows == [(80, 50, 10, "example")]
    assert engine.execute("SELECT $max").columns == ["$MAX"]
    shown = engine.execute("SHOW VARIABLES").dicts()
    assert list(shown[0]) == ["session_id", "created_on", "updated_on", "name", "value", "type", "comment"]
    assert [(v["name"], v["value"], v["type"]) for v in shown] == [
        ("V1", "10", "fixed"),
        ("V2", "example", "text"),
        ("MIN", "50", "fixed"),
        ("MAX", "80", "fixed"),
    ]
    maximum = shown[3]
    assert maximum["updated_on"] > maximum["created_on"]  # SET again keeps created_on
    assert [v["name"] for v in engine.execute("SHOW VARIABLES LIKE 'm%'").dicts()] == ["MIN", "MAX"]
    assert engine.execute("UNSET V1").rows == OK
    engine.execute("UNSET (min, max)")
    assert [v["name"] for v in engine.execute("SHOW VARIABLES").dicts()] == ["V2"]
    with pytest.raises(SqlError, match=re.escape("'$MIN' does not exist")):
        engine.execute("SELECT $min")


def test_variables_in_where_and_insert_values(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/session-variables (a variable can be used
    wherever a literal constant can); bind parameters still bind alongside."""
    engine.execute("CREATE TABLE bookings (id INT, seats INT, title STRING, booked_on DATE)")
    engine.execute("SET (seats, title, day) = (4, 'dune', '2025-09-01'::DATE)")
    engine.execute("INSERT INTO bookings VALUES (1, $seats, $title, $day), (?, $seats + 1, ?, $day)", [2, "heat"])
    assert engine.execute("SELECT id FROM bookings WHERE seats = $seats AND title = $title").rows == [(1,)]
    assert engine.execute("SELECT count(*) FROM bookings WHERE booked_on = $day AND seats > ?", [4]).rows == [(1,)]
    engine.execute("UPDATE bookings SET seats = $seats * 2 WHERE id = ?", [2])
    assert engine.execute("SELECT seats FROM bookings WHERE id = 2").rows == [(8,)]


def test_set_evaluates_once_and_takes_bind_parameters(engine: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/session-variables (SET keeps the value of
    its expression: a query's single result, not the query)."""
    engine.execute("CREATE TABLE seats (n INT)")
    engine.execute("INSERT INTO seats VALUES (1), (2), (3)")
    engine.execute("SET total = (SELECT SUM(n) FROM seats)")
    engine.execute("SET (lo, hi) = (SELECT MIN(n), MAX(n) FROM seats)")
    engine.execute("SET given = ?", [7])
    engine.execute("INSERT INTO seats VALUES (10)")
    clock.advance(60)
    assert engine.execute("SELECT $total, $lo, $hi, $given").rows == [(6, 1, 3, 7)]
    with pytest.raises(SqlError, match=r"(?i)more than one row"):
        engine.execute("SET one = (SELECT n FROM seats)")


def test_identifier_of_a_variable_names_the_object(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/identifier-literal (IDENTIFIER() takes a
    session variable holding the name)."""
    engine.execute("CREATE TABLE films (id INT, title STRING)")
    engine.execute("SET (tbl, col) = ('films', 'title')")
    engine.execute("INSERT INTO IDENTIFIER($tbl) VALUES (1, 'alien')")
    assert engine.execute("SELECT IDENTIFIER($col) FROM IDENTIFIER($tbl) f WHERE f.id = 1").rows == [("alien",)]
    engine.execute("SET n = 1")
    with pytest.raises(SqlError, match=re.escape("IDENTIFIER($n)")):
        engine.execute("SELECT * FROM IDENTIFIER($n)")


def test_table_function_arguments_take_variables(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/session-variables (in table-function
    arguments too)."""
    engine.execute("SET rows_wanted = 3")
    assert engine.execute("SELECT count(*) FROM TABLE(GENERATOR(ROWCOUNT => $rows_wanted))").rows == [(3,)]


def test_quoted_names_keep_their_case(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/session-variables (unquoted names are
    case-insensitive; a quoted name is taken as written, as identifiers are)."""
    engine.execute('SET "mixed" = 2.5')
    assert engine.execute('SELECT $"mixed" * 2').scalar() == 5
    with pytest.raises(SqlError, match=re.escape("'$MIXED' does not exist")):
        engine.execute("SELECT $mixed")


@pytest.mark.parametrize(
    ("statement", "named"),
    [
        ("SET memory_limit = '1GB'", "SET memory_limit"),
        ("SET threads = 1", "SET threads"),
        ("SET GLOBAL x = 1", "SET GLOBAL"),
        ("SET x = (SELECT count(*) FROM read_csv('/etc/passwd'))", "READ_CSV"),
    ],
)
def test_duckdb_settings_are_not_variables(engine: Engine, statement: str, named: str) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/set (SET names a session variable:
    DuckDB's settings stay out of reach of user SQL)."""
    with pytest.raises(UnsupportedSqlError, match=re.escape(named)):
        engine.execute(statement)
    assert engine.execute("SHOW VARIABLES").rows == []


def test_reserved_names_are_refused(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/set (CURRENT and PUBLIC are reserved)."""
    with pytest.raises(SqlError, match="reserved"):
        engine.execute("SET current = 1")


def test_a_sql_script_is_one_session(clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/session-variables (variables last for the
    session: `moviecdc sql` splits its -q text or -f file and runs every statement on one
    connection, as here)."""
    script = "SET (a, b) = (40, 1);\nSET x = $a + $b; -- $x is 41\nSELECT $x + 1 AS n;"
    wh = LocalWarehouse(":memory:", clock=clock)
    try:
        results = [wh.execute(stmt.sql) for stmt in split_statements(script)]
    finally:
        wh.close()
    assert results[-1].columns == ["N"] and results[-1].rows == [(42,)]
