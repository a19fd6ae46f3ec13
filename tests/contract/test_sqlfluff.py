"""The SQL moviecdc sends to Snowflake, checked by sqlfluff's Snowflake dialect: every
rendered template statement must parse; statements sqlfluff cannot parse are listed
as known exceptions, each with the reason."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from moviecdc.clock import ManualClock
from moviecdc.config import Settings
from moviecdc.deploy import teardown
from moviecdc.render import render_all, template_variables
from moviecdc.scheduler import run_snowflake_once
from moviecdc.status import collect_status
from tests.contract.test_contract import NS, RecordingLocal, run_deploy

sqlfluff = pytest.importorskip("sqlfluff")

# statements sqlfluff's Snowflake dialect does not parse (yet), by their first words
KNOWN_EXCEPTIONS = {
    "SHOW DYNAMIC TABLES": "sqlfluff has no grammar for SHOW DYNAMIC TABLES",
}


def parses(sql: str) -> bool:
    try:
        sqlfluff.parse(sql + ";", dialect="snowflake")
    except sqlfluff.api.APIParsingError:
        return False
    return True


def test_every_rendered_template_statement_parses() -> None:
    for script in render_all(None, template_variables(Settings(), {"dashboard_role": "DASHBOARD_READER"})):
        for stmt in script.statements:
            assert parses(stmt.sql), f"{script.name}:{stmt.line} does not parse in sqlfluff"


def test_monitoring_run_and_teardown_sql_parses_or_is_a_known_exception() -> None:
    wh = RecordingLocal(ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC)))
    run_deploy(wh)
    wh.statements.clear()
    collect_status(wh, "MOVIECDC", "CDC")
    run_snowflake_once(wh, NS, sleep=lambda s: None)
    teardown(wh, render_all(None, template_variables(Settings())), NS)
    failures = {s for s in wh.statements if not parses(s)}
    unexpected = {s for s in failures if not any(s.startswith(k) for k in KNOWN_EXCEPTIONS)}
    assert not unexpected, unexpected
    assert {k for k in KNOWN_EXCEPTIONS if any(s.startswith(k) for s in failures)} == set(KNOWN_EXCEPTIONS)
    assert len(wh.statements) > 10
