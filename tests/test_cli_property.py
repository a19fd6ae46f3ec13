"""Random option values thrown at every command: whatever the input, the CLI answers with
a documented exit code (0, 1, 2, 3) and, when it fails, ends with one ``Error:`` line,
never a traceback and never the "unexpected" catch-all that is kept for bugs.

Options that would make a command run on (``run`` without ``--once``, ``status --watch``
with a valid period, ``simulate --rate`` without ``--duration``) are bounded; the dashboard
is left out (it starts a server: tests/test_dashboard_process.py).
"""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from moviecdc.cli import cli
from tests.test_cli import run

pytestmark = pytest.mark.slow

NASTY = ["", "0", "-1", "1", "3", "nan", "inf", "-inf", "1e308", "-0", "10000000000000", "abc", "x; DROP TABLE y",
         "'", '"', "\\", "\x00", "é", "🎬", "2025-13-45", "2025-09-01", "2025-09-01T25:00:00", "a=b", "=", ",",
         "insert=1e308,update=1e308", "insert=1", "bogus=1", "schema=TEST", "schema=", "shema=x", "ns=x",
         "schema=temp", 'schema="cdc"', "target_lag=0 seconds", "task_schedule=never", "json", "csv", "table",
         "/", "/etc/passwd", "SELECT 1", "SELECT * FROM read_csv('/etc/passwd')", "select", " " * 3, "x" * 300]  # fmt: skip
COMMANDS = {name: cmd for name, cmd in cli.commands.items() if name != "dashboard"}


def plausible(param: click.Option) -> st.SearchStrategy[str]:
    """A value of the option's own type (most examples should get past parsing)."""
    kind = param.type
    if isinstance(kind, click.Choice):
        return st.sampled_from([str(c) for c in kind.choices])
    if isinstance(kind, click.IntRange):
        low = int(kind.min if kind.min is not None else 0)
        return st.integers(low, low + 40).map(str)
    if isinstance(kind, click.FloatRange):
        return st.floats(0.1, 2).map(lambda f: f"{f:.2f}")
    if isinstance(kind, click.DateTime):
        return st.sampled_from(["2025-09-01", "2025-09-15", "2025-10-01", "2025-09-02T10:00:00"])
    if param.name == "var":
        return st.sampled_from(["schema=TEST", "target_lag=5 minutes", "task_schedule=2 MINUTE", "warehouse=WH"])
    if param.name == "query":
        return st.sampled_from(["SELECT 1", "SELECT count(*) FROM raw_movie_bookings", "SHOW TASKS", "SELECT 1/0",
                                "DELETE FROM raw_movie_bookings WHERE 1 = 0", "SELECT * FROM nope"])  # fmt: skip
    if param.name == "mix":
        return st.sampled_from(["insert=1", "insert=.5,update=.5", "cancel=1,delete=1"])
    return st.sampled_from(NASTY)


@st.composite
def invocation(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(sorted(COMMANDS)))
    args = [name]
    for param in COMMANDS[name].params:
        if not isinstance(param, click.Option) or not draw(st.booleans()):
            continue
        flag = param.opts[-1] if param.opts[-1].startswith("--") else param.opts[0]
        if param.is_flag:
            args.append(flag)
            continue
        for _ in range(draw(st.integers(1, 2)) if param.multiple else 1):
            nasty = draw(st.integers(0, 9)) < 3
            value = st.one_of(st.sampled_from(NASTY), st.text(max_size=12)) if nasty else plausible(param)
            args += [flag, draw(value)]
    if draw(st.integers(0, 9)) == 0:
        args.append(draw(st.sampled_from(["--bogus", "extra", "-x"])))
    if name == "run" and "--once" not in args:
        args.append("--once")
    if name == "status" and "--watch" in args:
        i = args.index("--watch")
        args[i + 1] = "nan"  # a valid period would redraw until Ctrl-C
    if name == "simulate":
        args += ["--duration", "0.2"]  # --rate stops; the last --duration wins
        args += ["--batch-size", "500"] if "--bookings" in args or "--changes" in args else []
    return args


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    db = tmp_path_factory.mktemp("cli_property") / "db.duckdb"
    env = {"MOVIECDC_DB": str(db), "MOVIECDC_TARGET": "local"}
    return env


@settings(max_examples=250, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])  # fmt: skip
@given(args=invocation(), fresh=st.booleans())
def test_any_option_values_give_a_documented_exit_and_one_error_line(
    args: list[str], fresh: bool, deployed: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    if not fresh and not Path(deployed["MOVIECDC_DB"]).exists():
        run(["deploy"], deployed, capsys)
    for bounded in ("--bookings", "--changes"):  # keep each example quick
        if bounded in args:
            i = args.index(bounded)
            if i + 1 < len(args) and args[i + 1].isdigit() and int(args[i + 1]) > 2000:
                args[i + 1] = "2000"
    code, _, err = run(args, deployed, capsys)
    assert code in (0, 1, 2, 3), (args, code, err)
    assert "Traceback" not in err and "Error: unexpected" not in err, (args, err)  # the catch-all for bugs
    verdict = args[0] == "lint" or (args[0] == "status" and "--check" in args)  # exit 1 is their answer
    if code in (2, 3) or (code == 1 and not verdict):
        assert err.strip().splitlines()[-1].startswith("Error: "), (args, err)
