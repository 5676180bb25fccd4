"""Where the time of one ``POST /v1/evaluate`` goes: ``python -m bench.profile_request``.

First our own work per request, part by part, against the whole request in-process
(:mod:`bench.overhead`), beside the same figures measured at an earlier commit
(``bench/overhead-before.json``); then the service's pyinstrument profile. The Litestar apps
are called in-process through ASGI with the benchmark's body mix, without a socket: the figures
leave out uvicorn's HTTP parsing and the kernel, which both endpoints pay alike.

``--record-before COMMIT`` measures and writes the figures as the "before" of later runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import msgspec

from bench import overhead
from bench.inprocess import request_bodies
from bench.servers import REPO
from service.app import create_app
from service.settings import Settings

BEFORE = REPO / "bench" / "overhead-before.json"


def before() -> dict[str, Any] | None:
    return json.loads(BEFORE.read_text()) if BEFORE.is_file() else None


async def _profile(count: int) -> str:
    from pyinstrument import Profiler

    bodies = [msgspec.json.encode(b) for b in request_bodies(500)]
    with tempfile.TemporaryDirectory() as folder:
        service = create_app(Settings(audit_file=Path(folder) / "audit.log", audit_key=b"profile"))
        for n in range(1_000):
            await overhead.call(service, bodies[n % len(bodies)])
        profiler = Profiler(interval=0.0001, async_mode="disabled")
        profiler.start()
        for n in range(count):
            await overhead.call(service, bodies[n % len(bodies)])
        profiler.stop()
    return profiler.output_text(unicode=False, show_all=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile_request", description=__doc__)
    parser.add_argument("requests", type=int, nargs="?", default=10_000, help="requests profiled")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--record-before", metavar="COMMIT", help="write the figures as the 'before'")
    args = parser.parse_args(argv)
    measured = overhead.measure(args.rounds)
    if args.record_before:
        BEFORE.write_text(json.dumps({"commit": args.record_before, **measured}, indent=2) + "\n")
    print(overhead.render(measured, None if args.record_before else before()))
    if args.requests:
        print(asyncio.run(_profile(args.requests)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
