"""The ``moviecdc`` command line: thin commands over the library."""

from __future__ import annotations

import atexit
import gc
import getpass
import math
import os
import re
import signal
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from moviecdc import __version__
from moviecdc.config import Settings, load, parse_vars
from moviecdc.errors import ConfigError, MovieCdcError

if TYPE_CHECKING:
    from moviecdc.warehouse.base import PipelineRun


@dataclass
class App:
    """What every command gets: the settings, built once from flags, env and .env."""

    settings: Settings

    def connect(self, command: str, *, read_only: bool = False) -> Any:
        """The target; only ``deploy`` may create the local database file."""
        from moviecdc.warehouse import connect

        return connect(self.settings, command=command, read_only=read_only, create=command == "deploy")

    def render(self, sql_dir: Path | None, var: tuple[str, ...]) -> tuple[list[Any], str]:
        """The rendered templates and the namespace they deploy to; ``--var database=`` and
        ``schema=`` also become the connection's (plan, history and messages follow them)."""
        from moviecdc.render import render_all, template_variables

        variables = template_variables(self.settings, parse_vars(var), sql_dir=sql_dir, check_names=True)
        self.settings = replace(self.settings, database=variables["database"], schema=variables["schema"])
        return render_all(sql_dir, variables), variables["ns"]

    @property
    def ns(self) -> str:
        """The settings' namespace (commands without --var)."""
        from moviecdc.render import namespace

        return namespace(self.settings)


pass_app = click.make_pass_decorator(App)


