"""The table ``make bench`` prints: each target of issues 5, 8 and 13 with its figure and verdict."""

from __future__ import annotations

from typing import Any

# /v1/evaluate against the bare endpoint: issue 13's target, and the goal beyond it.
THROUGHPUT_TARGET = 0.60
THROUGHPUT_GOAL = 0.85


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
            f">= {THROUGHPUT_TARGET:.2f}x (goal {THROUGHPUT_GOAL:.2f}x), no errors",
            f"{throughput:.2f}x",
            throughput >= THROUGHPUT_TARGET and http["errors"] == 0,
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
