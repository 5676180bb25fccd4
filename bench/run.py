"""``make bench`` / ``python -m bench [--smoke]``: the six performance targets of issue 5 and the
overload row of issue 8, side by side in one run, printed as one table and written to
bench/results/latest.json.

HTTP figures come from real server processes: the service as ``guidance serve`` runs it and
the bare Litestar endpoint (bench/bare.py) served the same way, one uvicorn worker each, both
pinned to core 0 and alive for the whole comparison; the load generator (bench/load.py) is a
separate process pinned to core 1 and sends both the same pre-encoded bodies, alternating
between the two servers round by round so that noise from other work on the machine falls on
both alike. The two-worker comparison cannot keep the load generator off the servers' cores:
both configurations then run unpinned with the same load generator, and the ratio compares
like with like (see docs/performance.md). In-process figures time each evaluation on its own
and report medians over several passes.

The overload row drives one worker (pinned to core 0) with 256 closed-loop connections from the
load generator (core 1), which sends again as soon as an answer is in, 503 or not: with the
shipped cap on requests in progress and with the cap out of reach, in alternating rounds; it
reports the latency of the requests accepted (200, medians of the rounds' p50 and p99) and the
share shed (503).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from bench import inprocess, overhead
from bench.peers import suite as peers
from bench.profile_request import before as overhead_before
from bench.scaling import scaling_figures
from bench.servers import REPO, server
from bench.table import render, table
from bench.wrk import find_wrk, run_wrk
from service.settings import Settings

RESULTS = REPO / "bench" / "results"


@dataclass(frozen=True)
class Config:
    name: str
    bodies: int
    connections: int
    rounds: int
    seconds: float
    warmup: float
    latency_seconds: float
    engine_cases: int
    engine_rounds: int
    generated_rules: int
    memory_evaluations: int
    overload_connections: int
    overload_rounds: int
    overload_seconds: float
    peer_cases: int  # every peer engine must agree with ours on each
    peer_timed: int  # of them, the cases timed
    peer_rounds: int
    overhead_rounds: int


FULL = Config(
    "full", 500, 16, 5, 5.0, 1.5, 15.0, 1_000, 5, 1_000, 1_000_000, 256, 3, 5.0, 10_000, 2_000, 7, 7
)
SMOKE = Config("smoke", 50, 4, 1, 0.4, 0.2, 0.5, 60, 1, 60, 3_000, 256, 1, 0.5, 40, 40, 1, 1)
UNCAPPED = "100000"  # GUIDANCE_MAX_CONCURRENT_REQUESTS at its maximum: no request is ever shed


def run_load(options: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.load", json.dumps(options)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=options.get("duration", 1) * 4 + 120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed: {done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _closed(
    port: int,
    config: Config,
    bodies: Path,
    cpus: list[int] | None,
    wrk: str | None,
    connections: int | None = None,
) -> dict[str, Any]:
    if wrk is not None:
        raw = [bytes.fromhex(line) for line in bodies.read_text().split()]
        return run_wrk(
            wrk,
            port,
            raw,
            bodies.parent,
            connections=connections or config.connections,
            seconds=config.seconds,
            warmup=config.warmup,
            cpus=set(cpus) if cpus else None,
        )
    return run_load(
        {
            "mode": "closed",
            "host": "127.0.0.1",
            "port": port,
            "path": "/v1/evaluate",
            "bodies": str(bodies),
            "connections": connections or config.connections,
            "duration": config.seconds,
            "warmup": config.warmup,
            "cpus": cpus,
        }
    )


def http_figures(config: Config, bodies: Path, folder: Path, wrk: str | None) -> dict[str, Any]:
    figures: dict[str, Any] = {"client": "wrk" if wrk else "bench/load.py"}
    rps: dict[str, list[float]] = {"bare": [], "service": []}
    errors = 0
    with (
        server("bare", cpus={0}) as bare_port,
        server("service", cpus={0}, audit_file=folder / "audit.log") as service_port,
    ):
        ports = {"bare": bare_port, "service": service_port}
        for round_number in range(config.rounds):
            order = ("bare", "service") if round_number % 2 == 0 else ("service", "bare")
            for kind in order:
                result = _closed(ports[kind], config, bodies, [1], wrk)
                rps[kind].append(result["rps"])
                errors += result["errors"] + result.get("shed", 0)
        service_max = statistics.median(rps["service"])
        latency = run_load(
            {
                "mode": "open",
                "host": "127.0.0.1",
                "port": service_port,
                "path": "/v1/evaluate",
                "bodies": str(bodies),
                "connections": 64,
                "rate": service_max / 2,
                "duration": config.latency_seconds,
                "warmup": config.warmup,
                "cpus": [1],
            }
        )
        errors += latency["errors"]
    figures["bare_rps"] = statistics.median(rps["bare"])
    figures["service_rps"] = service_max
    figures["rounds"] = rps
    figures["latency"] = latency
    # More connections than for one worker alone, so that every worker gets a fair share of them
    # (the same number for every configuration).
    scaling = scaling_figures(
        config.rounds,
        folder,
        lambda port: _closed(port, config, bodies, None, wrk, 4 * config.connections),
    )
    figures["one_worker_rps"] = scaling["rps"][1]
    figures["two_workers_rps"] = scaling["rps"][2]
    figures["scaling_rounds"] = scaling["rounds"]
    figures["workers_rps"] = scaling["rps"]
    figures["errors"] = errors + scaling["errors"]
    return figures


def overload_figures(config: Config, bodies: Path, folder: Path) -> dict[str, Any]:
    """One worker under more closed-loop connections than it takes requests at a time, with the
    shipped cap on requests in progress and with the cap out of reach: two servers pinned to
    core 0, alive together, driven in alternating rounds from core 1 (as for row 1)."""
    cap = Settings().max_concurrent_requests
    limits = {"capped": str(cap), "uncapped": UNCAPPED}
    rounds: dict[str, list[dict[str, Any]]] = {"capped": [], "uncapped": []}
    with (
        server(
            "service",
            cpus={0},
            audit_file=folder / "audit-capped.log",
            settings={"GUIDANCE_MAX_CONCURRENT_REQUESTS": limits["capped"]},
        ) as capped,
        server(
            "service",
            cpus={0},
            audit_file=folder / "audit-uncapped.log",
            settings={"GUIDANCE_MAX_CONCURRENT_REQUESTS": limits["uncapped"]},
        ) as uncapped,
    ):
        ports = {"capped": capped, "uncapped": uncapped}
        for round_number in range(config.overload_rounds):
            order = ("capped", "uncapped") if round_number % 2 == 0 else ("uncapped", "capped")
            for name in order:
                options = {
                    "mode": "closed",
                    "host": "127.0.0.1",
                    "port": ports[name],
                    "path": "/v1/evaluate",
                    "bodies": str(bodies),
                    "connections": config.overload_connections,
                    "duration": config.overload_seconds,
                    "warmup": config.warmup,
                    "cpus": [1],
                    "latencies": True,
                }
                rounds[name].append(run_load(options))
    figures: dict[str, Any] = {"connections": config.overload_connections, "cap": cap, "rounds": rounds}
    for name, results in rounds.items():
        requests = sum(r["requests"] for r in results)
        shed = sum(r["shed"] for r in results)
        figures[name] = {
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "accepted_rps": statistics.median((r["requests"] - r["shed"]) / r["seconds"] for r in results),
            "shed_share": shed / requests if requests else float("nan"),
            "errors": sum(r["errors"] for r in results),
        }
    return figures


def memory_figures(evaluations: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.memory", str(evaluations)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["growth_mb"] = (result["rss_after"] - result["rss_before"]) / 1e6
    return result


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except OSError:
        pass
    with open("/proc/meminfo") as meminfo:
        total_kb = int(meminfo.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model or platform.processor(),
        "memory_gb": round(total_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_at_start": _load(),
    }


def _load() -> str:
    """The load averages (1, 5 and 15 minutes), as ``uptime`` shows them: other work running."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="The six performance targets of issue 5 and the overload row of issue 8, in one table.",
    )
    parser.add_argument("--smoke", action="store_true", help="seconds long, tiny counts: proves it runs")
    parser.add_argument(
        "--wrk",
        action="store_true",
        help="measure saturation throughput with wrk (installed with apt-get when missing) instead of "
        "bench/load.py; falls back to bench/load.py when wrk cannot be had",
    )
    args = parser.parse_args(argv)
    config = SMOKE if args.smoke else FULL
    wrk = find_wrk(install=True) if args.wrk else None
    started = time.perf_counter()
    bodies = inprocess.request_bodies(config.bodies)
    results: dict[str, Any] = {"config": config.name, "machine": machine()}
    with tempfile.TemporaryDirectory() as directory:
        folder = Path(directory)
        bodies_file = folder / "bodies.hex"
        bodies_file.write_text("\n".join(msgspec.json.encode(b).hex() for b in bodies) + "\n")
        print(f"[bench] {config.name}: HTTP (service and bare endpoint) ...", file=sys.stderr, flush=True)
        results["http"] = http_figures(config, bodies_file, folder, wrk)
        print(
            f"[bench] overload: {config.overload_connections} connections, one worker ...",
            file=sys.stderr,
            flush=True,
        )
        results["overload"] = overload_figures(config, bodies_file, folder)
    facts = inprocess.as_facts(inprocess.request_bodies(config.engine_cases, seed=5))
    packs = inprocess.shipped_packs()
    print("[bench] engine, shipped packs ...", file=sys.stderr, flush=True)
    results["engine"] = inprocess.engine_figures(packs, facts, config.engine_rounds)
    print(f"[bench] engine, generated {config.generated_rules}-rule pack ...", file=sys.stderr, flush=True)
    results["generated"] = inprocess.generated_figures(config.generated_rules, facts, config.engine_rounds)
    results["audit"] = inprocess.audit_figures(packs, facts, config.engine_rounds)
    print(f"[bench] memory over {config.memory_evaluations:,} evaluations ...", file=sys.stderr, flush=True)
    results["memory"] = memory_figures(config.memory_evaluations)
    print(f"[bench] our own work per request, {config.overhead_rounds} rounds", file=sys.stderr, flush=True)
    results["overhead"] = overhead.measure(config.overhead_rounds)
    print(
        f"[bench] peers: agreement on {config.peer_cases:,} cases, {config.peer_timed:,} timed ...",
        file=sys.stderr,
        flush=True,
    )
    results["peers"] = peers.run(packs, config.peer_cases, config.peer_rounds, timed=config.peer_timed)
    results["seconds"] = time.perf_counter() - started
    results["load_at_end"] = _load()
    rows = table(results)
    results["table"] = rows
    info = results["machine"]
    print()
    print(
        f"Machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gb']} GB, Python {info['python']}; "
        f"{info['date']}; {config.name} run, {results['seconds']:.0f} s; load averages "
        f"{info['load_at_start']} at the start, {results['load_at_end']} at the end"
    )
    print(render(rows))
    before = overhead_before()
    print()
    print(
        f"Our own work per request, in-process (us, median of {config.overhead_rounds} rounds, "
        f"min-max; before: commit {before['commit'] if before else '-'}, from bench/overhead-before.json)"
    )
    print(overhead.render(results["overhead"], before))
    print()
    found = results["peers"]
    print(
        f"Peer engines, the shipped pack's rules generated for each: agreement on {found['cases']:,} cases, "
        f"then {found['rounds']} interleaved rounds over {found['timed_cases']:,} of them"
    )
    print(peers.render(found))
    # A smoke run never overwrites the figures of the last full run.
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("latest.json" if config is FULL else "smoke.json")
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0
