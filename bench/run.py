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

from bench import inprocess
from bench.scaling import scaling_figures
from bench.servers import REPO, server
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


FULL = Config("full", 500, 16, 5, 5.0, 1.5, 15.0, 1_000, 5, 1_000, 1_000_000, 256, 3, 5.0)
SMOKE = Config("smoke", 50, 4, 1, 0.4, 0.2, 0.5, 60, 1, 60, 3_000, 256, 1, 0.5)
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
    }


def _row(number: str, what: str, figure: str, target: str, ratio: str, passed: bool | None) -> list[str]:
    verdict = "-" if passed is None else ("PASS" if passed else "FAIL")
    return [number, what, figure, target, ratio, verdict]


def table(results: dict[str, Any]) -> list[list[str]]:
    http, engine, generated = results["http"], results["engine"], results["generated"]
    memory, audit = results["memory"], results["audit"]
    throughput = http["service_rps"] / http["bare_rps"]
    size = generated["engine_median_us"] / engine["engine_median_us"]
    scaling = http["two_workers_rps"] / http["one_worker_rps"]
    latency = http["latency"]
    overload = results["overload"]
    capped, uncapped = overload["capped"], overload["uncapped"]
    p99_ratio = capped["p99_ms"] / uncapped["p99_ms"]
    return [
        _row(
            "1",
            "POST /v1/evaluate vs bare Litestar POST, 1 worker",
            f"{http['service_rps']:,.0f} vs {http['bare_rps']:,.0f} req/s, {http['errors']} errors"
            f" ({http['client']})",
            ">= 0.85x, no errors",
            f"{throughput:.2f}x",
            throughput >= 0.85 and http["errors"] == 0,
        ),
        _row(
            "2",
            "Engine per evaluation, shipped packs (median)",
            f"{engine['engine_median_us']:.1f} us (plain-Python floor {engine['floor_median_us']:.2f} us)",
            "<= 25 us",
            f"{engine['engine_median_us'] / 25:.2f} of budget",
            engine["engine_median_us"] <= 25,
        ),
        _row(
            "3",
            f"Generated {generated['rules']:,}-rule pack vs shipped (median)",
            f"{generated['engine_median_us']:.1f} vs {engine['engine_median_us']:.1f} us, "
            f"{generated['matched_share']:.1%} of rules match",
            "<= 10x",
            f"{size:.1f}x",
            size <= 10,
        ),
        _row(
            "4",
            f"Resident memory over {memory['evaluations']:,} evaluations",
            f"{memory['growth_mb']:+.2f} MB "
            f"({memory['rss_before'] / 1e6:.1f} -> {memory['rss_after'] / 1e6:.1f} MB)",
            "< 5 MB",
            f"{memory['growth_mb'] / 5:.2f} of budget",
            memory["growth_mb"] < 5,
        ),
        _row(
            "5",
            "Two workers vs one worker",
            f"{http['two_workers_rps']:,.0f} vs {http['one_worker_rps']:,.0f} req/s (all unpinned)",
            ">= 1.6x",
            f"{scaling:.2f}x",
            scaling >= 1.6,
        ),
        _row(
            "6",
            "p99 latency at half the maximum throughput",
            f"{latency['p99_ms']:.2f} ms at {latency['rate']:,.0f} req/s (p50 {latency['p50_ms']:.2f} ms)",
            "< 10 ms",
            f"{latency['p99_ms'] / 10:.2f} of budget",
            latency["p99_ms"] < 10,
        ),
        _row(
            "7",
            f"Overload: {overload['connections']} connections, 1 worker, closed loop (issue 8)",
            f"cap {overload['cap']}: accepted p99 {capped['p99_ms']:.1f} ms (p50 {capped['p50_ms']:.1f}) "
            f"at {capped['accepted_rps']:,.0f} req/s, {capped['shed_share']:.0%} shed (503), "
            f"{capped['errors']} errors; no cap: p99 {uncapped['p99_ms']:.1f} ms "
            f"at {uncapped['accepted_rps']:,.0f} req/s, {uncapped['shed_share']:.0%} shed",
            "p99 below uncapped; only 200 or 503",
            f"{p99_ratio:.2f}x uncapped p99",
            p99_ratio < 1 and capped["errors"] == 0 and uncapped["errors"] == 0,
        ),
        _row(
            "i",
            "Throughput by worker processes, all unpinned (issue 10: sizing)",
            ", ".join(f"{n}: {rps:,.0f}" for n, rps in http["workers_rps"].items())
            + f" req/s on {results['machine']['nproc']} cores",
            "",
            ", ".join(
                f"{n}: {rps / http['workers_rps'][1]:.2f}x" for n, rps in http["workers_rps"].items() if n > 1
            ),
            None,
        ),
        _row(
            "i",
            "Whole evaluation with prompts, shipped packs (median)",
            f"{engine['evaluation_median_us']:.1f} us; "
            f"{generated['rules']:,}-rule pack {generated['evaluation_median_us']:.1f} us",
            "",
            "",
            None,
        ),
        _row(
            "i",
            "Audit line per evaluation (median)",
            f"{audit['audit_median_us']:.1f} us; rendered and chained, before the write, "
            f"{audit['audit_render_median_us']:.1f} us",
            "",
            "",
            None,
        ),
    ]


def render(rows: list[list[str]]) -> str:
    header = ["#", "measure", "figure", "target", "ratio", "result"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


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
    results["seconds"] = time.perf_counter() - started
    rows = table(results)
    results["table"] = rows
    info = results["machine"]
    print()
    print(
        f"Machine: {info['nproc']} cores, {info['cpu']}, {info['memory_gb']} GB, Python {info['python']}; "
        f"{info['date']}; {config.name} run, {results['seconds']:.0f} s"
    )
    print(render(rows))
    # A smoke run never overwrites the figures of the last full run.
    RESULTS.mkdir(parents=True, exist_ok=True)
    output = RESULTS / ("latest.json" if config is FULL else "smoke.json")
    output.write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0
