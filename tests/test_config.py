"""config: precedence, env-file parsing, validation, redaction and connector kwargs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from moviecdc.config import Settings, load, parse_vars, snowflake_connect_args
from moviecdc.errors import ConfigError

SECRET = "s3cr3t-Pa55"


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("flag", "env", "dotenv", "expected", "source"),
    [
        pytest.param("FLAG_DB", "ENV_DB", "FILE_DB", "FLAG_DB", "flag --database", id="flag-wins"),
        pytest.param(None, "ENV_DB", "FILE_DB", "ENV_DB", "env SNOWFLAKE_DATABASE", id="env-over-file"),
        pytest.param(None, None, "FILE_DB", "FILE_DB", ".env: SNOWFLAKE_DATABASE", id="file-over-default"),
        pytest.param(None, None, None, "MOVIECDC", "default", id="default"),
        pytest.param(None, "", "FILE_DB", "FILE_DB", ".env: SNOWFLAKE_DATABASE", id="empty-env-is-unset"),
    ],
)
def test_load_precedence(tmp_path, flag, env, dotenv, expected, source):
    if dotenv is not None:
        _write(tmp_path / ".env", f"SNOWFLAKE_DATABASE={dotenv}\n")
    environ = {} if env is None else {"SNOWFLAKE_DATABASE": env}
    settings = load({"database": flag}, environ, cwd=tmp_path)
    assert settings.database == expected
    assert settings.source("database").endswith(source)


def test_load_defaults(tmp_path):
    settings = load({}, {}, cwd=tmp_path)
    assert settings.target == "local"
    assert settings.db_path == tmp_path / ".moviecdc" / "moviecdc.duckdb"
    assert (settings.schema, settings.warehouse, settings.login_timeout) == (
        "CDC",
        "COMPUTE_WH",
        30,
    )
    assert (settings.task_schedule, settings.target_lag) == ("1 MINUTE", "2 minutes")
    assert dict(settings.variables) == {}
    assert settings.verbose is False


def test_load_reads_env_vars_and_converts_types(tmp_path):
    environ = {
        "MOVIECDC_TARGET": "Snowflake",
        "MOVIECDC_DB": "data/x.duckdb",
        "MOVIECDC_LOGIN_TIMEOUT": "45",
        "MOVIECDC_VERBOSE": "yes",
        "SNOWFLAKE_DEFAULT_CONNECTION_NAME": "dev",
    }
    settings = load({"variables": ("a=1", "b=x=y")}, environ, cwd=tmp_path)
    assert settings.target == "snowflake"
    assert settings.db_path == tmp_path / "data" / "x.duckdb"
    assert settings.login_timeout == 45
    assert settings.verbose is True
    assert settings.connection_name == "dev"
    assert dict(settings.variables) == {"a": "1", "b": "x=y"}
    with pytest.raises(TypeError):
        settings.variables["c"] = "2"  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.target = "local"  # type: ignore[misc]


def test_load_explicit_env_file_is_used_instead_of_default(tmp_path):
    _write(tmp_path / ".env", "SNOWFLAKE_SCHEMA=FROM_DEFAULT\n")
    other = _write(tmp_path / "prod.env", "export SNOWFLAKE_SCHEMA='FROM_EXPLICIT' # comment\n")
    assert load({}, {}, env_file=other, cwd=tmp_path).schema == "FROM_EXPLICIT"


def test_load_env_file_does_not_interpolate_from_process_env(tmp_path):
    _write(tmp_path / ".env", "SNOWFLAKE_ROLE=${HOME}_ROLE\n")
    assert load({}, {}, cwd=tmp_path).role == "${HOME}_ROLE"


def test_load_missing_explicit_env_file(tmp_path):
    with pytest.raises(ConfigError, match=r"env file .*missing\.env does not exist"):
        load({}, {}, env_file=Path("missing.env"), cwd=tmp_path)


def test_load_malformed_env_line_reports_file_and_line(tmp_path):
    _write(tmp_path / ".env", f"# settings\nSNOWFLAKE_USER=me\n\nnot a valid {SECRET}\nX=1\n")
    with pytest.raises(ConfigError) as info:
        load({}, {}, cwd=tmp_path)
    assert f"{tmp_path / '.env'}:4:" in str(info.value)
    assert SECRET not in str(info.value)


def test_load_unterminated_quote_reported(tmp_path):
    _write(tmp_path / ".env", "A=1\nSNOWFLAKE_PASSWORD='abc\n")
    with pytest.raises(ConfigError, match=r"\.env:2: cannot parse"):
        load({}, {}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("flags", "environ", "pattern"),
    [
        pytest.param(
            {"target": "prod"},
            {},
            r"unknown target 'prod' \(from flag --target\); valid targets: local, snowflake",
            id="bad-target-flag",
        ),
        pytest.param(
            {},
            {"MOVIECDC_TARGET": "duck"},
            r"unknown target 'duck' \(from env MOVIECDC_TARGET\)",
            id="bad-target-env",
        ),
        pytest.param(
            {},
            {"MOVIECDC_LOGIN_TIMEOUT": "soon"},
            r"login timeout .* 'soon' \(from env MOVIECDC_LOGIN_TIMEOUT\)",
            id="timeout-not-int",
        ),
        pytest.param(
            {"login_timeout": 0},
            {},
            r"login timeout .* got 0 \(from flag --login-timeout\)",
            id="timeout-zero",
        ),
        pytest.param({}, {"MOVIECDC_VERBOSE": "maybe"}, r"verbose must be true or false", id="bad-verbose"),
        pytest.param(
            {"variables": ("noequals",)},
            {},
            r"--var 'noequals' is not of the form KEY=VALUE",
            id="var-no-eq",
        ),
        pytest.param({"variables": ("1x=2",)}, {}, r"'1x' is not a valid name", id="var-bad-key"),
    ],
)
def test_load_rejects_bad_values(tmp_path, flags, environ, pattern):
    with pytest.raises(ConfigError, match=pattern) as info:
        load(flags, environ, cwd=tmp_path)
    assert info.value.exit_code == 3
    assert "\n" not in str(info.value)


def test_load_rejects_unknown_flag_keys(tmp_path):
    with pytest.raises(TypeError, match="connection"):
        load({"connection": "dev"}, {}, cwd=tmp_path)


@pytest.mark.parametrize(
    ("items", "expected"),
    [
        pytest.param([], {}, id="none"),
        pytest.param(["a=1", "B_2="], {"a": "1", "B_2": ""}, id="empty-value"),
        pytest.param(["a=1", "a=2"], {"a": "2"}, id="last-wins"),
        pytest.param(["url=x?a=b"], {"url": "x?a=b"}, id="value-with-equals"),
    ],
)
def test_parse_vars(items, expected):
    assert parse_vars(items) == expected


@pytest.mark.parametrize("item", ["=v", "a-b=1", " a=1", "a.b=1"])
def test_parse_vars_rejects_bad_keys(item):
    with pytest.raises(ConfigError, match="not a valid name"):
        parse_vars([item])


def test_secrets_hidden_from_repr():
    settings = Settings(password=SECRET, token=SECRET + "t", private_key_file_pwd=SECRET + "k")
    assert SECRET not in repr(settings)


BASE = {"account": "myorg-acct", "user": "deployer", "role": "R", "login_timeout": 12}
COMMON = {
    "login_timeout": 12,
    "paramstyle": "qmark",
    "application": "moviecdc",
    "session_parameters": {"QUERY_TAG": "moviecdc:deploy"},
}
SESSION = {"account": "myorg-acct", "user": "deployer", "role": "R", "warehouse": "COMPUTE_WH",
           "database": "MOVIECDC", "schema": "CDC"}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "auth"),
    [
        pytest.param({"password": SECRET}, {"password": SECRET}, id="password"),
        pytest.param(
            {"private_key_file": "/k.p8", "private_key_file_pwd": "pp", "password": SECRET},
            {
                "authenticator": "SNOWFLAKE_JWT",
                "private_key_file": "/k.p8",
                "private_key_file_pwd": "pp",
            },
            id="key-pair-implies-jwt",
        ),
        pytest.param(
            {"authenticator": "snowflake_jwt", "private_key_file": "/k.p8"},
            {"authenticator": "SNOWFLAKE_JWT", "private_key_file": "/k.p8"},
            id="explicit-jwt",
        ),
        pytest.param(
            {"authenticator": "ExternalBrowser", "password": SECRET},
            {"authenticator": "externalbrowser"},
            id="externalbrowser",
        ),
        pytest.param(
            {"authenticator": "OAUTH", "token": "tok"},
            {"authenticator": "oauth", "token": "tok"},
            id="oauth",
        ),
        pytest.param(
            {"authenticator": "programmatic_access_token", "token": "pat"},
            {"authenticator": "PROGRAMMATIC_ACCESS_TOKEN", "token": "pat"},
            id="pat",
        ),
        pytest.param(
            {"authenticator": "username_password_mfa", "password": SECRET},
            {"authenticator": "username_password_mfa", "password": SECRET},
            id="other-authenticator-passes-through",
        ),
    ],
)
def test_connect_args_auth_paths(extra, auth):
    args = snowflake_connect_args(Settings(**BASE, **extra), query_tag="moviecdc:deploy")
    assert args == {**SESSION, **auth, **COMMON}


def test_connect_args_connection_name_passes_only_explicit_overrides(tmp_path):
    settings = load({"connection_name": "dev"}, {"SNOWFLAKE_ROLE": "ADMIN"}, cwd=tmp_path)
    args = snowflake_connect_args(settings, query_tag="t")
    assert args == {
        "connection_name": "dev",
        "role": "ADMIN",
        "login_timeout": 30,
        "paramstyle": "qmark",
        "application": "moviecdc",
        "session_parameters": {"QUERY_TAG": "t"},
    }


def test_connect_args_connection_name_keeps_explicit_default_valued_setting(tmp_path):
    settings = load({"connection_name": "dev", "database": "MOVIECDC"}, {}, cwd=tmp_path)
    assert snowflake_connect_args(settings)["database"] == "MOVIECDC"


def test_connect_args_connection_name_with_auth_override():
    settings = Settings(connection_name="dev", private_key_file="/k.p8")
    args = snowflake_connect_args(settings)
    assert args["authenticator"] == "SNOWFLAKE_JWT"
    assert args["private_key_file"] == "/k.p8"
    assert "account" not in args


@pytest.mark.parametrize(
    ("settings", "pattern"),
    [
        pytest.param(
            Settings(user="u", password="p"),
            r"^SNOWFLAKE_ACCOUNT is not set \(or pass --connection NAME\)$",
            id="no-account",
        ),
        pytest.param(
            Settings(account="a", user="u"),
            r"SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_FILE or SNOWFLAKE_AUTHENTICATOR",
            id="no-credentials",
        ),
        pytest.param(Settings(account="a", password="p"), r"SNOWFLAKE_USER is not set", id="password-no-user"),
        pytest.param(
            Settings(account="a", user="u", authenticator="oauth"),
            r"SNOWFLAKE_TOKEN is not set",
            id="oauth-no-token",
        ),
        pytest.param(
            Settings(account="a", user="u", token="t"),
            r"SNOWFLAKE_AUTHENTICATOR is not",
            id="token-no-authenticator",
        ),
    ],
)
def test_connect_args_missing_settings(settings, pattern):
    with pytest.raises(ConfigError, match=pattern):
        snowflake_connect_args(settings)