def template_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--sql-dir and --var, shared by the commands that render the templates."""
    fn = click.option("--var", multiple=True, metavar="KEY=VALUE", help="Template variable (repeatable).")(fn)
    return click.option("--sql-dir", type=click.Path(path_type=Path, file_okay=False), default=None,
                        help="Your own copy of the SQL templates.")(fn)  # fmt: skip


class _Seconds(click.FloatRange):
    """A number of seconds in a range: finite (``nan`` passes a plain FloatRange's checks)."""

    name = "seconds"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number of seconds", param, ctx)
        return number


def _json(value: object) -> str:
    from moviecdc.output import dumps

    return dumps(value)


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def _err(message: str) -> None:
    """One line on stderr, whatever the message holds (a path or value the user typed may
    carry newlines or control characters: they are escaped)."""
    flat = message.replace("\r\n", "\n").replace("\n", " ")
    click.echo(re.sub(r"[\x00-\x1f\x7f]", lambda m: f"\\x{ord(m.group()):02x}", flat), err=True)


# the order one uses them in: --help lists the commands so
WORKFLOW = ("deploy", "simulate", "run", "status", "dashboard", "sql", "lint", "teardown")


class _WorkflowGroup(click.Group):
    """Commands listed in workflow order rather than alphabetically."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        known = [c for c in WORKFLOW if c in self.commands]
        return known + sorted(c for c in self.commands if c not in WORKFLOW)


def _color() -> bool:
    """Colour on stdout: only on a terminal, and never with NO_COLOR set (no-color.org)."""
    return sys.stdout.isatty() and not os.environ.get("NO_COLOR")


def _next(app: App, hint: str) -> None:
    """What to do next, on stderr (stdout stays the command's result)."""
    if not os.environ.get("MOVIECDC_NO_HINTS"):
        _err(f"next: {hint}")


@click.group(cls=_WorkflowGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--target",
    type=click.Choice(["local", "snowflake"]),
    default=None,
    help="Where to run: the embedded local engine (default) or a Snowflake account.",
)
@click.option(
    "--connection",
    "connection_name",
    default=None,
    metavar="NAME",
    help="A named Snowflake connection from connections.toml.",
)
@click.option(
    "--env-file",
    type=click.Path(path_type=Path),
    default=None,
    help="Read settings from this file instead of ./.env.",
)
@click.option("-v", "--verbose", is_flag=True, default=None, help="Show details and tracebacks.")
@click.version_option(__version__, prog_name="moviecdc")
@click.pass_context
def cli(ctx: click.Context, target: str | None, connection_name: str | None,
        env_file: Path | None, verbose: bool | None) -> None:  # fmt: skip
    """Deploy, exercise and monitor the movie-bookings CDC pipeline.

    The pipeline: raw_movie_bookings → stream → task → movie_booking_cdc_events →
    movie_bookings_filtered → movie_booking_insights. The same SQL runs on the local
    engine (default, no account needed) and on Snowflake (--target snowflake).
    """
    flags = {"target": target, "connection_name": connection_name, "verbose": verbose}
    ctx.obj = App(load(flags, os.environ, env_file=env_file))


# ----------------------------------------------------------------- deploy
@cli.command()
@click.option("--dry-run", is_flag=True, help="Print the rendered SQL for the target; connect to nothing.")
@template_options
@click.option("--force", is_flag=True, help="Deploy even when lint finds a known trap.")
@click.option("--all", "all_scripts", is_flag=True, help="Apply every script, changed or not.")
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Only check the connection: account, user, role, warehouse and the privileges needed.",
)
@click.option(
    "--plan",
    "plan_only",
    is_flag=True,
    help="Show what deploy would do against the target as it is (missing objects, drift); change nothing.",
)
@click.option("--json", "as_json", is_flag=True, help="The plan (and what was applied) as JSON on stdout.")
@pass_app
def deploy(app: App, dry_run: bool, sql_dir: Path | None, var: tuple[str, ...], force: bool, all_scripts: bool,
           check_only: bool, plan_only: bool, as_json: bool) -> int:  # fmt: skip
    """Render sql/ in order and apply it (idempotent: no row or pending change is lost).

    The rendered SQL is linted first; a known trap stops the deploy unless --force.
    """
    from moviecdc import deploy as dep
    from moviecdc.errors import DeployError
    from moviecdc.lint import lint_scripts

    if check_only:
        return _check_connection(app)
    scripts, ns = app.render(sql_dir, var)
    findings = lint_scripts(scripts)
    for f in findings:
        _err(f"{'warning' if force else 'error'}: {f.script}:{f.line}: {f.code} {f.message}")
    if findings and not force:
        raise DeployError(
            f"lint found {len(findings)} problem(s); nothing was deployed", hint="fix them, or pass --force"
        )
    if dry_run:
        for script in scripts:
            click.echo(f"-- {script.name} (target: {app.settings.target})")
            click.echo(";\n\n".join(s.sql for s in script.statements) + ";\n")
        return 0
    if plan_only and app.settings.target == "local":
        from moviecdc.warehouse import require_database

        require_database(app.settings)  # a plan changes nothing, not even by creating the file
    wh = app.connect("deploy")
    try:
        planned = dep.plan_deploy(wh, ns, scripts, everything=all_scripts)
        items = planned.items
        show = (lambda line: None) if as_json else (lambda line: click.echo(line, err=not plan_only))
        for item in items:
            show(f"  {item.status:<9} {item.script.name}")
            for note in item.notes:
                show(f"            note: {note}")
        for obj in planned.objects:
            if obj.state == "extra":
                show(f"  extra     {obj.kind.lower()} {obj.name}: {obj.detail}")
        if plan_only:
            todo = sum(i.apply for i in items)
            if as_json:
                click.echo(_json({"target": app.settings.target, "namespace": ns, **planned.as_dict()}))
            else:
                click.echo(f"Plan for {app.settings.target} {ns}: {todo} of {len(items)} scripts would be applied;"
                           " nothing was changed.")  # fmt: skip
            return 0
        report = dep.deploy(
            wh,
            scripts,
            ns=ns,
            user=app.settings.user or getpass.getuser(),
            items=items,
            on_note=lambda note: _err(f"note: {note}"),
            on_statement=lambda a: (
                click.echo(f"  {a.script}:{a.line}  {a.summary}", err=True) if app.settings.verbose else None
            ),
        )
    finally:
        wh.close()
    applied = sum(i.apply for i in items)
    if as_json:
        click.echo(_json({"target": app.settings.target, "namespace": ns, **planned.as_dict(), **report.as_dict()}))
        return 0
    click.echo(
        f"Deployed to {app.settings.target} {ns}: {applied} of {len(scripts)} scripts applied"
        f" ({len(report.applied)} statements), {len(scripts) - applied} unchanged."
    )
    _next(app, "`moviecdc simulate --sample --changes 500` makes bookings and changes;"
               " then `moviecdc run --once` carries them through the pipeline")  # fmt: skip
    return 0


def _check_connection(app: App) -> int:
    from moviecdc.connection import check_connection

    wh = app.connect("deploy --check")
    try:
        report = check_connection(wh, app.settings.database, app.settings.schema, app.settings.warehouse)
    finally:
        wh.close()
    for key, value in report.identity.items():
        click.echo(f"{key:<10} {value if value is not None else '(none)'}")
    for req in report.requirements:
        mark = "ok     " if req.granted else "MISSING"
        click.echo(f"{mark} {req.privilege} ON {req.on}" + ("" if req.granted else f"   fix: {req.fix}"))
    for note in report.notes:
        click.echo(f"note: {note}")
    missing = sum(not r.granted for r in report.requirements)
    if missing:
        _err(f"Error: {missing} privilege(s) the pipeline needs are missing (see above)")
        return 1
    click.echo("Connection OK: the pipeline can be deployed.")
    return 0


@cli.command()
@template_options
@click.option("--json", "as_json", is_flag=True, help="Findings as JSON.")
@pass_app
def lint(app: App, sql_dir: Path | None, var: tuple[str, ...], as_json: bool) -> int:
    """Check the rendered SQL for the known traps, without connecting."""
    from moviecdc.lint import lint_scripts

    findings = lint_scripts(app.render(sql_dir, var)[0])
    if as_json:
        click.echo(_json([f.as_dict() for f in findings]))
    else:
        for f in findings:
            click.echo(f"{f.script}:{f.line}: {f.code} {f.message}")
        click.echo(f"{len(findings)} problem(s) found." if findings else "No problems found.", err=True)
    return 1 if findings else 0


# --------------------------------------------------------------- simulate
@cli.command()
@click.option("--sample", is_flag=True, help="Load the five sample bookings (once).")
@click.option("--bookings", type=click.IntRange(0, 100_000_000), default=0, help="Bulk-load N new bookings.")
@click.option(
    "--changes",
    type=click.IntRange(0, 100_000_000),
    default=0,
    help="Apply N random changes (inserts, updates, cancellations, deletes, ...).",
)
@click.option("--seed", type=int, default=None, help="Random seed: the same seed gives the same rows and changes.")
@click.option("--rate", type=click.IntRange(1, 1_000_000), default=None, help="Changes per second (continuous).")
@click.option(
    "--duration",
    type=_Seconds(0, 7 * 86400),
    default=None,
    help="Seconds to keep generating at --rate (default: until Ctrl-C).",
)
@click.option(
    "--mix",
    default=None,
    metavar="KIND=SHARE,...",
    help="Shares of insert, update, cancel, delete, reinsert, invalid"
    " (default insert=.45,update=.15,cancel=.15,delete=.10,reinsert=.05,invalid=.10).",
)
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default="2025-09-01",
    show_default=True,
    help="Earliest booking time.",
)
@click.option(
    "--end",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    default="2025-10-01",
    show_default=True,
    help="Booking times are before this.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 1_000_000),
    default=10_000,
    show_default=True,
    help="Changes per batch (one transaction each); a bulk load makes up to a million rows per statement.",
)
@click.option("--run-pipeline", is_flag=True, help="Local: catch the pipeline up after each batch.")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Summary as JSON.")
@pass_app
def simulate(app: App, sample: bool, bookings: int, changes: int, seed: int | None, rate: int | None,
             duration: float | None, mix: str | None, start: Any, end: Any, batch_size: int,
             run_pipeline: bool, dry_run: bool, as_json: bool) -> None:  # fmt: skip
    """Seed sample bookings and generate realistic, reproducible booking changes."""
    from moviecdc.simulate.generator import DEFAULT_MIX
    from moviecdc.simulate.session import SimulationPlan, parse_mix, run_simulation

    if not (sample or bookings or changes or rate):
        raise click.UsageError("nothing to do: give --sample, --bookings N, --changes N or --rate N")
    if run_pipeline and app.settings.target != "local":
        raise click.UsageError("--run-pipeline drives the local engine; Snowflake runs the pipeline itself")
    if start >= end:
        raise click.UsageError(f"--start ({start:%Y-%m-%d}) must be before --end ({end:%Y-%m-%d})")
    plan = SimulationPlan(sample=sample, bookings=bookings, changes=changes, seed=seed, rate=rate,
                          duration=duration, run_pipeline=run_pipeline, batch_size=batch_size,
                          mix=parse_mix(mix) if mix else dict(DEFAULT_MIX), start=start, end=end)  # fmt: skip
    if dry_run:
        click.echo("\n".join(plan.describe(app.settings.target, app.ns)))
        return
    from moviecdc.progress import NoBars, PhaseBars, on_terminal
    from moviecdc.simulate.session import BOOKINGS, CHANGES, SAMPLE

    totals = {SAMPLE: 5 if sample else 0, BOOKINGS: bookings, CHANGES: changes}
    show_bars = on_terminal() and not rate and not as_json
    with PhaseBars(totals) if show_bars else NoBars() as bars:
        summary = run_simulation(app.settings, plan, app.ns, should_stop=_stop_flag(), on_progress=bars.update)
    if as_json:
        click.echo(_json(summary))
        return
    kinds = ", ".join(f"{k} {v:,}" for k, v in summary["changes"].items() if v)
    click.echo(f"Sample bookings loaded: {summary['sample_loaded']}; bookings loaded:"
               f" {summary['bookings_loaded']:,}; changes: {summary['total_changes']:,}"
               f" ({kinds or 'none'}); {summary['seconds']:.1f} s, {summary['rows_per_second']:,.0f} rows/s;"
               f" seed {summary['seed']}{' (interrupted)' if summary['interrupted'] else ''}.")  # fmt: skip
    if summary["total_changes"] and not run_pipeline:
        _err("note: the stream nets changes until the task reads them: a booking inserted, then updated or"
             " cancelled before the next run, reaches the events table as one INSERT of its latest state,"
             " and one inserted and deleted in between not at all")  # fmt: skip
    if run_pipeline:
        _next(app, "`moviecdc status` shows the pipeline's health; `moviecdc dashboard` the figures")
    elif app.settings.target == "local":
        _next(app, "`moviecdc run --once` carries the changes through the stream, the task and the dynamic"
                   " tables (or keep `moviecdc run` going)")  # fmt: skip
    else:
        _next(app, "Snowflake's task picks the changes up on its own; `moviecdc run --once` triggers it now,"
                   " `moviecdc status` shows where they are")  # fmt: skip


