"""`moviecdc dashboard` as a process: where it listens, and that SIGTERM / SIGINT stop it
with its Streamlit server (what docker stop, systemd and CI send)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.test_dashboard_browser import free_port

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")]
pytest.importorskip("streamlit")


def start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    env = {**os.environ, "MOVIECDC_DB": str(tmp_path / "db.duckdb"), "MOVIECDC_TARGET": "local"}
    proc = subprocess.Popen([sys.executable, "-m", "moviecdc", "dashboard", "--port", str(port), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, port
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"dashboard did not start: {(proc.stdout.read() if proc.stdout else '')[-2000:]}")
        time.sleep(0.3)


def listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} write them) listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                address, hexport = local.rsplit(":", 1)
                if state == "0A" and int(hexport, 16) == port:  # 0A: LISTEN
                    found.append(address)
    return found


def servers(port: int) -> list[int]:
    """PIDs of processes whose command line runs Streamlit on ``port``."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"streamlit" in b" ".join(cmd) and str(port).encode() in cmd:
            pids.append(int(entry.name))
    return pids


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_the_dashboard_and_its_server(tmp_path: Path, sig: signal.Signals) -> None:
    proc, port = start(tmp_path)
    try:
        assert listening(port) == ["0100007F"]  # 127.0.0.1 only, by default
        assert servers(port)
        proc.send_signal(sig)
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == (143 if sig == signal.SIGTERM else 130)
    deadline = time.monotonic() + 10
    while (servers(port) or listening(port)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert servers(port) == [] and listening(port) == []
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass


def test_host_opens_the_dashboard_to_other_machines_only_when_asked(tmp_path: Path) -> None:
    proc, port = start(tmp_path, "--host", "0.0.0.0")
    try:
        assert listening(port) == ["00000000"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
