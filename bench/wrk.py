"""Saturation throughput with ``wrk`` (C, epoll): ``python -m bench --wrk``.

An alternative to bench/load.py for the closed-loop figures. Measured on this machine it made
no material difference (both saturate one uvicorn worker; in the two-worker comparison both
take a similar share of the cores), so the default stays the Python load generator, which
needs nothing installed. With ``--wrk`` the benchmark installs it with apt-get when missing and
it runs as root (Debian package ``wrk``), and falls back to bench/load.py when it cannot.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

_SCRIPT = r"""
local requests = {}
local n = 0
init = function(args)
  local index = 0
  for line in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", args[2], {["Content-Type"] = "application/json"}, line)
  end
end
request = function()
  n = n + 1
  return requests[(n % #requests) + 1]
end
"""


def find_wrk(install: bool = True) -> str | None:
    found = shutil.which("wrk")
    if found or not install:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def quietly(*command: str) -> int:
        done = subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300, check=False
        )
        return done.returncode

    try:
        if quietly("apt-get", "install", "-y", "-q", "wrk") != 0:
            quietly("apt-get", "update", "-q")
            quietly("apt-get", "install", "-y", "-q", "wrk")
    except (OSError, subprocess.TimeoutExpired):
        return None
    return shutil.which("wrk")


def run_wrk(
    wrk: str,
    port: int,
    bodies: list[bytes],
    folder: Path,
    *,
    connections: int,
    seconds: float,
    warmup: float,
    cpus: set[int] | None,
) -> dict[str, Any]:
    """Requests per second at saturation with one wrk thread, the bodies in rotation."""
    script = folder / "bodies.lua"
    script.write_text(_SCRIPT)
    lines = folder / "bodies.jsonl"
    lines.write_bytes(b"\n".join(bodies) + b"\n")

    def pin() -> None:
        if cpus:
            os.sched_setaffinity(0, cpus)

    def once(duration: float) -> str:
        command = [
            wrk,
            "-t1",
            f"-c{connections}",
            f"-d{max(1, round(duration))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}",
            "--",
            str(lines),
            "/v1/evaluate",
        ]
        done = subprocess.run(command, capture_output=True, text=True, preexec_fn=pin, timeout=duration + 60)
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed: {done.stderr}")
        return done.stdout

    if warmup > 0:
        once(warmup)
    output = once(seconds)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(m?s)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if not rate or not total:
        raise RuntimeError(f"cannot read wrk's output: {output}")
    errors = int(non_2xx.group(1)) if non_2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return {"rps": float(rate.group(1)), "requests": int(total.group(1)), "errors": errors, "client": "wrk"}
