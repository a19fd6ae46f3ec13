"""Standard and append-only streams: the net-change table (reference 1.3) and the
offset rules (1.4-1.6), one test per row/rule."""

from __future__ import annotations

import pytest

from moviecdc.emulator.engine import Engine
from moviecdc.errors import SqlError

META = "METADATA$ACTION, METADATA$ISUPDATE"


@pytest.fixture
def src(engine: Engine) -> Engine:
    """Table t(id, v) with rows (1, 'a') and (2, 'b'), and stream s created after them."""
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b')")
    engine.execute("CREATE STREAM s ON TABLE t")
    engine.execute("CREATE TABLE sink (id INT, v STRING, action STRING, isupdate BOOLEAN, rid STRING)")
    return engine


def changes(engine: Engine, stream: str = "s") -> list[tuple[object, ...]]:
    return sorted(engine.execute(f"SELECT id, v, {META} FROM {stream}").rows, key=repr)


def row_ids(engine: Engine, stream: str = "s") -> list[tuple[object, ...]]:
    return engine.execute(f"SELECT METADATA$ACTION, METADATA$ROW_ID FROM {stream}").rows


def consume(engine: Engine, stream: str = "s") -> None:
    engine.execute(f"INSERT INTO sink SELECT id, v, {META}, METADATA$ROW_ID FROM {stream}")


