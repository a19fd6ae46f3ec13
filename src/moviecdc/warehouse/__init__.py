"""Targets: ``connect(settings)`` returns the Warehouse for ``settings.target``."""

from __future__ import annotations

from moviecdc.clock import Clock
from moviecdc.config import Settings
from moviecdc.warehouse.base import Rows, Warehouse


def connect(
    settings: Settings, *, command: str = "moviecdc", clock: Clock | None = None, read_only: bool = False
) -> Warehouse:
    """Open the configured target.

    Args:
        settings: the resolved settings.
        command: the moviecdc command, used as the Snowflake QUERY_TAG.
        clock: the local engine's clock (tests); ignored for Snowflake.
        read_only: local: open the database file read-only (status, the dashboard); several
            readers may share it, but none while a writer holds it.

    Returns:
        A connected Warehouse; close it when done.
    """
    if settings.target == "snowflake":
        from moviecdc.warehouse.snowflake import SnowflakeWarehouse

        return SnowflakeWarehouse(settings, query_tag=f"moviecdc:{command}")
    from moviecdc.warehouse.local import LocalWarehouse

    return LocalWarehouse(
        settings.db_path,
        database=settings.database,
        schema=settings.schema,
        clock=clock,
        busy_timeout=settings.busy_timeout,
        read_only=read_only,
    )


__all__ = ["Rows", "Warehouse", "connect"]