def _stop_flag() -> Callable[[], bool]:
    """Ctrl-C sets a flag: the current batch finishes cleanly, then we stop."""
    stopped = {"flag": False}

    def handler(signum: int, frame: object) -> None:
        if stopped["flag"]:
            raise KeyboardInterrupt
        stopped["flag"] = True

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)
    return lambda: stopped["flag"]


# -------------------------------------------------------------------- run
@cli.command()
@click.option("--once", is_flag=True, help="One catch-up pass: every task runs now, then due refreshes.")
@click.option(
    "--interval",
    type=_Seconds(0.1, 3600),
    default=5.0,
    show_default=True,
    help="Seconds between scheduler passes.",
)
@pass_app
def run(app: App, once: bool, interval: float) -> None:
    """Run due tasks and dynamic-table refreshes (local loop until Ctrl-C)."""
    from moviecdc import scheduler

    def show(result: PipelineRun) -> None:
        for note in result.notes:
            _err(f"note: {note}")
        for step in result.steps:
            rows = f", +{_n(step.rows[0])}/-{_n(step.rows[1])} rows" if step.rows else ""
            click.echo(f"{step.label}: {step.outcome}{rows}")

    def skipped(message: str, wait: float) -> None:
        _err(f"pass skipped: {message}; trying again in {wait:g} s")

    if app.settings.target == "snowflake" and not once:
        raise ConfigError("Snowflake runs tasks and refreshes itself; use `run --once` to trigger them now")
    if once:
        from moviecdc.progress import working

        started = time.perf_counter()
        where = f"{app.settings.target} {app.ns}"
        with working(f"run --once on {where}: every resumed task now, then the dynamic tables due"):
            result = scheduler.run_once(app.settings, counts=True)
        show(result)
        if not result.steps:
            click.echo("Nothing to run: no resumed task and no scheduled dynamic table (run `moviecdc deploy`).")
        if not result.ok:
            raise MovieCdcError("run --once did not complete cleanly (see above)")
        if result.steps:
            refreshed = sum("dynamic table" in s.label or s.label.startswith("REFRESH") for s in result.steps)
            events = "" if result.events_added is None else f"{_n(result.events_added)} change events added, "
            click.echo(f"Done in {time.perf_counter() - started:.1f} s: {events}{refreshed} dynamic"
                       f" table{'s' if refreshed != 1 else ''} brought up to date.")  # fmt: skip
            _next(app, "`moviecdc status` shows health and lag; `moviecdc dashboard` the figures")
        return
    from moviecdc.warehouse import require_database

    require_database(app.settings)
    click.echo(
        f"Scheduler running every {interval:g} s on {app.settings.db_path} (Ctrl-C to stop).",
        err=True,
    )
    scheduler.run_loop(app.settings, interval=interval, on_pass=show, on_skip=skipped, should_stop=_stop_flag())


