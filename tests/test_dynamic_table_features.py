"""Dynamic-table features as Snowflake documents them in December 2026: the ADAPTIVE refresh
mode and AUTO resolving to it, frozen regions (FROZEN WHERE, legacy IMMUTABLE WHERE) and
BACKFILL FROM, SCHEDULER = DISABLE, INITIALIZATION_WAREHOUSE, and the REFRESH_ACTION and
REINIT_REASON of DYNAMIC_TABLE_REFRESH_HISTORY. Each test names the page it follows.

Expected rows are written out, or recomputed with plain SQL over the source tables.
"""

from __future__ import annotations

import re

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator import notes
from moviecdc.emulator.engine import Engine
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import SqlError, UnsupportedSqlError


def refreshes(engine: Engine, name: str) -> list[tuple[object, ...]]:
    """(REFRESH_ACTION, REINIT_REASON, REFRESH_TRIGGER, WAREHOUSE) of each refresh, oldest first."""
    return engine.execute(
        "SELECT REFRESH_ACTION, REINIT_REASON, REFRESH_TRIGGER, WAREHOUSE FROM TABLE(INFORMATION_SCHEMA."
        f"DYNAMIC_TABLE_REFRESH_HISTORY(NAME => '{name}')) ORDER BY REFRESH_END_TIME"
    ).rows


def show(engine: Engine, name: str) -> dict[str, object]:
    return engine.execute(f"SHOW DYNAMIC TABLES LIKE '{name}'").dicts()[0]


def rows(engine: Engine, sql: str) -> list[tuple[object, ...]]:
    return sorted(engine.execute(sql).rows, key=repr)


@pytest.fixture
def base(engine: Engine) -> Engine:
    engine.execute("CREATE TABLE t (k INT, v INT)")
    engine.execute("INSERT INTO t VALUES (1, 10), (2, 20), (3, 30)")
    return engine


# ------------------------------------------------------------ refresh modes
def test_auto_resolves_to_adaptive_when_incremental_is_possible_else_full(base: Engine) -> None:
    """https://docs.snowflake.com/en/release-notes/2026/other/2026-11-20-dynamic-tables-auto-resolves-to-adaptive
    (and https://docs.snowflake.com/user-guide/dynamic-tables/refresh-modes): a new table with
    REFRESH_MODE = AUTO resolves to ADAPTIVE if its definition supports incremental refresh,
    else to FULL; INCREMENTAL stays INCREMENTAL."""
    base.execute("CREATE DYNAMIC TABLE a TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT k, v + 1 AS w FROM t")
    base.execute(
        "CREATE DYNAMIC TABLE f TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT k, CURRENT_TIMESTAMP() AS ts FROM t"
    )
    base.execute(
        "CREATE DYNAMIC TABLE i TARGET_LAG = '1 minute' WAREHOUSE = wh REFRESH_MODE = INCREMENTAL AS SELECT k FROM t"
    )
    assert (show(base, "A")["refresh_mode"], show(base, "A")["refresh_mode_reason"]) == ("ADAPTIVE", None)
    assert show(base, "F")["refresh_mode"] == "FULL" and "CURRENT_TIMESTAMP" in str(
        show(base, "F")["refresh_mode_reason"]
    )
    assert show(base, "I")["refresh_mode"] == "INCREMENTAL"
    assert rows(base, "SELECT k, w FROM a") == [(1, 11), (2, 21), (3, 31)]


def test_explicit_adaptive_needs_an_incremental_query_and_custom_incremental_is_refused(base: Engine) -> None:
    """https://docs.snowflake.com/user-guide/dynamic-tables/refresh-modes: ADAPTIVE is an
    incremental mode (creation fails for a query it cannot refresh incrementally, as for
    INCREMENTAL); CUSTOM_INCREMENTAL (REFRESH USING ...) cannot be emulated here."""
    with pytest.raises(SqlError, match=r"002711.*REFRESH_MODE = ADAPTIVE"):
        base.execute(
            "CREATE DYNAMIC TABLE bad TARGET_LAG = '1 minute' WAREHOUSE = wh REFRESH_MODE = ADAPTIVE"
            " AS SELECT k FROM t LIMIT 1"
        )
    with pytest.raises(UnsupportedSqlError, match="CUSTOM_INCREMENTAL"):
        base.execute(
            "CREATE DYNAMIC TABLE c TARGET_LAG = '1 minute' WAREHOUSE = wh REFRESH_MODE = CUSTOM_INCREMENTAL"
            " AS SELECT k FROM t"
        )


