"""Render the SQL templates: Jinja over Snowflake SQL, applied in file-name order.

Templates live in ``sql/`` (shipped inside the package); ``--sql-dir`` points at a
user's own copy. Jinja runs sandboxed (a template cannot reach Python internals, so it
cannot run code or commands). Rendering is strict: an undefined variable is an error, and the
variables that name objects are validated as identifiers before any template sees
them, so a value such as ``x; DROP TABLE y`` can never reach the SQL.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from moviecdc.config import Settings
from moviecdc.dialect.schedule import parse_schedule, parse_target_lag
from moviecdc.dialect.split import Statement, split_statements
from moviecdc.errors import ConfigError, SqlError, TemplateError

IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,254}$")
QUOTED_IDENT_RE = re.compile(r'^"[^"\x00-\x1f]{1,255}"$')
IDENTIFIER_VARS = ("database", "schema", "warehouse")
# What the templates always see; a template may use more (its own --var keys).
BUILTIN_VARS = ("database", "schema", "warehouse", "task_mode", "task_schedule", "target_lag", "dashboard_role")
DERIVED_VARS = ("ns",)  # computed from the others: cannot be set
# How the consume task runs: when its stream has data (no SCHEDULE), or every task_schedule.
TASK_MODES = ("triggered", "scheduled")

# Names the pipeline cannot live in, and why (compared as Snowflake resolves them, and
# case-insensitively: the local engine's DuckDB does not tell "temp" from TEMP).
RESERVED_NAMES: dict[str, dict[str, str]] = {
    "schema": {
        "INFORMATION_SCHEMA": "Snowflake's own read-only schema in every database",
        "_MOVIECDC": "the local engine's own storage",
        "TEMP": "the local engine's temporary catalog (DuckDB's TEMP)",
        "PG_CATALOG": "the local engine's system catalog (DuckDB's PG_CATALOG)",
    },
    "database": {
        "SNOWFLAKE": "Snowflake's shared, read-only system database",
        "SNOWFLAKE_SAMPLE_DATA": "Snowflake's shared, read-only sample database",
    },
}
# Snowflake's reserved keywords (docs: "Reserved & limited keywords"): not an unquoted name.
_RESERVED_WORDS = """
    ACCOUNT ALL ALTER AND ANY AS BETWEEN BY CASE CAST CHECK COLUMN CONNECT CONNECTION CONSTRAINT CREATE
    CROSS CURRENT CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DATABASE DELETE DISTINCT DROP
    ELSE EXISTS FALSE FOLLOWING FOR FROM FULL GRANT GROUP GSCLUSTER HAVING ILIKE IN INCREMENT INNER INSERT
    INTERSECT INTO IS ISSUE JOIN LATERAL LEFT LIKE LOCALTIME LOCALTIMESTAMP MINUS NATURAL NOT NULL OF ON
    OR ORDER ORGANIZATION QUALIFY REGEXP REVOKE RIGHT RLIKE ROW ROWS SAMPLE SCHEMA SELECT SET SOME START
    TABLE TABLESAMPLE THEN TO TRIGGER TRUE TRY_CAST UNION UNIQUE UPDATE USING VALUES VIEW WHEN WHENEVER
    WHERE WINDOW WITH
