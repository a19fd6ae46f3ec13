"""One SQL, two engines: the same commands send the same statements to the local
engine and, through the real Snowflake code path (SnowflakeWarehouse, its connect
arguments, qmark parameters and error mapping), to a recording stand-in for
``snowflake.connector`` that runs what it receives on a local engine.

Sequences are checked for deploy, redeploy with and without changes, teardown and
``run --once``; every rendered statement parses in sqlglot's Snowflake dialect or is a
statement the engine's own parser handles.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import sqlglot

from moviecdc.clock import ManualClock
from moviecdc.config import Settings
from moviecdc.connection import check_connection
from moviecdc.deploy import deploy, plan, teardown
from moviecdc.dialect import ddl
from moviecdc.errors import MovieCdcError, SqlError
from moviecdc.render import render_all, template_variables
from moviecdc.scheduler import run_snowflake_once
from moviecdc.warehouse.base import Rows
from moviecdc.warehouse.local import LocalWarehouse
from moviecdc.warehouse.snowflake import SnowflakeWarehouse
from tests.test_snowflake_warehouse import ERRORS, FakeProgrammingError

NS = "MOVIECDC.CDC"


def scripts(**overrides: str) -> list[Any]:
    return render_all(None, template_variables(Settings(), overrides))


class EngineCursor:
    """A DB-API cursor that runs statements on a local engine and records them."""

    def __init__(self, conn: EngineConnection) -> None:
        self.conn, self.description, self.rowcount, self._rows = conn, None, None, []

    def execute(self, sql: str, params: list[object] | None = None) -> EngineCursor:
        self.conn.statements.append(sql)
        canned = self.conn.canned(sql)
        try:
            res = canned if canned is not None else self.conn.engine.execute(sql, params)
        except SqlError as exc:
            raise FakeProgrammingError(f"002003 (02000): SQL compilation error: {exc.message}", errno=2003) from None
        self.description = [(c, 0) for c in res.columns] or None
        self._rows, self.rowcount = list(res.rows), res.rowcount
        return self

    def fetchall(self) -> list[tuple[object, ...]]:
        return self._rows

    def close(self) -> None:
        pass


class EngineConnection:
    def __init__(self, engine: Any) -> None:
        self.engine, self.statements = engine, []

    def cursor(self) -> EngineCursor:
        return EngineCursor(self)

    def close(self) -> None:
        pass

    def canned(self, sql: str) -> Rows | None:
        """Account-level answers a local engine cannot give (recorded result shapes)."""
        if sql.startswith("SELECT CURRENT_ACCOUNT()"):
            return Rows(columns=["A", "U", "R", "W", "D", "S"], rows=[("XY12345", "DEPLOYER", "PIPELINE_ADMIN",
                                                                          "COMPUTE_WH", "MOVIECDC", "CDC")])  # fmt: skip
        if sql.startswith("SHOW GRANTS TO ROLE"):
            cols = ["created_on", "privilege", "granted_on", "name", "granted_to", "grantee_name", "grant_option",
                    "granted_by"]  # fmt: skip
            grants = {
                '"PIPELINE_ADMIN"': [("USAGE", "WAREHOUSE", "COMPUTE_WH"), ("USAGE", "DATABASE", "MOVIECDC"),
                                     ("OWNERSHIP", "SCHEMA", "MOVIECDC.CDC"), ("USAGE", "ROLE", "TASK_RUNNER")],
                '"TASK_RUNNER"': [("EXECUTE TASK", "ACCOUNT", "XY12345")],
            }.get(sql.split()[-1], [])  # fmt: skip
            t0 = datetime(2025, 1, 1, tzinfo=UTC)
            return Rows(columns=cols, rows=[(t0, p, o, n, "ROLE", "X", "false", "ACCOUNTADMIN") for p, o, n in grants])
        if sql.startswith("SHOW SCHEMAS LIKE"):
            return Rows(columns=["created_on", "name"], rows=[(datetime(2025, 1, 1, tzinfo=UTC), "CDC")])
        return None


class RecordingLocal(LocalWarehouse):
    """The local target, recording what it is asked to run."""

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(":memory:", clock=clock)
        self.statements: list[str] = []

    def execute(self, sql: str, params: Any = None) -> Rows:
        self.statements.append(sql)
        return super().execute(sql, params)


def snowflake_target(clock: ManualClock) -> tuple[SnowflakeWarehouse, list[str]]:
    engine = LocalWarehouse(":memory:", clock=clock).engine
    conn = EngineConnection(engine)
    module = SimpleNamespace(errors=ERRORS, connect=lambda **kwargs: conn, kwargs=None)
    settings = Settings(target="snowflake", account="xy12345", user="deployer", password="pw", warehouse="COMPUTE_WH")
    return SnowflakeWarehouse(settings, query_tag="moviecdc:deploy", connector=module), conn.statements


@pytest.fixture(params=["local", "snowflake"])
def target(request: pytest.FixtureRequest) -> tuple[Any, list[str]]:
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    if request.param == "local":
        wh = RecordingLocal(clock)
        return wh, wh.statements
    return snowflake_target(clock)


def verbs(statements: list[str]) -> list[str]:
    """The first words of each statement (enough to tell the sequence apart)."""
    return [" ".join(re.sub(r"\s+", " ", s).split(" ")[:3]) for s in statements]


def run_deploy(wh: Any, **overrides: str) -> list[str]:
    rendered = scripts(**overrides)
    items = plan(wh, NS, rendered)
    deploy(wh, rendered, ns=NS, items=items)
    return [i.status for i in items]


def test_first_deploy_sends_every_statement_and_records_history(target: tuple[Any, list[str]]) -> None:
    wh, sent = target
    assert run_deploy(wh) == ["new"] * 8 + ["always", "new"]
    rendered = [st.sql for s in scripts() for st in s.statements]
    applied = [
        s
        for s in sent
        if not s.startswith(
            (
                "SELECT script",
                "SHOW ",
                "DESCRIBE TABLE",
                "CREATE TABLE IF NOT EXISTS MOVIECDC.CDC.MOVIECDC_DEPLOY",
                "INSERT INTO MOVIECDC.CDC.MOVIECDC_DEPLOY",
                "SELECT applied_at",
                "UPDATE MOVIECDC.CDC.MOVIECDC_DEPLOY",
            )
        )
    ]
    assert applied == rendered
    # one row per script, and the deploy's own row (STARTED, then FINISHED)
    assert sum(s.startswith("INSERT INTO MOVIECDC.CDC.MOVIECDC_DEPLOY_HISTORY") for s in sent) == 11


def test_redeploy_without_changes_only_resumes_the_task(target: tuple[Any, list[str]]) -> None:
    wh, sent = target
    run_deploy(wh)
    sent.clear()
    assert run_deploy(wh) == ["unchanged"] * 8 + ["always", "unchanged"]
    applied = [
        s
        for s in verbs(sent)
        if not s.startswith(
            (
                "SELECT script",
                "SHOW ",
                "DESCRIBE TABLE",
                "CREATE TABLE IF",
                "INSERT INTO MOVIECDC.CDC.MOVIECDC_DEPLOY_HISTORY",
                "SELECT applied_at",
                "UPDATE MOVIECDC.CDC.MOVIECDC_DEPLOY_HISTORY",
            )
        )
    ]
    assert applied == [
        "ALTER DYNAMIC TABLE", "ALTER DYNAMIC TABLE", "ALTER TASK MOVIECDC.CDC.consume_stream_task",
    ]  # fmt: skip


def test_redeploy_with_a_changed_lag_applies_that_script(target: tuple[Any, list[str]]) -> None:
    wh, sent = target
    run_deploy(wh)
    sent.clear()
    statuses = run_deploy(wh, target_lag="10 minutes")
    assert statuses[7] == "changed" and statuses.count("changed") == 1
    assert any(s.startswith("CREATE OR ALTER DYNAMIC TABLE MOVIECDC.CDC.movie_booking_insights") for s in sent)
    assert (
        wh.execute(f"SHOW DYNAMIC TABLES LIKE 'MOVIE_BOOKING_INSIGHTS' IN SCHEMA {NS}").dicts()[0]["target_lag"]
        == "10 minutes"
    )


def test_teardown_sequence(target: tuple[Any, list[str]]) -> None:
    wh, sent = target
    run_deploy(wh)
    sent.clear()
    teardown(wh, scripts(), NS)
    assert verbs(sent) == [
        "ALTER TASK IF", "DROP DYNAMIC TABLE", "DROP DYNAMIC TABLE", "DROP TASK IF", "DROP TABLE IF",
        "DROP STREAM IF", "DROP TABLE IF", "DROP TABLE IF", "DROP TABLE IF",
    ]  # fmt: skip
    assert wh.execute(f"SHOW TASKS IN SCHEMA {NS}").rows == []


def test_a_quoted_schema_stays_quoted_in_every_statement_sent(target: tuple[Any, list[str]]) -> None:
    """On Snowflake MOVIECDC.cdc.X names schema CDC: a quote lost in deploy or teardown
    would touch another schema's objects."""
    wh, sent = target
    ns = 'MOVIECDC."cdc_test"'
    rendered = scripts(schema='"cdc_test"')
    deploy(wh, rendered, ns=ns, items=plan(wh, ns, rendered))
    report = teardown(wh, rendered, ns)
    after = [m for s in sent for m in re.findall(r"MOVIECDC\.(\S+)", s, re.IGNORECASE)]
    assert after and all(m.startswith('"cdc_test"') for m in after), [m for m in after if '"cdc_test"' not in m]
    assert len(report.dropped) == 8  # seven objects and the deploy history
    assert len(teardown(wh, rendered, ns).dropped) == 0


