"""Dynamic tables: target lag incl. DOWNSTREAM, refresh order, NO_DATA, manual
refresh, suspension, failures (reference section 3)."""

from __future__ import annotations

import pytest

from moviecdc.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import SqlError


def history(engine: Engine, name: str) -> list[tuple[object, ...]]:
    return engine.execute(
        "SELECT STATE, REFRESH_ACTION, REFRESH_TRIGGER FROM TABLE(INFORMATION_SCHEMA."
        f"DYNAMIC_TABLE_REFRESH_HISTORY(NAME => '{name}')) ORDER BY REFRESH_END_TIME"
    ).rows


@pytest.fixture
def chain(engine: Engine) -> Engine:
    """base → up (DOWNSTREAM) → leaf ('2 minutes')."""
    engine.execute("CREATE TABLE base (k STRING, n INT)")
    engine.execute("INSERT INTO base VALUES ('a', 1), ('b', 2)")
    engine.execute(
        "CREATE DYNAMIC TABLE up TARGET_LAG = DOWNSTREAM WAREHOUSE = wh AS SELECT k, n * 10 AS n10 FROM base"
    )
    engine.execute(
        "CREATE DYNAMIC TABLE leaf TARGET_LAG = '2 minutes' WAREHOUSE = wh AS SELECT SUM(n10) AS total FROM up"
    )
    return engine


def test_creation_initializes_the_chain(chain: Engine) -> None:
    assert chain.execute("SELECT total FROM leaf").scalar() == 30
    assert history(chain, "leaf") == [("SUCCEEDED", "REINITIALIZE", "CREATION")]  # Snowflake lists no INITIALIZE action


def test_downstream_upstream_refreshes_with_its_consumer(chain: Engine, clock: ManualClock) -> None:
    chain.execute("INSERT INTO base VALUES ('c', 3)")
    clock.advance(seconds=30)
    run_pending(chain)
    assert chain.execute("SELECT total FROM leaf").scalar() == 30  # not due yet
    clock.advance(seconds=30)
    run_pending(chain)
    assert chain.execute("SELECT total FROM leaf").scalar() == 60
    assert history(chain, "up")[-1] == ("SUCCEEDED", "INCREMENTAL", "SCHEDULED")


def test_no_data_when_nothing_changed(chain: Engine) -> None:
    run_pending(chain, catch_up=True)
    assert history(chain, "leaf")[-1] == ("SUCCEEDED", "NO_DATA", "SCHEDULED")
    assert history(chain, "up")[-1] == ("SUCCEEDED", "NO_DATA", "SCHEDULED")


def test_downstream_table_nobody_reads_is_never_refreshed(engine: Engine, clock: ManualClock) -> None:
    engine.execute("CREATE TABLE base (n INT)")
    engine.execute("CREATE DYNAMIC TABLE lonely TARGET_LAG = DOWNSTREAM WAREHOUSE = wh AS SELECT n FROM base")
    engine.execute("INSERT INTO base VALUES (1)")
    clock.advance(hours=1)
    run_pending(engine)
    run_pending(engine, catch_up=True)
    assert engine.execute("SELECT count(*) FROM lonely").scalar() == 0
    assert [r[2] for r in history(engine, "lonely")] == ["CREATION"]
    engine.execute("ALTER DYNAMIC TABLE lonely REFRESH")  # only a manual refresh helps
    assert engine.execute("SELECT count(*) FROM lonely").scalar() == 1


def test_manual_refresh_cascades_upstream(chain: Engine) -> None:
    chain.execute("INSERT INTO base VALUES ('c', 3)")
    chain.execute("ALTER DYNAMIC TABLE leaf REFRESH")
    assert chain.execute("SELECT total FROM leaf").scalar() == 60
    assert history(chain, "up")[-1][2] == "MANUAL"


def test_suspend_cascades_and_stops_scheduled_refreshes(chain: Engine) -> None:
    chain.execute("ALTER DYNAMIC TABLE up SUSPEND")
    states = {r["name"]: r["scheduling_state"] for r in chain.execute("SHOW DYNAMIC TABLES").dicts()}
    assert states == {"UP": "SUSPENDED", "LEAF": "SUSPENDED"}
    chain.execute("INSERT INTO base VALUES ('c', 3)")
    run_pending(chain, catch_up=True)
    assert chain.execute("SELECT total FROM leaf").scalar() == 30
    chain.execute("ALTER DYNAMIC TABLE up RESUME")
    run_pending(chain, catch_up=True)
    assert chain.execute("SELECT total FROM leaf").scalar() == 60