# ----------------------------------------------------------------- status
@cli.command()
@click.option("--json", "as_json", is_flag=True, help="The report as JSON (stable keys).")
@click.option("--check", is_flag=True, help="Exit 1 when anything is WARN or FAIL.")
@click.option(
    "--history",
    type=click.IntRange(1, 1000),
    default=None,
    help="Task runs and refreshes to show per object [default: 5 task runs and the last refresh;"
    " with N, also a table of each dynamic table's last N refreshes].",
)
@click.option(
    "--watch",
    type=_Seconds(1, 3600),
    default=None,
    metavar="SECONDS",
    help="Redraw every SECONDS until Ctrl-C.",
)
@pass_app
def status(app: App, as_json: bool, check: bool, history: int | None, watch: float | None) -> int:
    """Tasks, task history, streams, dynamic tables, refresh history, lag vs target.

    With --check the exit code is 0 when everything is OK and 1 when anything is WARN or FAIL.
    """
    from moviecdc.output import terminal_width
    from moviecdc.status import collect_status
    from moviecdc.status_view import render_status

    stop = _stop_flag() if watch else (lambda: False)
    while True:
        wh = app.connect("status", read_only=True)
        try:
            report = collect_status(wh, app.settings.database, app.settings.schema, history=history or 5)
        finally:
            wh.close()
        if watch and sys.stdout.isatty():
            click.echo("\x1b[2J\x1b[H", nl=False)
        if as_json:
            click.echo(_json(report.as_dict()))
        else:
            click.echo(render_status(report, color=_color(), width=terminal_width(), refreshes=history or 0))
        if not watch:
            break
        deadline = time.monotonic() + watch
        while not stop() and time.monotonic() < deadline:
            time.sleep(0.1)
        if stop():
            break
    return 1 if check and report.health != "OK" else 0