def _big_batch(engine: Engine) -> None:
    """1,200 inserts into a table of 3 rows: far more change than rows."""
    engine.execute("INSERT INTO t SELECT 100 + SEQ4(), SEQ4() % 7 FROM TABLE(GENERATOR(ROWCOUNT => 1200))")


def test_adaptive_reinitialises_on_a_large_batch_then_resumes_incremental(base: Engine) -> None:
    """https://docs.snowflake.com/release-notes/2026/other/2026-07-30-dynamic-tables-adaptive-refresh-mode-ga:
    ADAPTIVE refreshes incrementally, reinitialises when the volume of upstream changes makes
    an incremental refresh much more expensive than a full one, then resumes incremental
    refreshes. REINIT_REASON (bundle 2026_02,
    https://docs.snowflake.com/release-notes/bcr-bundles/2026_02/bcr-2254) says why."""
    base.execute(
        "CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh REFRESH_MODE = ADAPTIVE"
        " AS SELECT k, v * 2 AS v2 FROM t WHERE v <> 3"
    )
    _big_batch(base)
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert refreshes(base, "D")[-1][:2] == ("REINITIALIZE", "ADAPTIVE_CHANGE_VOLUME")
    expected = "SELECT k, v * 2 FROM t WHERE v <> 3"
    assert rows(base, "SELECT k, v2 FROM d") == rows(base, expected)
    base.execute("UPDATE t SET v = 5 WHERE k = 1")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert refreshes(base, "D")[-1][:2] == ("INCREMENTAL", None)
    assert rows(base, "SELECT k, v2 FROM d") == rows(base, expected)


def test_an_incremental_table_is_never_reinitialised_for_volume(base: Engine) -> None:
    """https://docs.snowflake.com/en/release-notes/2026/other/2026-11-20-dynamic-tables-auto-resolves-to-adaptive:
    "To use INCREMENTAL refresh without adaptive reinitialization, set REFRESH_MODE =
    INCREMENTAL explicitly"."""
    base.execute(
        "CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh REFRESH_MODE = INCREMENTAL"
        " AS SELECT k, v * 2 AS v2 FROM t"
    )
    _big_batch(base)
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert refreshes(base, "D")[-1][:2] == ("INCREMENTAL", None)
    assert rows(base, "SELECT k, v2 FROM d") == rows(base, "SELECT k, v * 2 FROM t")


# ------------------------------------------------------------ refresh history
def test_the_first_refresh_is_a_reinitialize_with_its_reason(base: Engine) -> None:
    """https://docs.snowflake.com/sql-reference/functions/dynamic_table_refresh_history: the
    REFRESH_ACTION values are NO_DATA, REINITIALIZE, FULL and INCREMENTAL (no INITIALIZE);
    REINIT_REASON only on a REINITIALIZE (bundle 2026_02)."""
    base.execute("CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT k FROM t")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    base.execute("INSERT INTO t VALUES (4, 40)")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert refreshes(base, "D") == [
        ("REINITIALIZE", "NEW_DYNAMIC_TABLE", "CREATION", "WH"),
        ("NO_DATA", None, "MANUAL", None),
        ("INCREMENTAL", None, "MANUAL", "WH"),
    ]


# ------------------------------------------------------------ frozen regions
def test_frozen_region_keeps_its_rows_and_refreshes_only_the_active_region(base: Engine) -> None:
    """https://docs.snowflake.com/user-guide/dynamic-tables/frozen-regions: the predicate is
    ignored at initialisation (every row computed); later refreshes refresh only the active
    region; SHOW DYNAMIC TABLES keeps the column name immutable_where."""
    base.execute(
        "CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh FROZEN WHERE (k < 3) AS SELECT k, v FROM t"
    )
    assert rows(base, "SELECT k, v FROM d") == [(1, 10), (2, 20), (3, 30)]  # all of it, k < 3 included
    assert show(base, "D")["immutable_where"] == "k < 3"
    base.execute("UPDATE t SET v = v + 1")  # frozen rows 1, 2 keep 10, 20
    base.execute("INSERT INTO t VALUES (0, 0), (5, 50)")  # 0 falls in the frozen region: not added
    base.execute("DELETE FROM t WHERE k = 2")  # frozen: stays
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert rows(base, "SELECT k, v FROM d") == [(1, 10), (2, 20), (3, 31), (5, 50)]


