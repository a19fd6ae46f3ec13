"""moviecdc: deploy, exercise and monitor a Snowflake CDC pipeline for movie bookings."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moviecdc")
except PackageNotFoundError:  # running from a source tree
    __version__ = "0.0.0+local"