# -------------------------------------------------------------------- sql
@cli.command()
@click.option("-q", "--query", default=None, help="SQL to run.")
@click.option("-f", "--file", "file", type=click.File("r"), default=None, help="File of SQL statements.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "table", "vertical", "csv", "json"]),
    default="auto",
    show_default=True,
    help="table: fit to the terminal (long values cut with …); vertical: one line per column;"
    " auto: a table when it fits, else vertical; csv, json: every value whole.",
)
@pass_app
def sql(app: App, query: str | None, file: Any, fmt: str) -> None:
    """Run SQL (Snowflake dialect) against the target."""
    from moviecdc.dialect.split import split_statements
    from moviecdc.output import format_rows, terminal_width

    if (query is None) == (file is None):
        raise click.UsageError("give exactly one of -q SQL or -f FILE")
    text = query if query is not None else file.read()
    statements = split_statements(text)
    if not statements:
        raise click.UsageError("no SQL statement given")
    wh = app.connect("sql")
    try:
        for stmt in statements:
            click.echo(format_rows(wh.execute(stmt.sql), fmt, max_width=terminal_width()))
    finally:
        wh.close()


# -------------------------------------------------------------- dashboard
@cli.command()
@click.option("--port", type=click.IntRange(1, 65535), default=8501, show_default=True)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on; the page shows booking data, so only this machine by default (0.0.0.0: everyone).",
)
@pass_app
def dashboard(app: App, port: int, host: str) -> int:
    """Start the Streamlit dashboard on the target (read-only)."""
    from moviecdc.dashboard.launch import launch

    return launch(app.settings, port, host)


