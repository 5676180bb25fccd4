"""Stopping ``guidance serve`` as an operator does: Ctrl-C (SIGINT) or SIGTERM ends it
gracefully, with only JSON lines on standard error (no traceback). Ctrl-C exits 0; after
SIGTERM uvicorn raises the signal again once shut down, so the process ends by it, as a
supervisor expects."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import msgspec
import pytest

from tests.conftest import REPO
from tests.server import free_port


@pytest.mark.parametrize(("stop", "status"), [(signal.SIGINT, 0), (signal.SIGTERM, -signal.SIGTERM)])
def test_a_stopped_server_shuts_down_gracefully_in_json(stop: signal.Signals, status: int) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "serve"],
        cwd=REPO,
        env={"PATH": "/usr/bin:/bin", "HOST": "127.0.0.1", "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == status, stderr
    events = [msgspec.json.decode(line)["event"] for line in stderr.splitlines()]  # every line JSON
    assert "listening" in events
    assert any(event.startswith("Finished server process") for event in events)
