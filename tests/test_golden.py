"""Golden files (tests/golden/*.sql): ordinary Snowflake statements, each case run on a
fresh local engine, its last statement's rows compared with the rows Snowflake returns.

A case is ``-- case: <name>``, its statements (each ending with ``;``), then one of:

- ``-- expect`` and one JSON array per row. A JSON object or array in a cell is compared
  with the cell parsed as JSON (the connector returns VARIANT, OBJECT and ARRAY as JSON
  text); dates and times are ISO strings, so a TIMESTAMP never passes for a DATE; numbers
  compare by value;
- ``-- expect ok``: the last statement succeeds; ``-- expect some rows``;
- ``-- expect first row starts`` and one JSON array: the first row's first cells;
- ``-- expect error [code]``: the last statement fails (with Snowflake's error code);
- ``-- expect refused <words>``: the engine refuses it as not supported, in one line that
  names the construct (``<words>`` appear in it), rather than answer differently.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from moviecdc.dialect.split import split_statements
from moviecdc.errors import SqlError, UnsupportedSqlError
from moviecdc.results import jsonable
from moviecdc.warehouse.local import LocalWarehouse

GOLDEN = Path(__file__).parent / "golden"


@dataclass
class Case:
    file: str
    name: str
    statements: list[str]
    expect: str  # "rows", "ok", "some", "prefix", "error", "refused"
    rows: list[list[object]]
    detail: str = ""


def load(path: Path) -> list[Case]:
    cases: list[Case] = []
    for block in re.split(r"(?m)^-- case: ", path.read_text())[1:]:
        name, _, body = block.partition("\n")
        sql, _, tail = body.partition("-- expect")
        mode, _, rest = tail.partition("\n")
        mode = mode.strip()
        rows = [json.loads(line) for line in rest.splitlines() if line.strip() and not line.startswith("--")]
        kind, _, detail = mode.partition(" ")
        expect = {"": "rows", "ok": "ok", "some": "some", "first": "prefix", "error": "error", "refused": "refused"}[
            kind
        ]
        statements = [s.sql for s in split_statements(sql)]
        cases.append(Case(path.name, name.strip(), statements, expect, rows, detail.strip()))
    return cases


CASES = [c for path in sorted(GOLDEN.glob("*.sql")) for c in load(path)]


def same(expected: object, got: object) -> bool:
    if isinstance(expected, dict | list):
        if isinstance(got, str):
            try:
                got = json.loads(got)
            except ValueError:
                return False
        return got == expected
    if isinstance(expected, bool) or isinstance(got, bool):
        return type(expected) is type(got) and expected == got
    if isinstance(expected, int | float):
        if isinstance(got, Decimal | int | float) and not isinstance(got, bool):
            return math.isclose(float(expected), float(got), rel_tol=1e-12)
        return False
    return jsonable(got) == expected


@pytest.mark.parametrize("case", CASES, ids=[f"{c.file}::{c.name}" for c in CASES])
def test_golden(case: Case) -> None:
    with LocalWarehouse(":memory:") as wh:
        for sql in case.statements[:-1]:
            wh.execute(sql)
        last = case.statements[-1]
        if case.expect in {"error", "refused"}:
            with pytest.raises(SqlError) as err:
                wh.execute(last)
            if case.expect == "refused":
                assert isinstance(err.value, UnsupportedSqlError), err.value
                assert "not supported by the local engine" in str(err.value)
                assert case.detail.lower() in str(err.value).lower(), err.value
                assert "\n" not in str(err.value)
            elif case.detail:
                assert err.value.errno == int(case.detail), err.value
            return
        result = wh.execute(last)
    if case.expect == "ok":
        return
    if case.expect == "some":
        assert result.rows
        return
    if case.expect == "prefix":
        assert result.rows and all(same(e, g) for e, g in zip(case.rows[0], result.rows[0], strict=False))
        return
    assert len(result.rows) == len(case.rows), result.rows
    for want, got in zip(case.rows, result.rows, strict=True):
        assert len(want) == len(got) and all(same(e, g) for e, g in zip(want, got, strict=True)), (want, got)


def test_the_comparison_is_strict() -> None:
    """A DATE is not a TIMESTAMP, a JSON string is not its text, a float is not text."""
    from datetime import date, datetime

    assert same("2024-02-01", date(2024, 2, 1)) and not same("2024-02-01", datetime(2024, 2, 1))
    assert same({"a": 1}, '{"a": 1}') and not same("x", '"x"')
    assert same(3.5, Decimal("3.500000")) and not same(3.5, "3.5")
    assert not same(True, 1)


@pytest.mark.parametrize(
    ("sql", "errno", "sqlstate"),
    [
        ("SELECT * FROM no_such_table", 2003, "42S02"),
        ("SELECT no_such_column FROM (SELECT 1 AS a)", 904, "42000"),
        ("SELEC 1", 1003, "42000"),
        ("SELECT 1 / 0", 100051, "22012"),
        ("SELECT 'x'::INT", 100038, "22018"),
        ("USE SCHEMA no_such_schema", 2043, "02000"),
    ],
)
def test_errors_carry_snowflakes_code_and_sqlstate(sql: str, errno: int, sqlstate: str) -> None:
    with LocalWarehouse(":memory:") as wh, pytest.raises(SqlError) as err:
        wh.execute(sql)
    assert (err.value.errno, err.value.sqlstate) == (errno, sqlstate)
    assert str(err.value).startswith(f"{errno:06d} ({sqlstate}): ")
    assert "\n" not in str(err.value)


def test_random_with_a_seed_repeats() -> None:
    with LocalWarehouse(":memory:") as wh:
        first, second = (wh.execute("SELECT random(42)").scalar() for _ in range(2))
        other = wh.execute("SELECT random(7)").scalar()
    assert first == second != other