# --- net-change rules (reference 1.3) ---------------------------------------
def test_stream_insert_is_one_insert(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    assert changes(src) == [(3, "c", "INSERT", False)]


def test_stream_insert_then_updates_is_one_insert_with_latest_values(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("UPDATE t SET v = 'c2' WHERE id = 3")
    src.execute("UPDATE t SET v = 'c3' WHERE id = 3")
    assert changes(src) == [(3, "c3", "INSERT", False)]


def test_stream_insert_then_delete_is_nothing(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("DELETE FROM t WHERE id = 3")
    assert changes(src) == []


def test_stream_update_is_delete_insert_pair_with_same_row_id(src: Engine) -> None:
    src.execute("UPDATE t SET v = 'a2' WHERE id = 1")
    assert changes(src) == [(1, "a", "DELETE", True), (1, "a2", "INSERT", True)]
    ids = {rid for _, rid in row_ids(src)}
    assert len(ids) == 1 and len(next(iter(ids))) == 40


def test_stream_two_updates_are_one_pair_from_first_to_last(src: Engine) -> None:
    src.execute("UPDATE t SET v = 'a2' WHERE id = 1")
    src.execute("UPDATE t SET v = 'a3' WHERE id = 1")
    assert changes(src) == [(1, "a", "DELETE", True), (1, "a3", "INSERT", True)]


def test_stream_update_then_delete_is_one_delete_of_old_values(src: Engine) -> None:
    src.execute("UPDATE t SET v = 'a2' WHERE id = 1")
    src.execute("DELETE FROM t WHERE id = 1")
    assert changes(src) == [(1, "a", "DELETE", False)]


def test_stream_delete_is_one_delete(src: Engine) -> None:
    src.execute("DELETE FROM t WHERE id = 2")
    assert changes(src) == [(2, "b", "DELETE", False)]


def test_stream_truncate_is_deletes(src: Engine) -> None:
    src.execute("TRUNCATE TABLE t")
    assert changes(src) == [(1, "a", "DELETE", False), (2, "b", "DELETE", False)]


def test_stream_delete_then_reinsert_same_key_are_distinct_rows(src: Engine) -> None:
    src.execute("DELETE FROM t WHERE id = 1")
    src.execute("INSERT INTO t VALUES (1, 'a')")
    assert changes(src) == [(1, "a", "DELETE", False), (1, "a", "INSERT", False)]
    assert len({rid for _, rid in row_ids(src)}) == 2


def test_stream_update_to_identical_values_is_a_pair(src: Engine) -> None:
    src.execute("UPDATE t SET v = v WHERE id = 2")
    assert changes(src) == [(2, "b", "DELETE", True), (2, "b", "INSERT", True)]


def test_stream_rows_present_at_creation_are_not_changes(src: Engine) -> None:
    assert changes(src) == []
    assert src.execute("SELECT count(*) FROM t").scalar() == 2


def test_stream_columns_are_source_columns_then_metadata(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    cols = src.execute("SELECT * FROM s").columns
    assert [c.upper() for c in cols] == [
        "ID", "V", "METADATA$ACTION", "METADATA$ISUPDATE", "METADATA$ROW_ID",
    ]  # fmt: skip


def test_append_only_stream_keeps_inserted_values_and_ignores_the_rest(engine: Engine) -> None:
    engine.execute("CREATE TABLE t (id INT, v STRING)")
    engine.execute("INSERT INTO t VALUES (1, 'a')")
    engine.execute("CREATE STREAM a ON TABLE t APPEND_ONLY = TRUE")
    engine.execute("UPDATE t SET v = 'a2' WHERE id = 1")  # pre-existing: ignored
    engine.execute("DELETE FROM t WHERE id = 1")  # ignored
    engine.execute("INSERT INTO t VALUES (2, 'blue'), (3, 'gone')")
    engine.execute("UPDATE t SET v = 'purple' WHERE id = 2")
    engine.execute("DELETE FROM t WHERE id = 3")
    assert changes(engine, "a") == [(2, "blue", "INSERT", False), (3, "gone", "INSERT", False)]


def test_change_capture_logs_only_changed_rows(src: Engine) -> None:
    src.execute("INSERT INTO t SELECT 100 + SEQ4(), 'x' FROM TABLE(GENERATOR(ROWCOUNT => 1000))")
    tt = src.catalog.tracked[("S", "T")]
    before = src.con.execute(f"SELECT count(*) FROM {tt.log}").fetchone()[0]
    src.execute("UPDATE t SET v = 'y' WHERE id IN (100, 101)")
    src.execute("DELETE FROM t WHERE id = 102")
    after = src.con.execute(f"SELECT count(*) FROM {tt.log}").fetchone()[0]
    assert after - before == 2 * 2 + 1  # two update pairs and one delete, not the table


# --- offset rules (reference 1.4-1.6) -----------------------------------------
def test_select_never_advances_the_offset(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    first = changes(src)
    assert changes(src) == first == [(3, "c", "INSERT", False)]


def test_dml_reading_the_stream_consumes_it(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    consume(src)
    assert changes(src) == []
    assert src.execute("SELECT id, v, action FROM sink").rows == [(3, "c", "INSERT")]


def test_dml_that_filters_everything_still_advances_the_offset(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("INSERT INTO sink SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID FROM s WHERE 1 = 0")
    assert changes(src) == []
    assert src.execute("SELECT count(*) FROM sink").scalar() == 0


def test_ctas_from_stream_consumes_it(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("CREATE TABLE skipped AS SELECT * FROM s WHERE 1 = 0")
    assert changes(src) == []


def test_failed_dml_does_not_advance_the_offset(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    with pytest.raises(SqlError):
        src.execute(
            "INSERT INTO sink SELECT CAST(v AS INT), v, METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID FROM s"
        )
    assert changes(src) == [(3, "c", "INSERT", False)]
    assert src.execute("SELECT count(*) FROM sink").scalar() == 0


def test_rolled_back_transaction_does_not_advance_the_offset(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("BEGIN TRANSACTION")
    consume(src)
    src.execute("ROLLBACK")
    assert changes(src) == [(3, "c", "INSERT", False)]


def test_offset_moves_to_transaction_start(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("BEGIN TRANSACTION")
    src.execute("INSERT INTO t VALUES (4, 'd')")  # after the transaction started
    consume(src)
    src.execute("COMMIT")
    assert [r[0] for r in src.execute("SELECT id FROM sink").rows] == [3]
    assert changes(src) == [(4, "d", "INSERT", False)]


def test_reads_inside_a_transaction_are_repeatable(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("BEGIN")
    first = changes(src)
    src.execute("INSERT INTO t VALUES (4, 'd')")
    assert changes(src) == first
    src.execute("COMMIT")


def test_second_autocommit_dml_sees_an_empty_stream(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    consume(src)
    consume(src)
    assert src.execute("SELECT count(*) FROM sink").scalar() == 1


def test_two_inserts_in_one_transaction_see_the_same_changes(src: Engine) -> None:
    src.execute("CREATE TABLE sink2 (id INT)")
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("BEGIN TRANSACTION")
    consume(src)
    src.execute("INSERT INTO sink2 SELECT id FROM s")
    src.execute("COMMIT")
    assert src.execute("SELECT count(*) FROM sink2").scalar() == 1
    assert changes(src) == []


def test_consumption_is_all_or_nothing(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c'), (4, 'd')")
    src.execute(
        "INSERT INTO sink SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID FROM s WHERE id = 3"
    )
    assert changes(src) == []


def test_stream_has_data(src: Engine) -> None:
    has = "SELECT SYSTEM$STREAM_HAS_DATA('DB.S.S')"
    assert src.execute(has).scalar() is False
    src.execute("INSERT INTO t VALUES (3, 'c')")
    assert src.execute(has).scalar() is True
    consume(src)
    assert src.execute(has).scalar() is False


def test_stream_has_data_may_be_true_for_changes_that_net_to_nothing(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("DELETE FROM t WHERE id = 3")
    assert changes(src) == []
    assert src.execute("SELECT SYSTEM$STREAM_HAS_DATA('s')").scalar() is True  # no false negatives


def test_create_or_replace_stream_discards_pending_changes(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("CREATE OR REPLACE STREAM s ON TABLE t")
    assert changes(src) == []


def test_create_stream_if_not_exists_keeps_pending_changes(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("CREATE STREAM IF NOT EXISTS s ON TABLE t")
    assert changes(src) == [(3, "c", "INSERT", False)]


def test_create_or_replace_at_same_stream_keeps_the_offset(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("CREATE OR REPLACE STREAM s ON TABLE t AT (STREAM => 's')")
    assert changes(src) == [(3, "c", "INSERT", False)]


def test_replacing_the_source_table_makes_the_stream_stale(src: Engine) -> None:
    src.execute("CREATE OR REPLACE TABLE t (id INT, v STRING)")
    with pytest.raises(SqlError, match="stale"):
        changes(src)
    assert src.execute("SHOW STREAMS LIKE 'S'").dicts()[0]["stale"] == "true"


def test_two_streams_on_one_table_have_independent_offsets(src: Engine) -> None:
    src.execute("CREATE STREAM s2 ON TABLE t")
    src.execute("INSERT INTO t VALUES (3, 'c')")
    consume(src, "s")
    assert changes(src, "s") == []
    assert changes(src, "s2") == [(3, "c", "INSERT", False)]


def test_reads_inside_a_transaction_see_values_as_of_its_start(src: Engine) -> None:
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("BEGIN TRANSACTION")
    src.execute("UPDATE t SET v = 'c2' WHERE id = 3")  # after the transaction started
    src.execute("UPDATE t SET v = 'a2' WHERE id = 1")
    assert changes(src) == [(3, "c", "INSERT", False)]
    src.execute("COMMIT")
    assert changes(src) == [(1, "a", "DELETE", True), (1, "a2", "INSERT", True), (3, "c2", "INSERT", False)]


def test_change_log_is_trimmed_once_every_stream_has_moved_past(src: Engine) -> None:
    from moviecdc.emulator.retention import trim_change_logs
    from moviecdc.emulator.scheduler import run_pending

    src.execute("CREATE STREAM s2 ON TABLE t")
    log = src.catalog.tracked[("S", "T")].log
    src.execute("INSERT INTO t VALUES (3, 'c')")
    src.execute("UPDATE t SET v = 'a2' WHERE id = 1")
    consume(src, "s")
    with src.transaction():
        assert trim_change_logs(src) == 0  # s2 has not read them yet
    assert changes(src, "s2") == [(1, "a", "DELETE", True), (1, "a2", "INSERT", True), (3, "c", "INSERT", False)]
    src.execute("INSERT INTO sink SELECT id, v, METADATA$ACTION, METADATA$ISUPDATE, METADATA$ROW_ID FROM s2")
    run_pending(src)  # a scheduler pass trims
    assert src.con.execute(f"SELECT count(*) FROM {log}").fetchone() == (0,)
    src.execute("UPDATE t SET v = 'a3' WHERE id = 1")  # later reads still see the right images
    assert changes(src, "s") == changes(src, "s2") == [(1, "a2", "DELETE", True), (1, "a3", "INSERT", True)]


@pytest.mark.parametrize(
    "update",
    [
        pytest.param("UPDATE t SET v = 'z' WHERE id = 2", id="plain"),
        pytest.param(
            "UPDATE t AS x SET v = n.v FROM (VALUES (2, 'z')) AS n (id, v) WHERE x.id = n.id", id="from-values"
        ),
        pytest.param("UPDATE t SET v = (SELECT MAX(v) FROM t) || 'z' WHERE id = 2", id="subquery-on-itself"),
    ],
)
def test_every_update_form_captures_the_same_pair(src: Engine, update: str) -> None:
    expected = "bz" if "MAX" in update else "z"
    src.execute(update)
    assert changes(src) == [(2, "b", "DELETE", True), (2, expected, "INSERT", True)]
    assert src.execute("SELECT v FROM t WHERE id = 2").scalar() == expected
    assert src.execute("SELECT count(*) FROM t").scalar() == 2
