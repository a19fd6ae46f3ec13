"""The moviecdc error tree.

Every error a user can cause derives from :class:`MovieCdcError`. Each class
carries the process exit code the CLI uses for it, so library code raises and
only ``cli.main`` decides how to print and exit.
"""

from __future__ import annotations


class MovieCdcError(Exception):
    """Root of every moviecdc error; ``exit_code`` is the CLI's exit status."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(MovieCdcError):
    """A missing or invalid setting, option value or template variable."""

    exit_code = 3


class ConnectionFailedError(MovieCdcError):
    """The target could not be reached or refused the credentials."""

    exit_code = 3


class TemplateError(MovieCdcError):
    """A SQL template failed to render (undefined variable, bad identifier, syntax)."""

    exit_code = 1


class SqlError(MovieCdcError):
    """A statement failed on the target (invalid SQL, missing object, constraint).

    ``errno`` and ``sqlstate`` are Snowflake's code and SQLSTATE for the error (as the
    connector's ``ProgrammingError`` carries them), when there is one.
    """

    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        statement: str | None = None,
        hint: str | None = None,
        errno: int | None = None,
        sqlstate: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.statement = statement
        self.errno = errno
        self.sqlstate = sqlstate


class UnsupportedSqlError(SqlError):
    """The local engine cannot run this statement (Snowflake could)."""


class DamagedDatabaseError(MovieCdcError):
    """The local database file is damaged, truncated, not a DuckDB file, or holds metadata
    the engine did not write (a foreign or altered ``_moviecdc`` schema)."""

    exit_code = 3


class DatabaseBusyError(MovieCdcError):
    """The local database file stayed locked by another process past the timeout."""

    exit_code = 1


class DeployError(MovieCdcError):
    """A deploy stopped part way; the message names the file and statement."""

    exit_code = 1