def test_failed_refresh_marks_dependents_upstream_failed(engine: Engine) -> None:
    chain = engine
    chain.execute("CREATE TABLE nums (v STRING)")
    chain.execute("INSERT INTO nums VALUES ('1')")
    chain.execute(
        "CREATE DYNAMIC TABLE up TARGET_LAG = DOWNSTREAM WAREHOUSE = wh AS SELECT CAST(v AS INT) AS n FROM nums"
    )
    chain.execute("CREATE DYNAMIC TABLE leaf TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT SUM(n) AS s FROM up")
    chain.execute("INSERT INTO nums VALUES ('x')")
    for _ in range(5):
        run_pending(chain, catch_up=True)
    assert history(chain, "up")[-1][0] == "FAILED"
    assert history(chain, "leaf")[-1][0] == "UPSTREAM_FAILED"
    assert chain.execute("SELECT s FROM leaf").scalar() == 1  # last good version kept
    states = {r["name"]: r["scheduling_state"] for r in chain.execute("SHOW DYNAMIC TABLES").dicts()}
    assert states["UP"] == "SUSPENDED"  # five failed scheduled refreshes


def test_dml_on_a_dynamic_table_is_rejected(chain: Engine) -> None:
    with pytest.raises(SqlError, match="not allowed on dynamic table"):
        chain.execute("DELETE FROM leaf")


def test_dynamic_table_cannot_read_a_stream(chain: Engine) -> None:
    chain.execute("CREATE STREAM st ON TABLE base")
    with pytest.raises(SqlError, match="stream"):
        chain.execute("CREATE DYNAMIC TABLE bad TARGET_LAG = '1 minute' WAREHOUSE = wh AS SELECT * FROM st")


def test_incremental_mode_rejects_unsupported_queries(chain: Engine) -> None:
    with pytest.raises(SqlError, match="002711"):
        chain.execute(
            "CREATE DYNAMIC TABLE lim TARGET_LAG = '1 minute' WAREHOUSE = wh"
            " REFRESH_MODE = INCREMENTAL AS SELECT * FROM base LIMIT 1"
        )


def test_auto_mode_resolves_full_for_current_timestamp_in_select(chain: Engine) -> None:
    chain.execute(
        "CREATE DYNAMIC TABLE stamped TARGET_LAG = '1 minute' WAREHOUSE = wh"
        " AS SELECT k, CURRENT_TIMESTAMP() AS seen FROM base"
    )
    row = next(r for r in chain.execute("SHOW DYNAMIC TABLES").dicts() if r["name"] == "STAMPED")
    assert row["refresh_mode"] == "FULL" and "CURRENT_TIMESTAMP" in row["refresh_mode_reason"]
    incremental = next(r for r in chain.execute("SHOW DYNAMIC TABLES").dicts() if r["name"] == "LEAF")
    assert incremental["refresh_mode"] == "ADAPTIVE"  # AUTO resolves to ADAPTIVE (release note 2026-11-20)


def test_lag_cannot_be_shorter_than_an_upstream_lag(engine: Engine) -> None:
    engine.execute("CREATE TABLE base (n INT)")
    engine.execute("CREATE DYNAMIC TABLE slow TARGET_LAG = '1 hour' WAREHOUSE = wh AS SELECT n FROM base")
    with pytest.raises(SqlError, match="target lag"):
        engine.execute("CREATE DYNAMIC TABLE fast TARGET_LAG = '10 minutes' WAREHOUSE = wh AS SELECT n FROM slow")


def test_create_or_alter_keeps_data_unless_the_query_changes(chain: Engine) -> None:
    chain.execute(
        "CREATE OR ALTER DYNAMIC TABLE leaf TARGET_LAG = '5 minutes' WAREHOUSE = wh AS SELECT SUM(n10) AS total FROM up"
    )
    assert history(chain, "leaf") == [("SUCCEEDED", "REINITIALIZE", "CREATION")]  # Snowflake lists no INITIALIZE action
    assert chain.execute("SHOW DYNAMIC TABLES LIKE 'LEAF'").dicts()[0]["target_lag"] == "5 minutes"
    chain.execute(
        "CREATE OR ALTER DYNAMIC TABLE leaf TARGET_LAG = '5 minutes' WAREHOUSE = wh"
        " AS SELECT SUM(n10) + 1 AS total FROM up"
    )
    assert chain.execute("SELECT total FROM leaf").scalar() == 31
    assert history(chain, "leaf")[-1][1] == "REINITIALIZE"


def test_target_lag_below_one_minute_is_rejected(engine: Engine) -> None:
    engine.execute("CREATE TABLE base (n INT)")
    with pytest.raises(SqlError, match="60 seconds"):
        engine.execute("CREATE DYNAMIC TABLE d TARGET_LAG = '30 seconds' WAREHOUSE = wh AS SELECT n FROM base")
