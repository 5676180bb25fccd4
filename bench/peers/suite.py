"""Agreement first, then time: every engine on the same random cases.

Each engine is asked every case, and its rule ids must be ours (the durable_rules match) on
every one; a disagreement stops the run and names the engine, the case and both answers. Only
then is each engine timed in-process, in rounds: every round passes over all the cases, the
engines taking turns every hundred cases (the order rotating) so that other work on a shared
machine falls on all of them alike. The figure is microseconds of CPU time per case (a round's
over its cases), median over the rounds, with the quickest and slowest round.
"""

from __future__ import annotations

import gc
import json
import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bench.peers.engines import NOT_RUN, PEERS, Case, Engine, ours
from service.packs.model import Pack
from service.testing.synthetic import random_facts


class Disagreement(AssertionError):
    pass


@dataclass(frozen=True)
class Row:
    engine: str
    returns: str
    agreed: int
    cases: int
    median_us: float | None
    low_us: float | None
    high_us: float | None


def cases(count: int, seed: int = 2019) -> list[Case]:
    rng = random.Random(seed)
    return [random_facts(rng) for _ in range(count)]


def engines(packs: Sequence[Pack], missing: list[str] | None = None) -> list[Engine]:
    """Ours, then every peer whose package is installed (the others named in ``missing``)."""
    found = ours(packs)
    for peer in PEERS:
        if peer.installed:
            found += peer.load(packs)
        elif missing is not None:
            missing.append(peer.distribution)
    return found


def check_agreement(all_engines: Sequence[Engine], facts: Sequence[Case]) -> dict[str, int]:
    """How many cases each engine agreed with ours on: all of them, or ``Disagreement``."""
    reference = all_engines[0]
    expected = [reference.fired(reference.prepare(case)) for case in facts]
    agreed = {}
    for engine in all_engines:
        for case, want in zip(facts, expected, strict=True):
            got = engine.fired(engine.prepare(case))
            if got != want:
                raise Disagreement(
                    f"{engine.name} disagrees with {reference.name} on the case\n"
                    f"{json.dumps(case, sort_keys=True)}\n"
                    f"  {reference.name}: {sorted(want)}\n  {engine.name}: {sorted(got)}\n"
                    f"  only ours: {sorted(want - got)}; only {engine.name}: {sorted(got - want)}"
                )
        agreed[engine.name] = len(facts)
    return agreed


def _spent(engine: Engine, prepared: list[Any]) -> float:
    """Seconds of CPU time of the process (every thread an engine may use), not the wall clock:
    time the process spends waiting for a core that other work holds is not the engine's."""
    fired = engine.fired
    started = time.process_time()
    for item in prepared:
        fired(item)
    return time.process_time() - started


def time_engines(
    all_engines: Sequence[Engine], facts: Sequence[Case], rounds: int, chunk: int = 100
) -> dict[str, list[float]]:
    """Microseconds per case, one figure per round. Within a round the engines take turns
    every ``chunk`` cases (the order rotating), so that a busy spell of other work on the
    machine falls on all of them alike rather than on whichever was running."""
    prepared = {engine.name: [engine.prepare(case) for case in facts] for engine in all_engines}
    for engine in all_engines:  # warm-up
        _spent(engine, prepared[engine.name][:chunk])
    timings: dict[str, list[float]] = {engine.name: [] for engine in all_engines}
    gc.disable()
    try:
        for _ in range(rounds):
            spent = dict.fromkeys(timings, 0.0)
            for turn, start in enumerate(range(0, len(facts), chunk)):
                shift = turn % len(all_engines)
                for engine in [*all_engines[shift:], *all_engines[:shift]]:
                    spent[engine.name] += _spent(engine, prepared[engine.name][start : start + chunk])
            for name, seconds in spent.items():
                timings[name].append(seconds / len(facts) * 1e6)
    finally:
        gc.enable()
    return timings


def run(
    packs: Sequence[Pack], count: int, rounds: int, seed: int = 2019, timed: int | None = None
) -> dict[str, Any]:
    """Agreement on ``count`` cases, then ``rounds`` timed rounds (none: agreement only) over the
    first ``timed`` of them (all by default; the slowest peer takes milliseconds a case)."""
    missing: list[str] = []
    all_engines = engines(packs, missing)
    facts = cases(count, seed)
    agreed = check_agreement(all_engines, facts)
    timed_facts = facts[:timed] if timed else facts
    timings = time_engines(all_engines, timed_facts, rounds) if rounds else {}
    rows = []
    for engine in all_engines:
        figures = timings.get(engine.name)
        rows.append(
            Row(
                engine=engine.name,
                returns=engine.returns,
                agreed=agreed[engine.name],
                cases=len(facts),
                median_us=statistics.median(figures) if figures else None,
                low_us=min(figures) if figures else None,
                high_us=max(figures) if figures else None,
            )
        )
    return {
        "cases": len(facts),
        "timed_cases": len(timed_facts),
        "rounds": rounds,
        "rows": [row.__dict__ for row in rows],
        "timings": timings,
        "missing": missing,
        "not_run": NOT_RUN,
    }


def render(result: dict[str, Any]) -> str:
    header = ["engine", "returns", "agrees with ours", "us per case, median (min-max)"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in result["rows"]:
        timing = (
            f"{row['median_us']:.1f} ({row['low_us']:.1f}-{row['high_us']:.1f})"
            if row["median_us"] is not None
            else "not timed"
        )
        agreement = f"{row['agreed']:,}/{row['cases']:,}"
        lines.append(f"| {row['engine']} | {row['returns']} | {agreement} | {timing} |")
    for name in result["missing"]:
        lines.append(f"| {name} | - | not installed (pip install .[bench]) | - |")
    for name, why in result["not_run"].items():
        lines.append(f"| {name} | - | not run: {why} | - |")
    return "\n".join(lines)
