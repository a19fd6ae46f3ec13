"""Settings: resolved once from CLI flags, the environment, an env file and defaults.

Precedence, highest first (coded in one place, :func:`_lookup`):

1. a CLI flag: a non-None entry of ``flags``, keyed by the :class:`Settings` field name;
2. the process environment (``environ``; the CLI passes ``os.environ``);
3. the env file: ``--env-file PATH``, else ``.env`` in the working directory if it exists
   (read with python-dotenv, without ``${VAR}`` interpolation; it never overrides the environment);
4. the field default.

An empty value in the environment or the env file counts as unset. Nothing in moviecdc reads
``os.environ`` itself, and nothing here writes it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from types import MappingProxyType

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from moviecdc.errors import ConfigError

TARGETS = ("local", "snowflake")
DEFAULT_DB_PATH = Path(".moviecdc") / "moviecdc.duckdb"

# Environment variables per field, first match wins (within one layer).
_ENV: dict[str, tuple[str, ...]] = {
    "target": ("MOVIECDC_TARGET",),
    "db_path": ("MOVIECDC_DB",),
    "database": ("SNOWFLAKE_DATABASE",),
    "schema": ("SNOWFLAKE_SCHEMA",),
    "warehouse": ("SNOWFLAKE_WAREHOUSE",),
    "role": ("SNOWFLAKE_ROLE",),
    "account": ("SNOWFLAKE_ACCOUNT",),
    "user": ("SNOWFLAKE_USER",),
    "password": ("SNOWFLAKE_PASSWORD",),
    "authenticator": ("SNOWFLAKE_AUTHENTICATOR",),
    "private_key_file": ("SNOWFLAKE_PRIVATE_KEY_FILE",),
    "private_key_file_pwd": ("SNOWFLAKE_PRIVATE_KEY_FILE_PWD",),
    "token": ("SNOWFLAKE_TOKEN",),
    # The connector only honours SNOWFLAKE_DEFAULT_CONNECTION_NAME when connect() gets no
    # kwargs at all; we always pass some, so we forward it as connection_name ourselves.
    "connection_name": ("SNOWFLAKE_CONNECTION_NAME", "SNOWFLAKE_DEFAULT_CONNECTION_NAME"),
    "login_timeout": ("MOVIECDC_LOGIN_TIMEOUT",),
    "busy_timeout": ("MOVIECDC_BUSY_TIMEOUT",),
    "task_schedule": ("MOVIECDC_TASK_SCHEDULE",),
    "target_lag": ("MOVIECDC_TARGET_LAG",),
    "verbose": ("MOVIECDC_VERBOSE",),
}
# CLI spelling of a field, for messages; the rest are --field-name.
_FLAG_NAMES = {"db_path": "--db", "connection_name": "--connection", "variables": "--var"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _frozen_map(value: Mapping[str, str] | None = None) -> Mapping[str, str]:
    return MappingProxyType(dict(value or {}))


@dataclass(frozen=True, slots=True)
class Settings:
    """Every moviecdc setting, resolved once by :func:`load`; secrets are hidden from repr."""

    target: str = "local"
    db_path: Path = field(default_factory=lambda: Path.cwd() / DEFAULT_DB_PATH)
    database: str = "MOVIECDC"
    schema: str = "CDC"
    warehouse: str = "COMPUTE_WH"
    role: str | None = None
    account: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    authenticator: str | None = None
    private_key_file: str | None = None
    private_key_file_pwd: str | None = field(default=None, repr=False)
    token: str | None = field(default=None, repr=False)
    connection_name: str | None = None
    login_timeout: int = 30
    busy_timeout: float = 30.0  # seconds to wait while another process holds the local database
    task_schedule: str = "1 MINUTE"
    target_lag: str = "2 minutes"
    variables: Mapping[str, str] = field(default_factory=_frozen_map)
    verbose: bool = False
    # Where each non-default value came from ("flag --target", "env MOVIECDC_DB", ...).
    sources: Mapping[str, str] = field(default_factory=_frozen_map, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Keep the mappings immutable even when a caller passes a plain dict.
        object.__setattr__(self, "variables", _frozen_map(self.variables))
        object.__setattr__(self, "sources", _frozen_map(self.sources))

    def source(self, name: str) -> str:
        """Where setting ``name`` came from.

        Args:
            name: A field name.

        Returns:
            ``"flag --x"``, ``"env VAR"``, ``"<env file>: VAR"`` or ``"default"``.
        """
        return self.sources.get(name, "default")


def parse_vars(items: Sequence[str]) -> dict[str, str]:
    """Parse repeated ``--var KEY=VALUE`` items; a repeated KEY keeps the last value.

    Args:
        items: The raw option values.

    Returns:
        KEY to VALUE (VALUE may be empty or contain ``=``).

    Raises:
        ConfigError: An item has no ``=`` or its KEY is not an identifier.
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--var {item!r} is not of the form KEY=VALUE")
        if not _IDENTIFIER.fullmatch(key):
            raise ConfigError(
                f"--var {item!r}: {key!r} is not a valid name (letters, digits and _, not starting with a digit)"
            )
        out[key] = value
    return out


