"""Shared fixtures: a manual clock, an in-memory engine, a deployed pipeline."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from moviecdc.config import Settings
from moviecdc.emulator.clock import ManualClock
from moviecdc.emulator.engine import Engine
from moviecdc.render import render_all, template_variables
from moviecdc.warehouse.local import LocalWarehouse

NS = "MOVIECDC.CDC"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 9, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def engine(clock: ManualClock) -> Iterator[Engine]:
    eng = Engine(":memory:", clock=clock, database="DB", schema="S")
    yield eng
    eng.close()


def deploy_pipeline(wh: LocalWarehouse, **overrides: str) -> None:
    for script in render_all(None, template_variables(Settings(), overrides)):
        for stmt in script.statements:
            wh.execute(stmt.sql)


@pytest.fixture
def pipeline(clock: ManualClock) -> Iterator[LocalWarehouse]:
    """A freshly deployed pipeline on an in-memory local engine."""
    wh = LocalWarehouse(":memory:", clock=clock)
    deploy_pipeline(wh)
    yield wh
    wh.close()
