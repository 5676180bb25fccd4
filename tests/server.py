"""A real server process (``guidance serve`` under uvicorn) for tests that need one."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    stdout: Path | None = None,
    stderr: Path | None = None,
    timeout: float = 30.0,
    wait_for: str = "/ready",
    preexec_fn: Callable[[], None] | None = None,
) -> Iterator[str]:
    """Start the service on a free loopback port; yield its base URL; stop it afterwards.

    ``stdout`` and ``stderr``, when given, are files that receive the server's output. The
    server counts as started when ``wait_for`` answers 200: ``/health`` for a server that is
    expected never to be ready. ``preexec_fn`` runs in the server process before it starts
    (to set a resource limit, for example).
    """
    port = free_port()
    environment = {
        **os.environ,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": str(workers),
        **(env or {}),
    }
    out = stdout.open("wb") if stdout else subprocess.DEVNULL
    err = stderr.open("wb") if stderr else subprocess.PIPE
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli.main", "serve"],
        cwd=REPO,
        env=environment,
        stdout=out,
        stderr=err,
        preexec_fn=preexec_fn,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stderr.read() if process.stderr else stderr.read_bytes()  # type: ignore[union-attr]
                raise RuntimeError(f"server exited ({process.returncode}): {output.decode(errors='replace')}")
            try:
                if httpx.get(f"{base_url}{wait_for}", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not become ready in time")
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if stdout:
            out.close()  # type: ignore[union-attr]
        if stderr:
            err.close()  # type: ignore[union-attr]
