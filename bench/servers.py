"""Server processes for the benchmark: the service (``guidance serve``) and the bare endpoint
(``python -m bench.bare``), both under uvicorn with the same settings, each on a free
loopback port, optionally pinned to given cores."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ready(port: int, path: str) -> bool:
    try:
        request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method="GET")
        with urllib.request.urlopen(request, timeout=1) as response:
            return response.status in (200, 405)
    except urllib.error.HTTPError as error:
        return error.code == 405  # the bare app has only a POST route: it is up
    except OSError:
        return False


@contextmanager
def server(
    kind: str,
    *,
    workers: int = 1,
    cpus: set[int] | None = None,
    audit_file: Path | None = None,
    settings: dict[str, str] | None = None,
) -> Iterator[int]:
    """Start ``kind`` ("service" or "bare"), yield its port, stop it afterwards.

    ``settings`` are environment variables for the server (``GUIDANCE_…``)."""
    port = free_port()
    env = {**os.environ, **(settings or {}), "HOST": "127.0.0.1", "PORT": str(port), "WORKERS": str(workers)}
    if audit_file is not None:
        env["GUIDANCE_AUDIT_FILE"] = str(audit_file)
    module = ["-m", "service.cli.main", "serve"] if kind == "service" else ["-m", "bench.bare"]

    def pin() -> None:  # in the child, before exec: the workers it forks inherit it
        if cpus:
            os.sched_setaffinity(0, cpus)

    process = subprocess.Popen(
        [sys.executable, *module],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        preexec_fn=pin,
    )
    try:
        deadline = time.monotonic() + 60
        probe = "/ready" if kind == "service" else "/v1/evaluate"
        while not _ready(port, probe):
            if process.poll() is not None:
                said = process.stderr.read() if process.stderr else b""
                raise RuntimeError(f"{kind} server exited: {said.decode(errors='replace')}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{kind} server did not become ready")
            time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
