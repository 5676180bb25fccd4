"""Our own work per ``POST /v1/evaluate``, part by part, against the whole request in-process.

The requests are the benchmark's body mix (500 bodies, seed 2019), sent to the Litestar apps
over ASGI, without a socket. Each part of our own work is timed where it runs, inside the
requests (a wrapper around each function: about 0.1 us each, charged to the part), since code
timed in a loop of its own runs warmer than it does between Litestar's; the whole requests are
timed on an app without the wrappers. Every figure is per request, the median over rounds that
interleave the apps, with the quickest and slowest round. "Litestar and the rest" is the whole
request less our parts: routing, middleware, the request and response objects, headers.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec

from bench import bare
from bench.inprocess import request_bodies
from service.app import create_app
from service.audit.sinks import open_audit_sink
from service.guidance import service as service_module
from service.guidance.decoding import StrictDecoder
from service.http import evaluate as evaluate_module
from service.http import headers as headers_module
from service.http.evaluate import EVALUATION_REQUEST
from service.settings import Settings

# (key, what the row says); the parts are "our own work", in request order.
PARTS = (
    ("decode", "decode and validate the body (strict decoder, from the body bytes)"),
    ("engine", "engine: counts, fact encoding, durable_rules"),
    ("prompts", "prompts and their explanations"),
    ("ids", "ids: evaluation id and request id"),
    ("audit_render", "audit record rendered and chained"),
    ("audit_write", "audit line written (append to a file, locked)"),
    ("encode", "answer encoded to JSON bytes"),
)
WHOLE = (
    ("service", "service, whole request in-process"),
    ("bare", "bare Litestar POST, whole request in-process"),
)


def _scope(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/evaluate",
        "raw_path": b"/v1/evaluate",
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


async def call(app: Any, body: bytes) -> int:
    """One request through the app over ASGI; its status."""
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(_scope(body), receive, send)
    return status


def _requests(app: Any, bodies: list[bytes]) -> Callable[[], None]:
    loop = asyncio.new_event_loop()

    async def all_of_them() -> None:
        for body in bodies:
            status = await call(app, body)
            assert status == 200, status

    return lambda: loop.run_until_complete(all_of_them())


class _Clock:
    """Time spent inside the functions it wraps, by part, while requests run."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, part: str, function: Callable[..., Any]) -> Callable[..., Any]:
        self.spent.setdefault(part, 0.0)
        clock = time.perf_counter
        spent = self.spent

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                spent[part] += clock() - started

        return timed


class _TimedSink:
    def __init__(self, sink: Any, clock: _Clock) -> None:
        self.write = clock.wrap("audit_write", sink.write)


@contextmanager
def _service_timed_by_part(folder: Path) -> Iterator[tuple[Any, _Clock]]:
    """The service app with each part of our own work timed where it runs, inside requests."""
    clock = _Clock()
    settings = Settings(audit_file=folder / "audit-timed.log", audit_key=b"overhead")
    app = create_app(settings, audit_sink=_TimedSink(open_audit_sink(settings), clock))
    guidance = app.state.guidance
    evaluator, audit = guidance.evaluator, guidance.audit
    matcher = evaluator.matcher
    originals = (evaluate_module._encode_response, service_module.new_uuid4, headers_module.new_request_id)
    # Each part timed in place, inside real requests: the methods are replaced on these objects.
    EVALUATION_REQUEST.decode = clock.wrap("decode", StrictDecoder.decode.__get__(EVALUATION_REQUEST))  # type: ignore[method-assign]
    matcher.match = clock.wrap("match", matcher.match)
    evaluator._engine_counts = clock.wrap("counts", evaluator._engine_counts)
    evaluator.evaluate = clock.wrap("evaluation", evaluator.evaluate)
    audit.evaluation = clock.wrap("audit", audit.evaluation)
    evaluate_module._encode_response = clock.wrap("encode", originals[0])
    service_module.new_uuid4 = clock.wrap("ids", originals[1])
    headers_module.new_request_id = clock.wrap("ids", originals[2])
    try:
        yield app, clock
    finally:
        del EVALUATION_REQUEST.decode
        evaluate_module._encode_response, service_module.new_uuid4, headers_module.new_request_id = originals


def measure(rounds: int = 7, bodies_count: int = 500) -> dict[str, Any]:
    """Microseconds per request: each part of our own work, timed inside the requests it
    serves; both whole requests, timed without any of that timing. Median, min and max over
    rounds that interleave the three apps."""
    bodies = [msgspec.json.encode(b) for b in request_bodies(bodies_count)]
    figures: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as directory, _service_timed_by_part(Path(directory)) as timed_app:
        folder = Path(directory)
        service = create_app(Settings(audit_file=folder / "audit.log", audit_key=b"overhead"))
        apps = {"service": service, "bare": bare.create_app(), "parts": timed_app[0]}
        clock = timed_app[1]
        runs = {name: _requests(app, bodies) for name, app in apps.items()}
        for run in runs.values():  # warm-up
            run()
        gc.collect()
        for number in range(rounds):
            names = list(runs)
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                before = dict(clock.spent)
                started = time.perf_counter()
                runs[name]()
                elapsed = time.perf_counter() - started
                if name != "parts":
                    figures.setdefault(name, []).append(elapsed / len(bodies) * 1e6)
                    continue
                spent = {part: (clock.spent[part] - before[part]) / len(bodies) * 1e6 for part in before}
                for part, value in _parts(spent).items():
                    figures.setdefault(part, []).append(value)
    summary = {name: _summary(values) for name, values in figures.items()}
    own = sum(summary[name]["median"] for name, _ in PARTS)
    summary["own"] = {"median": own}
    summary["litestar"] = {"median": summary["service"]["median"] - own}
    return {"rounds": rounds, "bodies": bodies_count, "figures": summary}


def _parts(spent: dict[str, float]) -> dict[str, float]:
    """The parts of :data:`PARTS` from the time spent in each wrapped function (some nest)."""
    engine = spent["match"] + spent["counts"]
    return {
        "decode": spent["decode"],
        "engine": engine,
        "prompts": spent["evaluation"] - engine,
        "ids": spent["ids"],
        "audit_render": spent["audit"] - spent["audit_write"],
        "audit_write": spent["audit_write"],
        "encode": spent["encode"],
    }


def _summary(values: list[float]) -> dict[str, float]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values)}


def render(after: dict[str, Any], before: dict[str, Any] | None = None) -> str:
    """The table: each part, our own work, Litestar's share and the whole requests; with a
    ``before`` measurement (an earlier commit), both columns."""
    rows = [*PARTS, ("own", "our own work (the parts above)"), ("litestar", "Litestar and the rest")]
    rows += list(WHOLE)
    header = ["per request", "us, median (min-max)"]
    if before is not None:
        header = ["per request", f"before ({before.get('commit', '?')})", "after"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for key, words in rows:
        cells = [_cell(after["figures"].get(key))]
        if before is not None:
            cells.insert(0, _cell(before["figures"].get(key)))
        lines.append(f"| {words} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(figure: dict[str, float] | None) -> str:
    if figure is None:
        return "-"
    if "min" not in figure:
        return f"{figure['median']:.1f}"
    return f"{figure['median']:.1f} ({figure['min']:.1f}-{figure['max']:.1f})"
