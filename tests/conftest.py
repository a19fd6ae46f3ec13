"""Shared fixtures: a manual clock, an in-memory engine, a deployed pipeline."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from moviecdc.clock import ManualClock
from moviecdc.config import Settings
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


@functools.cache
def _statements(overrides: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    scripts = render_all(None, template_variables(Settings(), dict(overrides)))
    return tuple(stmt.sql for script in scripts for stmt in script.statements)


def deploy_pipeline(wh: LocalWarehouse, **overrides: str) -> None:
    """Apply the shipped templates, as `moviecdc deploy` does."""
    for sql in _statements(tuple(sorted(overrides.items()))):
        wh.execute(sql)


@pytest.fixture
def pipeline(clock: ManualClock) -> Iterator[LocalWarehouse]:
    """A freshly deployed pipeline on an in-memory local engine."""
    wh = LocalWarehouse(":memory:", clock=clock)
    deploy_pipeline(wh)
    yield wh
    wh.close()