def load(
    flags: Mapping[str, object],
    environ: Mapping[str, str],
    env_file: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build :class:`Settings` from flags, environment, env file and defaults (see module doc).

    Args:
        flags: CLI values keyed by Settings field name; None means "not given".
            ``variables`` takes the raw ``--var`` items (or an already parsed mapping).
        environ: The environment to read (the CLI passes ``os.environ``); never modified.
        env_file: An explicit env file; None reads ``cwd/.env`` if it exists.
        cwd: Directory for the default ``.env``, the default database path and relative paths;
            defaults to the process working directory.

    Returns:
        The validated settings.

    Raises:
        ConfigError: Explicit env file missing or unreadable, a malformed env-file line, an
            unknown target, a malformed ``--var``, a bad login timeout or verbose flag.
        TypeError: ``flags`` has a key that is not a Settings field (a programming error).
    """
    cwd = cwd if cwd is not None else Path.cwd()
    names = [f.name for f in fields(Settings) if f.name != "sources"]
    unknown = sorted(set(flags) - set(names))
    if unknown:
        raise TypeError(f"unknown settings in flags: {', '.join(unknown)}")
    file_values, file_label = _read_env_file(env_file, cwd)
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for name in names:
        found = _lookup(name, flags, environ, file_values, file_label)
        if found is not None:
            raw, sources[name] = found
            values[name] = _convert(name, raw, sources[name], cwd)
    values.setdefault("db_path", cwd / DEFAULT_DB_PATH)
    return Settings(**values, sources=sources)  # type: ignore[arg-type]


def _lookup(
    name: str,
    flags: Mapping[str, object],
    environ: Mapping[str, str],
    file_values: Mapping[str, str | None],
    file_label: str,
) -> tuple[object, str] | None:
    """The one place precedence lives: flag > environ > env file > (None: default)."""
    if flags.get(name) is not None:
        return flags[name], f"flag {_FLAG_NAMES.get(name, '--' + name.replace('_', '-'))}"
    for layer, label in ((environ, "env {}"), (file_values, file_label + ": {}")):
        for var in _ENV.get(name, ()):
            value = layer.get(var)
            if value:
                return value, label.format(var)
    return None


def _convert(name: str, raw: object, source: str, cwd: Path) -> object:
    """Turn a raw flag/env value into the field's type, or raise a one-line ConfigError."""
    if name == "target":
        target = str(raw).strip().lower()
        if target not in TARGETS:
            raise ConfigError(f"unknown target {raw!r} (from {source}); valid targets: {', '.join(TARGETS)}")
        return target
    if name == "db_path":
        return cwd / Path(str(raw)).expanduser()
    if name == "login_timeout":
        try:
            timeout = int(str(raw).strip())
        except ValueError:
            timeout = 0
        if timeout <= 0:
            raise ConfigError(f"login timeout must be a positive whole number of seconds, got {raw!r} (from {source})")
        return timeout
    if name == "busy_timeout":
        try:
            seconds = float(str(raw).strip())
        except ValueError:
            seconds = -1.0
        if not 0 <= seconds <= 3600:
            raise ConfigError(f"busy timeout must be 0 to 3600 seconds, got {raw!r} (from {source})")
        return seconds
    if name == "verbose":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text not in _TRUE | _FALSE:
            raise ConfigError(f"verbose must be true or false, got {raw!r} (from {source})")
        return text in _TRUE
    if name == "variables":
        if isinstance(raw, Mapping):
            return parse_vars([f"{k}={v}" for k, v in raw.items()])
        if isinstance(raw, str):
            return parse_vars([raw])
        return parse_vars([str(item) for item in raw])  # type: ignore[attr-defined]
    return str(raw)


def _read_env_file(env_file: Path | None, cwd: Path) -> tuple[Mapping[str, str | None], str]:
    """Values of the env file (empty when there is none) and its label for messages."""
    if env_file is None:
        path = cwd / ".env"
        if not path.is_file():
            return {}, str(path)
    else:
        path = cwd / env_file.expanduser()
        if not path.is_file():
            raise ConfigError(f"env file {path} does not exist", hint="check --env-file")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read env file {path}: {exc}") from exc
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            # A binding starts after the previous one, so skip its leading blank lines.
            raw = binding.original.string
            blank = raw[: len(raw) - len(raw.lstrip())]
            line = binding.original.line + len(blank.splitlines())
            # The line itself is not quoted back: it may hold a secret.
            raise ConfigError(
                f"{path}:{line}: cannot parse this line",
                hint="expected KEY=VALUE, with matching quotes",
            )
    return dotenv_values(stream=io.StringIO(text), interpolate=False), str(path)


def _explicit(settings: Settings, name: str) -> bool:
    """Whether ``name`` was set by the user (or differs from the default)."""
    default = next(f.default for f in fields(Settings) if f.name == name)
    changed = default is MISSING or getattr(settings, name) != default
    return settings.source(name) != "default" or changed


def snowflake_connect_args(settings: Settings, query_tag: str = "moviecdc") -> dict[str, object]:
    """Keyword arguments for ``snowflake.connector.connect``.

    With ``connection_name`` the connector reads that connections.toml profile and only the
    settings the user set explicitly are passed as overrides. Without it, account, user, role,
    warehouse, database, schema and one way to authenticate are passed: password; a private
    key file (implies ``SNOWFLAKE_JWT``); ``externalbrowser``; ``oauth`` or
    ``PROGRAMMATIC_ACCESS_TOKEN`` with a token. Always passed: ``login_timeout``,
    ``paramstyle="qmark"``, ``application="moviecdc"`` and the QUERY_TAG session parameter.

    Args:
        settings: The resolved settings.
        query_tag: Value of the QUERY_TAG session parameter.

    Returns:
        The kwargs (they contain secrets: never log them).

    Raises:
        ConfigError: No connection name and no account, no credentials, no user where the
            authenticator needs one, or an authenticator without its token or key file.
    """
    named = settings.connection_name is not None
    args: dict[str, object] = {}
    if named:
        args["connection_name"] = settings.connection_name
    elif not settings.account:
        raise ConfigError("SNOWFLAKE_ACCOUNT is not set (or pass --connection NAME)")
    for name in ("account", "user", "role", "warehouse", "database", "schema"):
        value = getattr(settings, name)
        if value is not None and (not named or _explicit(settings, name)):
            args[name] = value
    args.update(_auth_args(settings, required=not named))
    args.update(
        login_timeout=settings.login_timeout,
        paramstyle="qmark",
        application="moviecdc",
        session_parameters={"QUERY_TAG": query_tag},
    )
    return args


def _auth_args(settings: Settings, *, required: bool) -> dict[str, object]:
    """Authentication kwargs; ``required`` is False when a connections.toml profile fills gaps."""

    def need(value: str | None, var: str, why: str) -> None:
        if required and not value:
            raise ConfigError(f"{var} is not set ({why})")

    given = (settings.authenticator or "").strip()
    kind = given.upper()
    if not kind:
        if settings.private_key_file:
            kind = "SNOWFLAKE_JWT"
        elif settings.password:
            kind = "SNOWFLAKE"
        elif settings.token:
            raise ConfigError(
                "SNOWFLAKE_TOKEN is set but SNOWFLAKE_AUTHENTICATOR is not "
                "(set it to oauth or PROGRAMMATIC_ACCESS_TOKEN)"
            )
        elif required:
            raise ConfigError(
                "no Snowflake credentials: set SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_FILE "
                "or SNOWFLAKE_AUTHENTICATOR (or pass --connection NAME)"
            )
        else:
            return {}
    args: dict[str, object] = {}
    if kind == "SNOWFLAKE_JWT":
        need(settings.user, "SNOWFLAKE_USER", "key-pair authentication needs a user")
        need(settings.private_key_file, "SNOWFLAKE_PRIVATE_KEY_FILE", "authenticator SNOWFLAKE_JWT")
        args["authenticator"] = "SNOWFLAKE_JWT"
        if settings.private_key_file:
            args["private_key_file"] = settings.private_key_file
        if settings.private_key_file_pwd:
            args["private_key_file_pwd"] = settings.private_key_file_pwd
    elif kind == "EXTERNALBROWSER":
        args["authenticator"] = "externalbrowser"
    elif kind in ("OAUTH", "PROGRAMMATIC_ACCESS_TOKEN"):
        if kind == "PROGRAMMATIC_ACCESS_TOKEN":
            need(settings.user, "SNOWFLAKE_USER", "a programmatic access token needs a user")
        need(settings.token, "SNOWFLAKE_TOKEN", f"authenticator {given or kind}")
        args["authenticator"] = "oauth" if kind == "OAUTH" else kind
        if settings.token:
            args["token"] = settings.token
    else:
        # Password (default authenticator) or another one the connector knows (MFA, Okta URL).
        if kind == "SNOWFLAKE":
            need(settings.user, "SNOWFLAKE_USER", "password authentication needs a user")
            need(settings.password, "SNOWFLAKE_PASSWORD", "authenticator snowflake")
        if given:
            args["authenticator"] = given
        if settings.password:
            args["password"] = settings.password
    return args