"""
RESERVED_WORDS = frozenset(_RESERVED_WORDS.split())


@dataclass(frozen=True)
class RenderedScript:
    """One rendered template."""

    name: str
    sql: str
    checksum: str  # sha256 of the rendered SQL
    statements: tuple[Statement, ...]


def template_dir() -> Path:
    """The packaged templates (or the source tree's ``sql/`` when run from a checkout)."""
    packaged = resources.files("moviecdc") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "sql"


def ident(value: object, what: str = "identifier") -> str:
    """Validate a Snowflake identifier (plain, or double-quoted); return it unchanged.

    Raises:
        ConfigError: the value is not a valid identifier.
    """
    text = str(value)
    if IDENT_RE.match(text) or QUOTED_IDENT_RE.match(text):
        resolved = text[1:-1].replace('""', '"') if text.startswith('"') else text.upper()
        if not text.startswith('"') and resolved in RESERVED_WORDS:
            hint = f"choose another name, or quote it: '\"{text}\"'"
            raise ConfigError(f"{what} {text!r} is a reserved word in Snowflake", hint=hint)
        why = RESERVED_NAMES.get(what, {}).get(resolved.upper())
        if why:
            raise ConfigError(f"{what} {text!r} is reserved: {why}", hint=f"choose another {what} name")
        return text
    raise ConfigError(
        f"invalid {what} {text!r}: use letters, digits, _ and $ (not starting with a digit),"
        " or a double-quoted name without quotes inside"
    )


def namespace(settings: Settings) -> str:
    """``DATABASE.SCHEMA`` of the settings, each part a valid (quoted if need be) identifier."""
    return f"{ident(settings.database, 'database')}.{ident(settings.schema, 'schema')}"


def literal(value: object) -> str:
    """A Snowflake string literal (quotes and backslashes escaped)."""
    text = str(value).replace("\\", "\\\\").replace("'", "''")
    return f"'{text}'"


def check_var_names(overrides: Mapping[str, str], sql_dir: Path | None = None) -> None:
    """Refuse a ``--var`` key that no template of ``sql_dir`` uses (a misspelling would
    otherwise deploy to the default schema without a word).

    Raises:
        ConfigError: an unknown or derived key, with the closest known one.
    """
    known = set(BUILTIN_VARS) | used_variables(sql_dir)
    for key in overrides:
        if key in DERIVED_VARS:
            raise ConfigError(f"--var {key} cannot be set: it is derived from database and schema")
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"did you mean {close[0]}?" if close else f"known variables: {', '.join(sorted(known))}"
            raise ConfigError(f"unknown template variable {key!r}: no template uses it", hint=hint)


def used_variables(sql_dir: Path | None = None) -> set[str]:
    """The variables the templates of ``sql_dir`` (default: the packaged ones) refer to."""
    import jinja2.meta  # here, as in render_all: commands that only read the target never render
    import jinja2.sandbox

    directory = sql_dir or template_dir()
    env = jinja2.sandbox.SandboxedEnvironment()
    names: set[str] = set()
    for path in list_templates(directory):
        try:
            names |= jinja2.meta.find_undeclared_variables(env.parse(path.read_text(encoding="utf-8")))
        except (jinja2.TemplateError, OSError, UnicodeDecodeError):
            continue  # rendering reports it, with its line
    return names - set(catalogue_variables()) - set(DERIVED_VARS)


def template_variables(
    settings: Settings,
    overrides: Mapping[str, str] | None = None,
    *,
    sql_dir: Path | None = None,
    check_names: bool = False,
) -> dict[str, str]:
    """The variables templates see: settings, then ``--var`` overrides, validated.

    With ``check_names`` an override no template of ``sql_dir`` uses is refused
    (:func:`check_var_names`).

    Raises:
        ConfigError: an unknown variable, or an identifier, schedule or target lag is invalid.
    """
    if check_names and overrides:
        check_var_names(overrides, sql_dir)
    values: dict[str, str] = {
        "database": settings.database,
        "schema": settings.schema,
        "warehouse": settings.warehouse,
        "task_mode": "",
        "task_schedule": settings.task_schedule,
        "target_lag": settings.target_lag,
        "dashboard_role": "",
    }
    values.update(settings.variables)
    values.update(overrides or {})
    values["task_mode"] = _task_mode(values["task_mode"], _schedule_given(settings, overrides or {}))
    for key in IDENTIFIER_VARS:
        values[key] = ident(values[key], key)
    if values["dashboard_role"]:
        values["dashboard_role"] = ident(values["dashboard_role"], "dashboard_role")
    try:
        values["task_schedule"] = parse_schedule(values["task_schedule"]).describe()
        lag = parse_target_lag(values["target_lag"])
    except SqlError as exc:
        raise ConfigError(exc.message) from None
    if lag.is_downstream:
        raise ConfigError(
            "target_lag = DOWNSTREAM on movie_booking_insights would never refresh it:"
            " nothing reads it. Give it a duration such as '2 minutes'"
        )
    values["target_lag"] = lag.describe()
    for key, value in values.items():
        if "'" in value or "\n" in value or ";" in value:
            raise ConfigError(f"invalid value for {key}: quotes, ';' and newlines are not allowed")
    values["ns"] = f"{values['database']}.{values['schema']}"
    return values


def _schedule_given(settings: Settings, overrides: Mapping[str, str]) -> bool:
    """Whether a schedule was asked for (``--var``, a settings variable, MOVIECDC_TASK_SCHEDULE)."""
    default = Settings.__dataclass_fields__["task_schedule"].default
    return (
        "task_schedule" in overrides
        or "task_schedule" in settings.variables
        or settings.source("task_schedule") != "default"
        or settings.task_schedule != default
    )


def _task_mode(value: str, schedule_given: bool) -> str:
    """``triggered`` (the default) or ``scheduled``; a schedule asked for without a mode
    means ``scheduled``, and a schedule with ``task_mode=triggered`` is a contradiction.

    Raises:
        ConfigError: an unknown mode, or a schedule for a triggered task.
    """
    mode = value.strip().lower()
    if not mode:
        return "scheduled" if schedule_given else "triggered"
    if mode not in TASK_MODES:
        close = difflib.get_close_matches(mode, TASK_MODES, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]}?" if close else f"use one of: {', '.join(TASK_MODES)}"
        raise ConfigError(f"invalid task_mode {value!r}: the consume task is triggered or scheduled", hint=hint)
    if mode == "triggered" and schedule_given:
        raise ConfigError(
            "task_mode=triggered takes no schedule: a triggered task runs when its stream has data",
            hint="drop task_schedule (and MOVIECDC_TASK_SCHEDULE), or use --var task_mode=scheduled",
        )
    return mode


