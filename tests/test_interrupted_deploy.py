"""A deploy killed anywhere leaves the pipeline able to move: the next `run --once`
resumes a task the deploy had suspended and delivers every pending change exactly once.

Each trial forks a child that deploys (every script, as `deploy --all` does) through a
warehouse that SIGKILLs the process just before its n-th statement: before, inside and
after the task's suspension (050 suspends it, 090 resumes it). The parent then changes
the source again, runs `moviecdc run --once` as a user would, and holds the events to
the independent exactly-once model (tests/exactly_once.py).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest

from moviecdc import deploy_log
from moviecdc.config import Settings
from moviecdc.deploy import deploy
from moviecdc.emulator.scheduler import run_pending
from moviecdc.errors import MovieCdcError
from moviecdc.render import render_all, template_variables
from moviecdc.results import Rows
from moviecdc.simulate.generator import ChangeGenerator
from moviecdc.simulate.runner import INSERT_COLUMNS, apply_changes, booking_row
from moviecdc.warehouse.local import LocalWarehouse
from tests.conftest import NS
from tests.exactly_once import Ledger
from tests.test_cli import run as run_cli

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
SCHEMA = json.loads((Path(__file__).parents[1] / "docs" / "status.schema.json").read_text())
SCRIPTS = render_all(None, template_variables(Settings(), {}))


class Recording:
    """A warehouse that records each statement and dies before the ``kill_at``-th one."""

    def __init__(self, wh: LocalWarehouse, kill_at: int | None = None) -> None:
        self.wh, self.kill_at, self.sent = wh, kill_at, []  # type: list[str]
        self.target = wh.target

    def execute(self, sql: str, params: Sequence[object] | None = None) -> Rows:
        if self.kill_at is not None and len(self.sent) == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        self.sent.append(sql)
        return self.wh.execute(sql, params)

    def __getattr__(self, name: str) -> object:
        return getattr(self.wh, name)


def deploy_statements(tmp_path: Path) -> list[str]:
    """Every statement a redeploy sends, in order (recorded on a scratch pipeline)."""
    with LocalWarehouse(tmp_path / "scratch.duckdb") as wh:
        deploy(wh, SCRIPTS, ns=NS)
        rec = Recording(wh)
        deploy(rec, SCRIPTS, ns=NS)  # type: ignore[arg-type]
    return rec.sent


def index_of(sent: list[str], start: str, after: int = 0) -> int:
    return next(i for i, sql in enumerate(sent) if i >= after and sql.lstrip().upper().startswith(start.upper()))


def kill_points(sent: list[str]) -> dict[str, int]:
    suspend = index_of(sent, "ALTER TASK IF EXISTS")
    resume = index_of(sent, f"ALTER TASK {NS}.consume_stream_task RESUME")
    return {
        "before the suspension": index_of(sent, "CREATE TABLE IF NOT EXISTS MOVIECDC.CDC.raw_movie_bookings"),
        "just before the suspension": suspend,
        "after the suspension": suspend + 1,
        "after the task changed": index_of(sent, "CREATE OR ALTER DYNAMIC TABLE", after=suspend),
        "just before the resume": resume,
        "after the resume": resume + 1,
    }


def in_child(db: Path, kill_at: int) -> int:
    sys.stdout.flush()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            with LocalWarehouse(db) as wh:
                deploy(Recording(wh, kill_at), SCRIPTS, ns=NS)  # type: ignore[arg-type]
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)


def cli(args: list[str], db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return run_cli(args, {"MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}, capsys)


def task_state(db: Path) -> str:
    with LocalWarehouse(db, read_only=True) as wh:
        return str(wh.execute(f"SHOW TASKS IN SCHEMA {NS}").dicts()[0]["state"])


def trial(tmp_path: Path, capsys: pytest.CaptureFixture[str], kill_at: int, inside: bool) -> None:
    """Kill a redeploy before statement ``kill_at`` (``inside``: the task is suspended then)."""
    point = f"killed before statement {kill_at}"
    db = tmp_path / f"p{kill_at}.duckdb"
    gen = ChangeGenerator(kill_at)
    ledger = Ledger()
    with LocalWarehouse(db) as wh:
        deploy(wh, SCRIPTS, ns=NS)
        wh.insert_rows(f"{NS}.raw_movie_bookings", INSERT_COLUMNS, [booking_row(b) for b in gen.bookings(30)])
    with LocalWarehouse(db) as wh:
        run_pending(wh.engine, catch_up=True)
        ledger.check(wh)
        apply_changes(wh, NS, gen.changes(25))  # pending when the deploy starts
    assert in_child(db, kill_at) == -signal.SIGKILL, point
    assert task_state(db) == ("suspended" if inside else "started"), point
    code, out, _ = cli(["status", "--json"], db, capsys)
    status = json.loads(out)
    jsonschema.validate(status, SCHEMA)
    told = [f for f in status["findings"] if "did not finish" in f["message"]]
    assert bool(told) == inside and all(f["level"] == "FAIL" and "moviecdc run" in f["message"] for f in told)
    with LocalWarehouse(db) as wh:
        apply_changes(wh, NS, gen.changes(25))  # and more after the crash
    code, out, err = cli(["run", "--once"], db, capsys)
    assert code == 0, err
    if inside:
        assert "did not finish and left task consume_stream_task suspended: resumed it" in err, point
    assert "SUCCEEDED" in out
    assert task_state(db) == "started"
    with LocalWarehouse(db) as wh:
        ledger.check(wh)  # every change before and after the crash, exactly once
        pending = wh.execute(f"SELECT SYSTEM$STREAM_HAS_DATA('{NS}.movie_bookings_stream')").scalar()
        assert pending is False
    code, out, _ = cli(["status", "--json"], db, capsys)
    assert "did not finish" not in out  # recovered: nothing left to report
    assert cli(["deploy"], db, capsys)[0] == 0  # and a deploy afterwards finishes cleanly


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return deploy_statements(tmp_path_factory.mktemp("scratch"))


@pytest.mark.parametrize(
    "point",
    ["after the task changed",
     pytest.param("before the suspension", marks=pytest.mark.slow),
     pytest.param("after the resume", marks=pytest.mark.slow)],
)  # fmt: skip
def test_killed_deploy_then_run_once_delivers_every_change_exactly_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], point: str, sent: list[str]
) -> None:
    points = kill_points(sent)
    trial(
        tmp_path,
        capsys,
        points[point],
        inside=points["after the suspension"] <= points[point] <= points["just before the resume"],
    )


@pytest.mark.slow
def test_killed_deploy_at_every_statement(tmp_path: Path, capsys: pytest.CaptureFixture[str], sent: list[str]) -> None:
    suspend = index_of(sent, "ALTER TASK IF EXISTS")
    resume = index_of(sent, f"ALTER TASK {NS}.consume_stream_task RESUME")
    for kill_at in range(len(sent)):
        trial(tmp_path, capsys, kill_at, inside=suspend < kill_at <= resume)


def test_a_failed_deploy_resumes_the_task_it_suspended(tmp_path: Path) -> None:
    with LocalWarehouse(tmp_path / "f.duckdb") as wh:
        deploy(wh, SCRIPTS, ns=NS)
        target = next(s for s in SCRIPTS if s.name.startswith("060"))
        broken_060 = dataclasses.replace(
            target, statements=(dataclasses.replace(target.statements[0], sql="SELECT no_such_column FROM nowhere"),)
        )
        notes: list[str] = []
        with pytest.raises(MovieCdcError, match="deploy stopped at 060"):
            deploy(wh, [*[s for s in SCRIPTS if s.name < "060"], broken_060], ns=NS, on_note=notes.append)
        assert wh.execute(f"SHOW TASKS IN SCHEMA {NS}").dicts()[0]["state"] == "started"
        assert notes == ["task consume_stream_task resumed: this deploy had suspended it to change it"]
        outcome = wh.execute(f"SELECT outcome FROM {NS}.MOVIECDC_DEPLOY_HISTORY WHERE script = '(deploy)'"
                             " ORDER BY applied_at DESC LIMIT 1").scalar()  # fmt: skip
        assert outcome == "FAILED"
        assert deploy_log.recover(wh, NS) is None  # nothing left open


class AsSnowflake:
    """The local engine behind a warehouse that says it is Snowflake (other sessions may deploy)."""

    target = "snowflake"

    def __init__(self, wh: LocalWarehouse) -> None:
        self.wh = wh

    def execute(self, sql: str, params: Sequence[object] | None = None) -> Rows:
        return self.wh.execute(sql, params)


def test_on_snowflake_a_recent_unfinished_deploy_is_only_reported(tmp_path: Path) -> None:
    with LocalWarehouse(tmp_path / "s.duckdb") as wh:
        deploy(wh, SCRIPTS, ns=NS)
        wh.execute(f"ALTER TASK {NS}.consume_stream_task SUSPEND")
        assert deploy_log.start(wh, NS, "ci") is not None  # a deploy in another session, just started
        sf = AsSnowflake(wh)
        note = deploy_log.recover(sf, NS)  # type: ignore[arg-type]
        assert note is not None and "did not finish yet" in note and "`moviecdc deploy` finishes it" in note
        assert wh.execute(f"SHOW TASKS IN SCHEMA {NS}").dicts()[0]["state"] == "suspended"  # left alone
        wh.execute(f"UPDATE {NS}.MOVIECDC_DEPLOY_HISTORY SET applied_at = DATEADD('second', -?, applied_at)"
                   " WHERE script = '(deploy)'", [deploy_log.ABANDONED_AFTER + 1])  # fmt: skip
        note = deploy_log.recover(sf, NS)  # type: ignore[arg-type]
        assert note is not None and "resumed it" in note
        assert wh.execute(f"SHOW TASKS IN SCHEMA {NS}").dicts()[0]["state"] == "started"