# --------------------------------------------------------------- teardown
@cli.command()
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@template_options
@pass_app
def teardown(app: App, yes: bool, sql_dir: Path | None, var: tuple[str, ...]) -> None:
    """Drop every object that deploy created (data included)."""
    from moviecdc.deploy import teardown as drop_all
    from moviecdc.deploy import teardown_history_statement, teardown_statements

    scripts, ns = app.render(sql_dir, var)
    if not yes:
        for stmt in [*teardown_statements(scripts), teardown_history_statement(ns)]:
            click.echo(f"  {stmt}", err=True)
        if not sys.stdin.isatty():
            raise click.UsageError("refusing to drop objects without a terminal to confirm: pass --yes")
        click.confirm(f"Drop these objects from {app.settings.target} {ns}?", abort=True)
    wh = app.connect("teardown")
    try:
        done = drop_all(wh, scripts, ns)
    finally:
        wh.close()
    missing = sum(s.startswith("DROP") for s in done.statements) - len(done.dropped)
    gone = f" ({missing} already gone)" if missing else ""
    click.echo(f"Dropped {len(done.dropped)} object{'s' if len(done.dropped) != 1 else ''} from {ns}{gone}.")


# ------------------------------------------------------------------- main
def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is how a driver reports Ctrl-C during a query (DuckDB: an
    InterruptException, or a RuntimeError "Query interrupted")."""
    return type(exc).__name__ == "InterruptException" or (
        isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower()
    )


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning errors into one line and an exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None:  # the process's own command line: the process ends with this call
        # Exit without the interpreter's last garbage collections over every object the
        # command's imports made (sqlglot, DuckDB, the engine: some 50 ms). Each command
        # closes its connection itself; what is left is freed with the process.
        atexit.register(gc.freeze)
    verbose = "-v" in args or "--verbose" in args or os.environ.get("MOVIECDC_VERBOSE", "") in {"1", "true"}
    if any("\x00" in a for a in args):  # no path, name or value may hold one (the OS refuses it in paths)
        _err("Error: an argument contains a NUL character (see `moviecdc --help`)")
        sys.exit(2)
    try:
        rv = cli.main(args=args, prog_name="moviecdc", standalone_mode=False)
    except click.exceptions.Abort:
        _err("Aborted.")
        sys.exit(130 if not sys.stdin.isatty() else 1)
    except KeyboardInterrupt:
        _err("Interrupted.")
        sys.exit(130)
    except click.UsageError as exc:  # one line, with where to look
        where = exc.ctx.command_path if exc.ctx is not None else "moviecdc"
        _err(f"Error: {exc.format_message()} (see `{where} --help`)")
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        _err(f"Error: {exc.format_message()}")
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except MovieCdcError as exc:
        _err(f"Error: {exc}")
        if verbose:
            traceback.print_exc()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: keep it to one line unless asked
        if _interrupted(exc):  # Ctrl-C inside a running query
            _err("Interrupted.")
            sys.exit(130)
        _err(
            f"Error: unexpected {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            " (run with -v for details)"
        )
        if verbose:
            traceback.print_exc()
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