def test_run_once_sequence(target: tuple[Any, list[str]]) -> None:
    wh, sent = target
    run_deploy(wh)
    wh.execute(f"INSERT INTO {NS}.raw_movie_bookings (booking_id, status) VALUES (?, ?)", ["B1", "BOOKED"])
    sent.clear()
    report = run_snowflake_once(wh, NS, sleep=lambda s: None)
    assert report.ok, report.steps
    assert [step.label for step in report.steps] == [
        "EXECUTE TASK consume_stream_task", "REFRESH movie_bookings_filtered", "REFRESH movie_booking_insights",
    ]  # fmt: skip
    assert [v for v in verbs(sent) if not v.startswith("SELECT STATE,")] == [
        "EXECUTE TASK MOVIECDC.CDC.consume_stream_task",
        "ALTER DYNAMIC TABLE", "ALTER DYNAMIC TABLE",
    ]  # fmt: skip
    assert wh.execute(f"SELECT COUNT(*) FROM {NS}.movie_booking_cdc_events").scalar() == 1


def test_the_snowflake_target_sends_the_connector_the_sql_the_local_target_runs() -> None:
    """What goes over the wire: the statements SnowflakeWarehouse hands the connector equal
    those the local target runs. (The stand-in connector answers from a local engine, so
    this checks what is sent, not how Snowflake would answer.)"""
    clock = ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))
    local = RecordingLocal(clock)
    remote, sent = snowflake_target(ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC)))
    for wh in (local, remote):
        run_deploy(wh)
        run_deploy(wh, target_lag="5 minutes")
        teardown(wh, scripts(), NS)
    assert len(sent) > 30 and local.statements == sent


