"""An HTTP/1.1 keep-alive load generator, run as its own process (pinned to a core of its own).

``python -m bench.load '<json options>'`` prints one JSON line with the result. Requests are
encoded once, before the clock starts; responses are read just far enough to know their
status and length. Two modes:

* ``closed``: each of ``connections`` connections sends its next request as soon as the
  previous answer is in; the server is saturated, and the result is its throughput. Answers
  503 (shed under overload) are counted apart from other errors, and with ``latencies`` the
  result also has the latency quantiles of the 200 answers, each from its request's sending.
* ``open``: requests are started on a fixed schedule (``rate`` per second) whatever the
  server does; each latency is measured from the moment the request was *due*, so a server
  that falls behind is charged for the queue it causes (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import deque
from typing import Any

try:  # the same event loop the server uses, when installed
    import uvloop
except ImportError:  # pragma: no cover
    uvloop = None  # type: ignore[assignment]  # asyncio's own loop then


def build_requests(host: str, port: int, path: str, bodies: list[bytes]) -> list[bytes]:
    head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
    return [(head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body for body in bodies]


class _Client(asyncio.Protocol):
    """One keep-alive connection; ``on_done(status, due)`` is called for each full response."""

    def __init__(self, on_done: Any) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.on_done = on_done
        self.due: deque[float] = deque()
        self.connected = asyncio.get_running_loop().create_future()
        self.lost = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.connected.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True

    def send(self, request: bytes, due: float) -> None:
        self.due.append(due)
        assert self.transport is not None
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buffer[:end]).lower()
            at = head.find(b"content-length:")
            length = 0
            if at >= 0:
                stop = head.find(b"\r\n", at)
                length = int(head[at + 15 : stop if stop >= 0 else len(head)])
            total = end + 4 + length
            if len(buffer) < total:
                return
            status = int(head[9:12])
            del buffer[:total]
            self.on_done(self, status, self.due.popleft())


async def _connect(host: str, port: int, on_done: Any) -> _Client:
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: _Client(on_done), host, port)
    await client.connected
    return client


async def closed_loop(options: dict[str, Any]) -> dict[str, Any]:
    host, port = options["host"], options["port"]
    requests = build_requests(host, port, options["path"], _bodies(options))
    warmup, duration = options.get("warmup", 1.0), options["duration"]
    state = {"next": 0, "count": 0, "errors": 0, "shed": 0, "measuring": False}
    timed = bool(options.get("latencies"))
    latencies: list[float] = []
    clock = time.perf_counter

    def on_done(client: _Client, status: int, sent: float) -> None:
        if state["measuring"]:
            state["count"] += 1
            if status == 200:
                if timed:
                    latencies.append(clock() - sent)
            elif status == 503:
                state["shed"] += 1
            else:
                state["errors"] += 1
        index = state["next"]
        state["next"] = index + 1
        client.send(requests[index % len(requests)], clock() if timed else 0.0)

    clients = []
    for _ in range(options["connections"]):
        # One at a time, a moment apart: with several workers sharing the listening socket,
        # connections opened in a burst tend to be accepted by one worker.
        clients.append(await _connect(host, port, on_done))
        await asyncio.sleep(0.002)
    for client in clients:
        on_done(client, 200, 0.0)
    await asyncio.sleep(warmup)
    state["measuring"] = True
    started = time.perf_counter()
    await asyncio.sleep(duration)
    state["measuring"] = False
    elapsed = time.perf_counter() - started
    for client in clients:
        assert client.transport is not None
        client.transport.close()
    lost = sum(1 for c in clients if c.lost and c.due)
    result = {
        "requests": state["count"],
        "seconds": elapsed,
        "rps": state["count"] / elapsed,
        "errors": state["errors"] + lost,
        "shed": state["shed"],
    }
    if timed:
        result.update(_quantiles(latencies))
    return result


async def open_loop(options: dict[str, Any]) -> dict[str, Any]:
    host, port = options["host"], options["port"]
    requests = build_requests(host, port, options["path"], _bodies(options))
    rate, duration, warmup = options["rate"], options["duration"], options.get("warmup", 1.0)
    idle: asyncio.Queue[_Client] = asyncio.Queue()
    latencies: list[float] = []
    state = {"errors": 0, "measure_from": float("inf")}

    def on_done(client: _Client, status: int, due: float) -> None:
        if due >= state["measure_from"]:
            latencies.append(time.perf_counter() - due)
            if status != 200:
                state["errors"] += 1
        idle.put_nowait(client)

    for _ in range(options["connections"]):
        idle.put_nowait(await _connect(host, port, on_done))
    loop = asyncio.get_running_loop()
    start = time.perf_counter()
    state["measure_from"] = start + warmup
    total = int(rate * (warmup + duration))
    late = 0
    for index in range(total):
        due = start + index / rate
        wait = due - time.perf_counter()
        if wait > 0.0005:
            await asyncio.sleep(wait)
        elif wait < -0.001:
            late += 1
        client = idle.get_nowait() if not idle.empty() else await idle.get()
        client.send(requests[index % len(requests)], due)
    while idle.qsize() < options["connections"]:
        await asyncio.sleep(0.01)
        if time.perf_counter() - start > warmup + duration + 30:
            break
    del loop
    return {
        "rate": rate,
        "requests": len(latencies),
        "errors": state["errors"],
        **_quantiles(latencies),
        "late_starts": late,
    }


def _quantiles(latencies: list[float]) -> dict[str, float]:
    """p50, p99 and the maximum, in milliseconds."""
    latencies = sorted(latencies)

    def quantile(q: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
        )

    return {
        "p50_ms": quantile(0.50),
        "p99_ms": quantile(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else float("nan"),
    }


def _bodies(options: dict[str, Any]) -> list[bytes]:
    with open(options["bodies"], "rb") as file:
        return [bytes.fromhex(line.strip().decode()) for line in file if line.strip()]


def main() -> int:
    options = json.loads(sys.argv[1])
    if options.get("cpus"):
        os.sched_setaffinity(0, set(options["cpus"]))
    run = closed_loop if options["mode"] == "closed" else open_loop
    result = uvloop.run(run(options)) if uvloop is not None else asyncio.run(run(options))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
