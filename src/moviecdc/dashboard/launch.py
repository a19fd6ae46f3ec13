"""`moviecdc dashboard`: start Streamlit on the configured target.

The page shows booking data, so it listens on the loopback interface unless ``--host``
says otherwise. SIGTERM and SIGINT (``docker stop``, systemd, Ctrl-C) are passed on to
Streamlit, and the command exits when it has stopped: no server is left on the port.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import os
import signal
import subprocess
import sys
from pathlib import Path
from types import FrameType

from moviecdc.config import Settings
from moviecdc.errors import ConfigError

LOOPBACK = "127.0.0.1"
_STOP_WAIT = 15.0  # seconds Streamlit gets to stop before it is killed


def launch(settings: Settings, port: int, host: str = LOOPBACK) -> int:
    """Run ``streamlit run app.py`` with the settings passed in the environment; return its exit code."""
    try:
        ipaddress.ip_address(host if host != "localhost" else LOOPBACK)
    except ValueError:
        hint = "use 127.0.0.1 (the default), ::1 or 0.0.0.0"
        raise ConfigError(f"--host {host!r} is not an IP address", hint=hint) from None
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
           "--server.address", host, "--server.headless", "true", "--browser.gatherUsageStats", "false",
           "--client.toolbarMode", "minimal"]  # fmt: skip
    child = subprocess.Popen(cmd, env=env)
    stopping: list[int] = []

    def forward(signum: int, frame: FrameType | None) -> None:
        stopping.append(signum)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                code = child.wait(timeout=_STOP_WAIT if stopping else None)
                break
            except subprocess.TimeoutExpired:
                child.kill()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    if stopping:
        return 130 if stopping[0] == signal.SIGINT else 143
    return code