def catalogue_variables() -> dict[str, object]:
    """Structured template data: the movie catalogue (values escaped with ``literal``)."""
    from moviecdc.movies import MOVIES

    return {"movies": [m.as_row() for m in MOVIES]}


def list_templates(sql_dir: Path) -> list[Path]:
    """The ``*.sql`` templates of ``sql_dir`` in apply order (file name order)."""
    if not sql_dir.is_dir():
        raise ConfigError(f"SQL template directory {sql_dir} does not exist")
    files = sorted(p for p in sql_dir.glob("*.sql") if p.is_file())
    if not files:
        raise ConfigError(f"no .sql templates in {sql_dir}")
    return files


def render_all(sql_dir: Path | None, variables: Mapping[str, str]) -> list[RenderedScript]:
    """Render every template of ``sql_dir`` (default: the packaged ones).

    Args:
        sql_dir: directory of ``NNN_name.sql`` templates, or None for the packaged set.
        variables: values for the templates (see :func:`template_variables`).

    Returns:
        The rendered scripts in apply order.

    Raises:
        TemplateError: a template is invalid, uses an undefined variable, renders to
            nothing, or contains SQL that cannot be split into statements.
    """
    import jinja2.sandbox  # here: 25 ms to import, and status, sql and run never render

    directory = sql_dir or template_dir()
    # Templates may come from a pull request (--sql-dir, in CI): the sandbox keeps them to
    # rendering, with no way to reach Python objects' internals, modules or the shell.
    env = jinja2.sandbox.SandboxedEnvironment(
        loader=jinja2.FileSystemLoader(str(directory)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )
    env.filters["ident"] = ident
    env.filters["literal"] = literal
    scripts: list[RenderedScript] = []
    for path in list_templates(directory):
        try:
            sql = env.get_template(path.name).render(**catalogue_variables(), **variables)
        except jinja2.sandbox.SecurityError as exc:
            raise TemplateError(f"{path.name}: refused by the template sandbox: {exc}") from None
        except jinja2.UndefinedError as exc:
            raise TemplateError(f"{path.name}: {exc.message}", hint="pass it with --var KEY=VALUE") from None
        except jinja2.TemplateError as exc:
            line = getattr(exc, "lineno", None)
            where = f" line {line}" if line else ""
            raise TemplateError(f"{path.name}{where}: {exc.message or exc}") from None
        try:
            statements = tuple(split_statements(sql))
        except SqlError as exc:
            raise TemplateError(f"{path.name}: {exc.message}") from None
        # a template may render to nothing when its variables switch it off (095_dashboard_role.sql)
        scripts.append(
            RenderedScript(
                name=path.name,
                sql=sql,
                checksum=hashlib.sha256(sql.encode()).hexdigest(),
                statements=statements,
            )
        )
    return scripts