def test_connection_check_on_a_snowflake_shaped_account() -> None:
    wh, _ = snowflake_target(ManualClock())
    report = check_connection(wh, "MOVIECDC", "CDC", "COMPUTE_WH")
    assert report.identity["role"] == "PIPELINE_ADMIN"
    assert report.ok, [r for r in report.requirements if not r.granted]  # EXECUTE TASK comes through TASK_RUNNER
    assert {r.privilege for r in report.requirements} >= {"EXECUTE TASK", "CREATE TASK", "CREATE DYNAMIC TABLE"}


def test_snowflake_errors_are_one_line_sql_errors_with_the_statement() -> None:
    wh, _ = snowflake_target(ManualClock())
    with pytest.raises(MovieCdcError, match=r"(?i)no_such_table") as err:
        wh.execute("SELECT * FROM no_such_table")
    assert "\n" not in str(err.value)


def test_every_rendered_statement_parses() -> None:
    """sqlglot's Snowflake dialect parses it, or it is a statement our own parser handles."""
    for script in scripts(dashboard_role="DASHBOARD_READER"):
        for stmt in script.statements:
            if ddl.parse_cdc(stmt.sql) is not None:
                continue
            expr = sqlglot.parse_one(stmt.sql, read="snowflake", error_level=sqlglot.ErrorLevel.RAISE)
            if isinstance(expr, sqlglot.exp.Command):  # raw fallback: only access control may land here
                assert stmt.sql.split()[0].upper() in {"GRANT", "CREATE"}, stmt.sql
                assert stmt.sql.split()[0].upper() == "GRANT" or " ROLE " in stmt.sql.upper(), stmt.sql