def test_alter_set_and_unset_frozen_where(base: Engine) -> None:
    """https://docs.snowflake.com/user-guide/dynamic-tables/frozen-regions (ALTER DYNAMIC
    TABLE ... SET / UNSET FROZEN WHERE): a wider region freezes rows as they are; without
    a region every row is computed again (a REINITIALIZE)."""
    base.execute("CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT k, v FROM t")
    base.execute("ALTER DYNAMIC TABLE d SET FROZEN WHERE (k < 3)")
    base.execute("UPDATE t SET v = v + 1")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert rows(base, "SELECT k, v FROM d") == [(1, 10), (2, 20), (3, 31)]
    base.execute("ALTER DYNAMIC TABLE d UNSET FROZEN WHERE")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert rows(base, "SELECT k, v FROM d") == rows(base, "SELECT k, v FROM t")
    assert refreshes(base, "D")[-1][:2] == ("REINITIALIZE", "FROZEN_REGION_REMOVED")
    assert show(base, "D")["immutable_where"] is None


def test_legacy_immutable_where_and_a_bad_predicate(base: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/user-guide/dynamic-tables/frozen-regions: "The legacy
    IMMUTABLE WHERE syntax continues to be supported"; the predicate reads the dynamic
    table's columns (a clock-relative one as in the page's examples)."""
    base.execute("CREATE TABLE ev (id INT, ts TIMESTAMP_NTZ)")
    base.execute("INSERT INTO ev VALUES (1, '2025-08-01 00:00:00'), (2, '2025-09-01 11:00:00')")
    base.execute(
        "CREATE OR ALTER DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh"
        " IMMUTABLE WHERE (ts < CURRENT_TIMESTAMP() - INTERVAL '1 day') AS SELECT id, ts FROM ev"
    )
    base.execute("UPDATE ev SET id = id * 10")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert [r[0] for r in rows(base, "SELECT id FROM d")] == [1, 20]  # August is frozen
    with pytest.raises(SqlError, match="FROZEN WHERE"):
        base.execute(
            "CREATE DYNAMIC TABLE e TARGET_LAG = '1 minute' WAREHOUSE = wh FROZEN WHERE (nope > 1) AS SELECT k FROM t"
        )


def test_backfill_from_fills_the_frozen_region_from_the_table(base: Engine) -> None:
    """https://docs.snowflake.com/user-guide/dynamic-tables/frozen-regions (backfill): the
    frozen region's initial rows are copied from the backfill table (its columns matched in
    order), the active region comes from the definition."""
    base.execute("CREATE TABLE hist (k INT, v INT)")
    base.execute("INSERT INTO hist VALUES (1, 111), (-5, 500), (3, 333)")  # 3: active, not copied
    base.execute(
        "CREATE DYNAMIC TABLE d (k, v) TARGET_LAG = '1 minute' WAREHOUSE = wh FROZEN WHERE (k < 3)"
        " BACKFILL FROM hist AS SELECT k, v FROM t"
    )
    assert rows(base, "SELECT k, v FROM d") == [(-5, 500), (1, 111), (3, 30)]
    with pytest.raises(SqlError, match="FROZEN WHERE"):
        base.execute(
            "CREATE DYNAMIC TABLE e TARGET_LAG = '1 minute' WAREHOUSE = wh BACKFILL FROM hist AS SELECT k FROM t"
        )
    with pytest.raises(SqlError, match="columns"):
        base.execute(
            "CREATE DYNAMIC TABLE e TARGET_LAG = '1 minute' WAREHOUSE = wh FROZEN WHERE (k < 3)"
            " BACKFILL FROM hist AS SELECT k FROM t"
        )
    with pytest.raises(UnsupportedSqlError, match=re.escape("AT | BEFORE")):
        base.execute(
            "CREATE DYNAMIC TABLE e TARGET_LAG = '1 minute' WAREHOUSE = wh FROZEN WHERE (k < 3)"
            " BACKFILL FROM hist AT (OFFSET => -60) AS SELECT k, v FROM t"
        )


# ------------------------------------------------------------ SCHEDULER
def test_scheduler_disable_is_refreshed_only_by_alter_refresh(base: Engine, clock: ManualClock) -> None:
    """https://docs.snowflake.com/en/release-notes/2026/other/2026-03-26-dynamic-table-scheduler-attribute:
    SCHEDULER = DISABLE excludes the table from automatic refresh (TARGET_LAG not needed);
    ALTER ... REFRESH refreshes it, without cascading upstream; ENABLE is the default."""
    base.execute("CREATE DYNAMIC TABLE up TARGET_LAG = DOWNSTREAM WAREHOUSE = wh AS SELECT k, v FROM t")
    base.execute("CREATE DYNAMIC TABLE off SCHEDULER = DISABLE WAREHOUSE = wh AS SELECT SUM(v) AS s FROM up")
    assert (show(base, "OFF")["scheduler"], show(base, "OFF")["target_lag"]) == ("DISABLE", None)
    assert show(base, "UP")["scheduler"] == "ENABLE"
    base.execute("INSERT INTO t VALUES (4, 40)")
    clock.advance(hours=1)
    run_pending(base)
    run_pending(base, catch_up=True)
    assert base.execute("SELECT s FROM off").scalar() == 60  # neither it nor `up` refreshed
    assert [r[2] for r in refreshes(base, "UP")] == ["CREATION"]
    base.execute("ALTER DYNAMIC TABLE off REFRESH")  # reads `up` as it is: no cascade
    assert base.execute("SELECT s FROM off").scalar() == 60


def test_scheduler_enable_again_schedules_it(base: Engine) -> None:
    """https://docs.snowflake.com/en/release-notes/2026/other/2026-03-26-dynamic-table-scheduler-attribute:
    SCHEDULER is settable by ALTER DYNAMIC TABLE; ENABLE puts it back under TARGET_LAG."""
    base.execute("CREATE DYNAMIC TABLE off SCHEDULER = DISABLE WAREHOUSE = wh AS SELECT SUM(v) AS s FROM t")
    base.execute("ALTER DYNAMIC TABLE off SET SCHEDULER = ENABLE TARGET_LAG = '1 minute'")
    assert (show(base, "OFF")["scheduler"], show(base, "OFF")["target_lag"]) == ("ENABLE", "1 minute")
    base.execute("INSERT INTO t VALUES (5, 50)")
    run_pending(base, catch_up=True)
    assert base.execute("SELECT s FROM off").scalar() == base.execute("SELECT SUM(v) FROM t").scalar() == 110


# ------------------------------------------------------------ INITIALIZATION_WAREHOUSE
def test_initialization_warehouse_is_kept_shown_and_noted(base: Engine) -> None:
    """https://docs.snowflake.com/en/release-notes/bcr-bundles/2026_01/bcr-2163: SHOW DYNAMIC
    TABLES has initialization_warehouse; the refresh history's WAREHOUSE is it for
    (re)initialisations, WAREHOUSE otherwise. Locally it changes nothing: a NOTE says so."""
    base.execute(
        "CREATE DYNAMIC TABLE d TARGET_LAG = '1 minute' WAREHOUSE = wh INITIALIZATION_WAREHOUSE = big_wh"
        " AS SELECT k FROM t"
    )
    assert show(base, "D")["initialization_warehouse"] == "BIG_WH"
    base.execute("INSERT INTO t VALUES (4, 40)")
    base.execute("ALTER DYNAMIC TABLE d REFRESH")
    assert [r[3] for r in refreshes(base, "D")] == ["BIG_WH", "WH"]
    assert any("INITIALIZATION_WAREHOUSE" in line and "S.D" in line for line in notes.unemulated(base.catalog))
    base.execute("ALTER DYNAMIC TABLE d UNSET INITIALIZATION_WAREHOUSE")
    assert show(base, "D")["initialization_warehouse"] is None
    assert notes.unemulated(base.catalog) == []
