"""Targets: ``connect(settings)`` returns the Warehouse for ``settings.target``."""

from __future__ import annotations

from pathlib import Path

from moviecdc.clock import Clock
from moviecdc.config import Settings
from moviecdc.errors import ConfigError
from moviecdc.warehouse.base import Rows, Warehouse


def connect(
    settings: Settings,
    *,
    command: str = "moviecdc",
    clock: Clock | None = None,
    read_only: bool = False,
    create: bool = False,
) -> Warehouse:
    """Open the configured target.

    Args:
        settings: the resolved settings.
        command: the moviecdc command, used as the Snowflake QUERY_TAG.
        clock: the local engine's clock (tests); ignored for Snowflake.
        read_only: local: open the database file read-only (status, the dashboard); several
            readers may share it, but none while a writer holds it.
        create: local: create the database file if there is none (``deploy``); otherwise a
            missing file is refused, so that a mistyped MOVIECDC_DB never becomes a new,
            empty database.

    Returns:
        A connected Warehouse; close it when done.

    Raises:
        ConfigError: local, no database file at the path and ``create`` is False.
    """
    if settings.target == "snowflake":
        from moviecdc.warehouse.snowflake import SnowflakeWarehouse

        return SnowflakeWarehouse(settings, query_tag=f"moviecdc:{command}")
    from moviecdc.warehouse.local import LocalWarehouse

    if not create:
        require_database(settings)

    return LocalWarehouse(
        settings.db_path,
        database=settings.database,
        schema=settings.schema,
        clock=clock,
        busy_timeout=settings.busy_timeout,
        read_only=read_only,
    )


def require_database(settings: Settings) -> None:
    """Refuse a local target whose database file does not exist (only deploy creates one).

    Raises:
        ConfigError: naming the path.
    """
    path = Path(settings.db_path)
    if settings.target == "local" and str(path) != ":memory:" and not path.exists():
        raise ConfigError(f"no local database at {path}", hint="run `moviecdc deploy` first, or check MOVIECDC_DB")


__all__ = ["Rows", "Warehouse", "connect", "require_database"]