def test_query_tag_names_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    from moviecdc.warehouse import connect

    seen: list[dict[str, Any]] = []
    engine = LocalWarehouse(":memory:").engine
    module = SimpleNamespace(errors=ERRORS, connect=lambda **kw: seen.append(kw) or EngineConnection(engine))
    monkeypatch.setattr("moviecdc.warehouse.snowflake._import_connector", lambda: module)
    settings = Settings(target="snowflake", account="xy12345", user="deployer", password="pw")
    connect(settings, command="status").close()
    assert seen[0]["session_parameters"] == {"QUERY_TAG": "moviecdc:status"}
    assert seen[0]["login_timeout"] == 30 and seen[0]["paramstyle"] == "qmark"


def test_plan_says_which_dynamic_table_will_reinitialise(tmp_path: Any) -> None:
    import shutil

    from moviecdc.render import template_dir

    wh = RecordingLocal(ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC)))
    run_deploy(wh)
    own = tmp_path / "sql"
    shutil.copytree(template_dir(), own)
    path = own / "070_movie_booking_insights.sql"
    path.write_text(path.read_text().replace("SUM(tickets) AS tickets_sold", "SUM(tickets) + 0 AS tickets_sold"))
    lag_only = plan(wh, NS, scripts(target_lag="7 minutes"))
    assert [i.notes for i in lag_only if i.status == "changed"] == [()]
    items = plan(wh, NS, render_all(own, template_variables(Settings())))
    changed = [i for i in items if i.status == "changed"]
    assert [i.script.name for i in changed] == ["070_movie_booking_insights.sql"]
    assert changed[0].notes == ("MOVIE_BOOKING_INSIGHTS will reinitialise: its query changed",)


def test_simulate_sends_both_targets_the_same_statements_and_makes_the_same_rows() -> None:
    """A seed's bulk load is generated on the target (one statement, no rows sent) and its
    changes look up only the ids they draw: the same statements to the local engine and to
    the connector, and the same table after them."""
    from moviecdc.simulate.runner import INSERT_COLUMNS
    from moviecdc.simulate.session import Simulation, SimulationPlan

    local = RecordingLocal(ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC)))
    remote, sent = snowflake_target(ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC)))
    tables = []
    for wh, statements in ((local, local.statements), (remote, sent)):
        run_deploy(wh)
        del statements[:]
        for seed, what in ((4, {"sample": True, "bookings": 3000, "changes": 400}), (5, {"changes": 600})):
            Simulation(SimulationPlan(seed=seed, batch_size=250, **what), NS, seed).run(wh)
        cols = "booking_id, customer_id, movie_id, booking_date, status, ticket_count, ticket_price"
        tables.append(wh.execute(f"SELECT {cols} FROM {NS}.raw_movie_bookings ORDER BY {cols}").rows)
    # new bookings of a change batch travel as bound rows: through `insert_rows`, which the
    # local target runs as an Arrow insert and the connector as one INSERT ... VALUES
    values = f"INSERT INTO {NS}.raw_movie_bookings ({', '.join(INSERT_COLUMNS)}) VALUES"
    assert local.statements == [s for s in sent if not s.startswith(values)]
    generating = [s for s in sent if "TABLE(GENERATOR(ROWCOUNT => 3000))" in s]
    assert len(generating) == 1 and generating[0].startswith(f"INSERT INTO {NS}.raw_movie_bookings")
    assert tables[0] == tables[1] and len(tables[0]) > 3000
