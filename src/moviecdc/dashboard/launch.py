"""`moviecdc dashboard`: start Streamlit on the configured target."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from moviecdc.config import Settings
from moviecdc.errors import ConfigError


def launch(settings: Settings, port: int) -> int:
    """Run ``streamlit run app.py`` with the settings passed in the environment."""
    if importlib.util.find_spec("streamlit") is None:
        raise ConfigError("the dashboard needs Streamlit", hint="pip install 'moviecdc[dashboard]'")
    app = Path(__file__).with_name("app.py")
    env = dict(os.environ)
    env.update(
        {
            "MOVIECDC_TARGET": settings.target,
            "MOVIECDC_DB": str(settings.db_path),
            "SNOWFLAKE_DATABASE": settings.database,
            "SNOWFLAKE_SCHEMA": settings.schema,
        }
    )
    cmd = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(port),
           "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "minimal"]  # fmt: skip
    return subprocess.call(cmd, env=env)
