"""Streams on views (joins, UNION ALL, append-only), SHOW_INITIAL_ROWS and the CHANGES
clause, each following the Snowflake documentation page its docstring names. Expected
rows are written out by hand from the statements each test runs."""

from __future__ import annotations

import re

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError, UnsupportedSqlError

META = "METADATA$ACTION, METADATA$ISUPDATE"
HEX40 = re.compile(r"[0-9a-f]{40}")


@pytest.fixture
def shop(engine: Engine) -> Engine:
    """Customers c(id, name), orders o(oid, cid, amt) and the join view v of orders over 1."""
    for sql in (
        "CREATE TABLE c (id INT, name STRING)",
        "CREATE TABLE o (oid INT, cid INT, amt INT)",
        "INSERT INTO c VALUES (1, 'ann'), (2, 'bob')",
        "INSERT INTO o VALUES (10, 1, 5), (11, 2, 7), (12, 2, 1)",
        "CREATE VIEW v AS SELECT o.oid, c.name, o.amt FROM o JOIN c ON o.cid = c.id WHERE o.amt > 1",
    ):
        engine.execute(sql)
    return engine


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    return sorted(engine.execute(sql).rows, key=repr)


# --- streams on views -------------------------------------------------------------
def test_stream_on_join_view_is_the_net_difference_of_the_view(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (streams on views; a join
    view's change set is the change of its rows, one base-row change can touch many)."""
    shop.execute("CREATE STREAM s ON VIEW v")
    shop.execute("INSERT INTO o VALUES (13, 1, 9)")  # a new order of ann: one INSERT
    shop.execute("UPDATE c SET name = 'ANN' WHERE id = 1")  # ann's orders 10 (and 13, new) change
    shop.execute("DELETE FROM o WHERE oid = 11")  # bob's order: one DELETE
    shop.execute("UPDATE o SET amt = 3 WHERE oid = 12")  # now passes the filter: one INSERT
    got = shop.execute(f"SELECT oid, name, amt, {META}, METADATA$ROW_ID FROM s").rows
    assert sorted(r[:5] for r in got) == [
        (10, "ANN", 5, "INSERT", True),
        (10, "ann", 5, "DELETE", True),
        (11, "bob", 7, "DELETE", False),
        (12, "bob", 3, "INSERT", False),
        (13, "ANN", 9, "INSERT", False),
    ]
    ids = {r[0]: set() for r in got}
    for r in got:
        ids[r[0]].add(r[5])
    assert all(len(v) == 1 and HEX40.fullmatch(next(iter(v))) for v in ids.values())  # a pair shares its id
    assert len({next(iter(v)) for v in ids.values()}) == 4


def test_view_stream_has_data_when_a_base_table_changed(shop: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/functions/system_stream_has_data (no
    false negatives; on a view, any change to a base table may say TRUE)."""
    shop.execute("CREATE STREAM s ON VIEW v")
    assert shop.execute("SELECT SYSTEM$STREAM_HAS_DATA('s')").rows == [(False,)]
    shop.execute("INSERT INTO c VALUES (3, 'cy')")  # no order of cy yet: the view is unchanged
    assert shop.execute("SELECT SYSTEM$STREAM_HAS_DATA('s')").rows == [(True,)]  # a false positive, as documented
    assert rows(shop, "SELECT * FROM s") == []


def test_view_stream_is_consumed_like_a_table_stream(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (offsets move when a DML
    statement reading the stream commits, not on a rolled-back transaction)."""
    shop.execute("CREATE STREAM s ON VIEW v")
    shop.execute("INSERT INTO c VALUES (3, 'cy')")
    shop.execute("INSERT INTO o VALUES (14, 3, 8)")
    shop.execute("CREATE TABLE sink AS SELECT oid, name FROM s")
    assert rows(shop, "SELECT * FROM sink") == [(14, "cy")]
    assert rows(shop, "SELECT * FROM s") == []  # consumed
    shop.execute("BEGIN")
    shop.execute("UPDATE o SET amt = 2 WHERE oid = 14")
    assert rows(shop, "SELECT oid FROM s") == []  # the transaction's own change is not in its change set
    shop.execute("ROLLBACK")
    assert rows(shop, "SELECT oid FROM s") == []


def test_append_only_stream_on_join_view_joins_inserts_with_rows_at_the_offset(shop: Engine) -> None:
    """https://docs.snowflake.com/en/release-notes/bcr-bundles/2023_01/bcr-920 (append-only
    streams on join views: inserts on either side, joined with the tables at the offset;
    updates and deletes are not recorded)."""
    shop.execute("CREATE STREAM a ON VIEW v APPEND_ONLY = TRUE")
    shop.execute("UPDATE c SET name = 'ANN' WHERE id = 1")  # an update: not recorded
    shop.execute("DELETE FROM o WHERE oid = 11")  # a delete: not recorded
    shop.execute("INSERT INTO o VALUES (13, 1, 9), (15, 2, 1)")  # 15 fails the filter
    shop.execute("INSERT INTO c VALUES (3, 'cy')")
    shop.execute("INSERT INTO o VALUES (14, 3, 8)")  # both sides inserted since the offset
    shop.execute("DELETE FROM o WHERE oid = 14")  # still returned: append-only ignores deletes
    # order 13 joins ann as she was at the offset
    assert rows(shop, f"SELECT oid, name, amt, {META} FROM a") == [
        (13, "ann", 9, "INSERT", False),
        (14, "cy", 8, "INSERT", False),
    ]


def test_stream_on_union_all_view_with_projection_and_filter(engine: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (views with projections,
    filters and UNION ALL can be tracked)."""
    engine.execute("CREATE TABLE a (id INT, v STRING, x INT)")
    engine.execute("CREATE TABLE b (id INT, v STRING)")
    engine.execute("INSERT INTO a VALUES (1, 'a1', 0), (2, 'a2', 1)")
    engine.execute("INSERT INTO b VALUES (1, 'b1')")
    engine.execute("CREATE VIEW u AS SELECT id, upper(v) AS v FROM a WHERE x = 0 UNION ALL SELECT * FROM b")
    engine.execute("CREATE STREAM s ON VIEW u")
    engine.execute("UPDATE a SET x = 0 WHERE id = 2")  # enters the view
    engine.execute("UPDATE a SET x = 5 WHERE id = 1")  # leaves it
    engine.execute("UPDATE b SET v = 'B1' WHERE id = 1")
    engine.execute("INSERT INTO b VALUES (1, 'b1')")  # the same values, another row
    assert rows(engine, f"SELECT id, v, {META} FROM s") == [
        (1, "A1", "DELETE", False),
        (1, "B1", "INSERT", True),
        (1, "b1", "DELETE", True),
        (1, "b1", "INSERT", False),
        (2, "A2", "INSERT", False),
    ]


@pytest.mark.parametrize(
    ("query", "construct"),
    [
        ("SELECT cid, count(*) AS n FROM o GROUP BY cid", "GROUP BY"),
        ("SELECT DISTINCT cid FROM o", "DISTINCT"),
        ("SELECT * FROM o LIMIT 1", "LIMIT"),
        ("SELECT * FROM o QUALIFY row_number() OVER (PARTITION BY cid ORDER BY oid) = 1", "QUALIFY"),
        ("SELECT * FROM o WHERE cid IN (SELECT id FROM c)", "subqueries outside the FROM clause"),
        ("SELECT o.oid, c.name FROM o LEFT JOIN c ON o.cid = c.id", "LEFT JOIN"),
        ("SELECT cid FROM o UNION SELECT id FROM c", "UNION (without ALL)"),
    ],
)
def test_stream_on_view_refuses_what_change_tracking_cannot_follow(shop: Engine, query: str, construct: str) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (streams on views: GROUP BY,
    DISTINCT, LIMIT, QUALIFY, subqueries outside FROM, outer joins are not supported)."""
    shop.execute(f"CREATE VIEW w AS {query}")
    with pytest.raises(SqlError, match=re.escape(f"not supported on queries with {construct}")):
        shop.execute("CREATE STREAM s ON VIEW w")
    assert shop.execute("SHOW STREAMS").rows == []


def test_stream_on_view_refuses_by_name_what_the_engine_does_not_emulate(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (the local engine refuses a
    view it cannot follow, naming the construct, rather than answer differently)."""
    shop.execute("CREATE VIEW w AS WITH big AS (SELECT * FROM o WHERE amt > 5) SELECT * FROM big")
    with pytest.raises(UnsupportedSqlError, match=re.escape("WITH (common table expressions)")):
        shop.execute("CREATE STREAM s ON VIEW w")


def test_stream_on_view_tracks_its_tables_and_shows_them(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-manage (a stream on a view turns
    on change tracking for its tables) and
    https://docs.snowflake.com/en/sql-reference/sql/show-streams (source_type, base_tables)."""
    shop.execute("CREATE VIEW w AS SELECT oid FROM v")  # a view over the view
    shop.execute("CREATE STREAM s ON VIEW w")
    assert {("S", "O"), ("S", "C")} <= set(shop.catalog.tracked)
    res = shop.execute("SHOW STREAMS LIKE 'S'")
    row = dict(zip(res.columns, res.rows[0], strict=True))
    assert (row["table_name"], row["source_type"], row["mode"]) == ("DB.S.W", "View", "DEFAULT")
    assert sorted(row["base_tables"].split(", ")) == ["DB.S.C", "DB.S.O"]
    shop.execute("UPDATE o SET amt = 6 WHERE oid = 10")
    assert rows(shop, f"SELECT oid, {META} FROM s") == [(10, "DELETE", True), (10, "INSERT", True)]


def test_view_stream_goes_stale_when_a_base_table_or_the_view_is_replaced(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (recreating a view's base
    table or the view makes its streams stale)."""
    shop.execute("CREATE STREAM s1 ON VIEW v")
    shop.execute("CREATE STREAM s2 ON VIEW v")
    shop.execute("CREATE OR REPLACE TABLE c (id INT, name STRING)")
    with pytest.raises(SqlError, match="has become stale"):
        shop.execute("SELECT * FROM s1")
    shop.execute("CREATE OR REPLACE STREAM s2 ON VIEW v")
    shop.execute("CREATE OR REPLACE VIEW v AS SELECT o.oid, c.name, o.amt FROM o JOIN c ON o.cid = c.id")
    with pytest.raises(SqlError, match="has become stale"):
        shop.execute("SELECT * FROM s2")


# --- SHOW_INITIAL_ROWS --------------------------------------------------------------
def test_show_initial_rows_first_consumption_returns_the_rows_as_inserts(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/create-stream (SHOW_INITIAL_ROWS =
    TRUE: the first consumption returns the rows that existed at creation as inserts,
    METADATA$ISUPDATE FALSE; then normal deltas)."""
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    engine.execute("CREATE STREAM s ON TABLE t SHOW_INITIAL_ROWS = TRUE")
    assert engine.execute("SELECT SYSTEM$STREAM_HAS_DATA('s')").rows == [(True,)]
    assert rows(engine, f"SELECT id, v, {META} FROM s") == [(1, "a", "INSERT", False), (2, "b", "INSERT", False)]
    engine.execute("UPDATE t SET v = 'a2' WHERE id = 1")
    engine.execute("INSERT INTO t VALUES (3, 'c')")
    # still the first consumption: the rows as they are now, all inserts
    assert rows(engine, f"SELECT id, v, {META} FROM s") == [
        (1, "a2", "INSERT", False),
        (2, "b", "INSERT", False),
        (3, "c", "INSERT", False),
    ]
    engine.execute("CREATE TABLE sink AS SELECT id, v FROM s")
    assert engine.execute("SELECT count(*) FROM sink").rows == [(3,)]
    assert engine.execute("SELECT SYSTEM$STREAM_HAS_DATA('s')").rows == [(False,)]
    engine.execute("UPDATE t SET v = 'b2' WHERE id = 2")
    assert rows(engine, f"SELECT id, v, {META} FROM s") == [(2, "b", "DELETE", True), (2, "b2", "INSERT", True)]


def test_show_initial_rows_on_a_view_stream(shop: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/create-stream (SHOW_INITIAL_ROWS on
    a view: the view's rows at creation, as inserts)."""
    shop.execute("CREATE STREAM s ON VIEW v SHOW_INITIAL_ROWS = TRUE")
    assert rows(shop, f"SELECT oid, name, amt, {META} FROM s") == [
        (10, "ann", 5, "INSERT", False),
        (11, "bob", 7, "INSERT", False),
    ]


# --- CHANGES ------------------------------------------------------------------------
@pytest.fixture
def timeline(engine: Engine, clock: ManualClock) -> Engine:
    """t(id, v) tracked at 12:00:00 with (1, 'a'), (2, 'b'); then at 12:00:10 (3, 'c') is
    inserted, at 12:00:20 row 1 becomes 'a2', at 12:00:30 row 3 is deleted; now 12:00:40."""
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    engine.execute("ALTER TABLE t SET CHANGE_TRACKING = TRUE")
    for sql in ("INSERT INTO t VALUES (3, 'c')", "UPDATE t SET v = 'a2' WHERE id = 1", "DELETE FROM t WHERE id = 3"):
        clock.advance(10)
        engine.execute(sql)
    clock.advance(10)
    return engine


def test_changes_between_two_points_nets_like_a_stream(timeline: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/constructs/changes (DEFAULT nets the
    changes per row; APPEND_ONLY returns inserted rows as inserted; END is inclusive)."""
    at = "AT (TIMESTAMP => '2025-09-01 12:00:05'::TIMESTAMP_TZ)"
    default = f"SELECT id, v, {META} FROM t CHANGES (INFORMATION => DEFAULT) {at}"
    assert rows(timeline, default) == [(1, "a", "DELETE", True), (1, "a2", "INSERT", True)]
    append_only = f"SELECT id, v, {META} FROM t CHANGES (INFORMATION => APPEND_ONLY) {at}"
    assert rows(timeline, append_only) == [(3, "c", "INSERT", False)]
    ended = f"{default} END (TIMESTAMP => '2025-09-01 12:00:10'::TIMESTAMP_TZ)"
    assert rows(timeline, ended) == [(3, "c", "INSERT", False)]
    offset = f"SELECT id, v, {META} FROM t CHANGES (INFORMATION => DEFAULT) AT (OFFSET => -25)"  # 12:00:15
    assert rows(timeline, offset) == [(1, "a", "DELETE", True), (1, "a2", "INSERT", True), (3, "c", "DELETE", False)]


def test_changes_at_a_stream_reads_from_its_offset_and_moves_nothing(timeline: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/constructs/changes (AT (STREAM => ...)
    uses the stream's current offset; the clause itself never consumes)."""
    timeline.execute("CREATE STREAM s ON TABLE t")
    timeline.execute("INSERT INTO t VALUES (4, 'd')")
    sql = f"SELECT id, v, {META} FROM t CHANGES (INFORMATION => DEFAULT) AT (STREAM => 's')"
    timeline.execute(f"CREATE TABLE sink AS {sql}")
    assert rows(timeline, "SELECT * FROM sink") == [(4, "d", "INSERT", False)]
    assert rows(timeline, f"SELECT id, v, {META} FROM s") == [(4, "d", "INSERT", False)]  # not consumed


def test_changes_on_a_join_view(shop: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/sql-reference/constructs/changes (CHANGES on a view
    whose tables have change tracking)."""
    shop.execute("ALTER TABLE o SET CHANGE_TRACKING = TRUE")
    shop.execute("ALTER TABLE c SET CHANGE_TRACKING = TRUE")
    clock.advance(10)
    shop.execute("UPDATE c SET name = 'BOB' WHERE id = 2")
    sql = f"SELECT oid, name, {META} FROM v CHANGES (INFORMATION => DEFAULT) AT (OFFSET => -5)"
    assert rows(shop, sql) == [(11, "BOB", "INSERT", True), (11, "bob", "DELETE", True)]


def test_changes_needs_change_tracking_over_the_interval(timeline: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/constructs/changes (change tracking must
    be on) and https://docs.snowflake.com/en/user-guide/dynamic-tables/error-codes (091930)."""
    timeline.execute("CREATE TABLE plain (id INT)")
    message = "Change tracking is not enabled or has been missing for the time range requested."
    with pytest.raises(SqlError, match=re.escape(message)) as err:
        timeline.execute("SELECT * FROM plain CHANGES (INFORMATION => DEFAULT) AT (OFFSET => -5)")
    assert err.value.errno == 91930
    with pytest.raises(SqlError, match=re.escape(message)):  # before tracking was turned on
        timeline.execute("SELECT * FROM t CHANGES (INFORMATION => DEFAULT) AT (OFFSET => -3600)")


@pytest.mark.parametrize(
    ("clause", "named"),
    [
        ("CHANGES (INFORMATION => DEFAULT) AT (STATEMENT => '01b2c3d4-0000')", "AT (STATEMENT => ...)"),
        ("AT (OFFSET => -5)", "time travel (AT | BEFORE on a table)"),
    ],
)
def test_changes_and_time_travel_refused_by_name(timeline: Engine, clause: str, named: str) -> None:
    """https://docs.snowflake.com/en/sql-reference/constructs/changes (STATEMENT => needs
    query ids, which the local engine does not keep; plain time travel is not emulated)."""
    with pytest.raises(UnsupportedSqlError, match=re.escape(named)):
        timeline.execute(f"SELECT * FROM t {clause}")


# --- documentation examples: NATURAL JOIN views, CLONE, tags, stale comments --------
def show_stream(engine: Engine, name: str) -> dict[str, object]:
    res = engine.execute(f"SHOW STREAMS LIKE '{name}'")
    return dict(zip(res.columns, res.rows[0], strict=True))


def test_stream_on_natural_join_view_follows_the_join_results_example(engine: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro ("Join results behavior":
    a view ``orders NATURAL JOIN customers``; after order2 the stream has one row, after
    customer2 three: Δorders x customers, orders x Δcustomers, Δorders x Δcustomers)."""
    for sql in (
        "create or replace table orders (id int, order_name varchar)",
        "create or replace table customers (id int, customer_name varchar)",
        "create or replace view ordersByCustomer as select * from orders natural join customers",
        "insert into orders values (1, 'order1')",
        "insert into customers values (1, 'customer1')",
        "create or replace stream ordersByCustomerStream on view ordersBycustomer",
    ):
        engine.execute(sql)
    assert engine.execute("select * from ordersByCustomer").rows == [(1, "order1", "customer1")]
    read = "select * exclude metadata$row_id from ordersByCustomerStream"
    assert engine.execute(read).rows == []
    engine.execute("insert into orders values (1, 'order2')")
    res = engine.execute(read)
    assert res.columns == ["ID", "ORDER_NAME", "CUSTOMER_NAME", "METADATA$ACTION", "METADATA$ISUPDATE"]
    assert res.rows == [(1, "order2", "customer1", "INSERT", False)]
    engine.execute("insert into customers values (1, 'customer2')")
    assert rows(engine, read) == [
        (1, "order1", "customer2", "INSERT", False),
        (1, "order2", "customer1", "INSERT", False),
        (1, "order2", "customer2", "INSERT", False),
    ]


def test_stream_on_natural_join_view_refuses_outer_and_names_the_join(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (streams on views: inner or
    cross joins only; a NATURAL LEFT JOIN is an outer join and is refused as one)."""
    shop.execute("CREATE TABLE o2 (oid INT, note STRING)")
    shop.execute("CREATE VIEW w AS SELECT * FROM o NATURAL LEFT JOIN o2")
    with pytest.raises(SqlError, match=re.escape("not supported on queries with NATURAL LEFT JOIN")):
        shop.execute("CREATE STREAM s ON VIEW w")
    shop.execute("CREATE VIEW w2 AS SELECT * FROM o NATURAL INNER JOIN o2")
    shop.execute("CREATE STREAM s2 ON VIEW w2")
    shop.execute("INSERT INTO o2 VALUES (10, 'first')")
    assert rows(shop, f"SELECT oid, cid, amt, note, {META} FROM s2") == [(10, 1, 5, "first", "INSERT", False)]


def test_stream_on_view_joining_a_subquery_in_from(shop: Engine) -> None:
    """https://docs.snowflake.com/en/user-guide/streams-intro (streams on views: "subqueries
    in the FROM clause are supported"; here one joined to a table by NATURAL JOIN)."""
    shop.execute("CREATE TABLE tier (name STRING, tier STRING)")
    q = "(SELECT o.oid, c.name FROM o JOIN c ON o.cid = c.id) q"
    shop.execute(f"CREATE VIEW w AS SELECT oid, tier FROM {q} NATURAL JOIN tier")
    shop.execute("CREATE STREAM s ON VIEW w")
    shop.execute("INSERT INTO tier VALUES ('bob', 'silver')")
    assert rows(shop, f"SELECT oid, tier, {META} FROM s") == [
        (11, "silver", "INSERT", False),
        (12, "silver", "INSERT", False),
    ]


def test_stream_clone_inherits_source_mode_and_offset(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/create-stream (CREATE STREAM ...
    CLONE: the same definition, and the source stream's current offset; each stream then
    keeps its own offset)."""
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("CREATE STREAM s1 ON TABLE t APPEND_ONLY = TRUE COMMENT = 'orders feed'")
    engine.execute("INSERT INTO t VALUES (1, 'a')")
    assert engine.execute("CREATE STREAM s2 CLONE s1").rows == [("Stream S2 successfully created.",)]
    row = show_stream(engine, "S2")
    assert (row["table_name"], row["mode"], row["comment"]) == ("DB.S.T", "APPEND_ONLY", "orders feed")
    assert rows(engine, f"SELECT id, v, {META} FROM s2") == [(1, "a", "INSERT", False)]  # s1's unconsumed change
    engine.execute("CREATE TABLE sink AS SELECT id, v FROM s1")  # consumes s1 only
    assert rows(engine, "SELECT id FROM s1") == []
    assert rows(engine, "SELECT id FROM s2") == [(1,)]
    engine.execute("INSERT INTO t VALUES (2, 'b')")
    assert rows(engine, "SELECT id FROM s1") == [(2,)]
    assert rows(engine, "SELECT id FROM s2") == [(1,), (2,)]
    engine.execute("CREATE OR REPLACE STREAM s2 CLONE s1")  # replaced: s1's offset again
    assert rows(engine, "SELECT id FROM s2") == [(2,)]
    assert engine.execute("CREATE STREAM IF NOT EXISTS s2 CLONE s1").rows == [
        ("S2 already exists, statement succeeded.",)
    ]
    with pytest.raises(SqlError, match="already exists"):
        engine.execute("CREATE STREAM s2 CLONE s1")
    with pytest.raises(SqlError, match="Stream 'NOPE' does not exist"):
        engine.execute("CREATE STREAM s3 CLONE nope")


def test_alter_stream_set_and_unset_tag_are_accepted_without_effect(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/alter-stream (SET TAG name =
    'value' [, ...], UNSET TAG name [, ...]; the local engine keeps no tags)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("CREATE STREAM s ON TABLE t COMMENT = 'kept'")
    for sql in (
        "ALTER STREAM s SET TAG cost_center = 'sales'",
        "ALTER STREAM IF EXISTS s SET TAG cost_center = 'sales', db.s.owner_team = 'cdc'",
        "ALTER STREAM s UNSET TAG cost_center",
        "ALTER STREAM s UNSET TAG cost_center, db.s.owner_team",
        "ALTER STREAM IF EXISTS missing SET TAG cost_center = 'sales'",
    ):
        assert engine.execute(sql).rows == [("Statement executed successfully.",)]
    assert show_stream(engine, "S")["comment"] == "kept"
    with pytest.raises(SqlError, match="Stream 'MISSING' does not exist"):
        engine.execute("ALTER STREAM missing UNSET TAG cost_center")
    with pytest.raises(SqlError, match="syntax error"):
        engine.execute("ALTER STREAM s SET TAG cost_center")


def test_stale_stream_keeps_the_comment_the_user_set(engine: Engine) -> None:
    """https://docs.snowflake.com/en/sql-reference/sql/show-streams (staleness shows in
    ``stale``; ``comment`` is the user's, empty when none was set)."""
    engine.execute("CREATE TABLE t (id INT)")
    engine.execute("CREATE STREAM plain ON TABLE t")
    engine.execute("CREATE STREAM noted ON TABLE t COMMENT = 'feeds the mart'")
    engine.execute("CREATE OR REPLACE TABLE t (id INT)")
    plain, noted = show_stream(engine, "PLAIN"), show_stream(engine, "NOTED")
    assert (plain["stale"], plain["comment"]) == ("true", "")
    assert (noted["stale"], noted["comment"]) == ("true", "feeds the mart")
