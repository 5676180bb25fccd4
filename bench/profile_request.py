"""Where the time of one ``POST /v1/evaluate`` goes: ``python -m bench.profile_request [N]``.

The service's Litestar app (audit into a temporary file, as in the benchmark) and the bare
endpoint are called in-process through ASGI with the benchmark's body mix, without a socket:
the figures leave out uvicorn's HTTP parsing and the kernel, which both endpoints pay alike.
Prints the microseconds per request of each, then the service's pyinstrument profile.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgspec

from bench import bare
from bench.inprocess import request_bodies
from service.app import create_app
from service.settings import Settings


def _scope(path: str, body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }


async def _call(app: Any, body: bytes) -> int:
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    status = 0

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope("/v1/evaluate", body), receive, send)
    return status


async def _run(app: Any, bodies: list[bytes], count: int) -> float:
    started = time.perf_counter()
    for n in range(count):
        status = await _call(app, bodies[n % len(bodies)])
        assert status == 200, status
    return (time.perf_counter() - started) / count * 1e6


async def main(count: int) -> None:
    from pyinstrument import Profiler

    bodies = [msgspec.json.encode(b) for b in request_bodies(500)]
    with tempfile.TemporaryDirectory() as folder:
        service = create_app(Settings(audit_file=Path(folder) / "audit.log", audit_key=b"profile"))
        bare_app = bare.create_app()
        for app in (bare_app, service):
            await _run(app, bodies, 1_000)
        print(f"bare endpoint: {await _run(bare_app, bodies, count):.1f} us per request (in-process)")
        print(f"service:       {await _run(service, bodies, count):.1f} us per request (in-process)")
        profiler = Profiler(interval=0.0001, async_mode="disabled")
        profiler.start()
        await _run(service, bodies, count)
        profiler.stop()
        print(profiler.output_text(unicode=False, show_all=False))


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000))
