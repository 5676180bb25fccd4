"""In-process measurements: engine cost per evaluation, its plain-Python floor, the cost of a
large generated pack, the audit line, and resident memory over many evaluations."""

from __future__ import annotations

import gc
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from bench.generated_pack import generated_pack
from service.audit.sinks import file_sink
from service.audit.trail import AuditTrail
from service.conditions.python import counts_function
from service.engine.compiler import count_key
from service.evaluation.evaluator import Evaluator
from service.facts.examples import HARRY_PRE_BIRTH
from service.facts.vocabulary import Facts
from service.packs.loader import load_packs
from service.packs.model import Pack
from service.settings import DEFAULT_KNOWLEDGE_DIR, Settings
from service.testing.reference import rules_function
from service.testing.synthetic import random_facts


def request_bodies(count: int, seed: int = 2019) -> list[dict[str, Any]]:
    """The body mix: fixed-seed realistic fact sets, Harry's first, each with a case reference."""
    rng = random.Random(seed)
    facts = [HARRY_PRE_BIRTH] + [random_facts(rng) for _ in range(count - 1)]
    return [{"facts": f, "case_ref": f"CASE-{i:05d}"} for i, f in enumerate(facts)]


def shipped_packs() -> list[Pack]:
    return load_packs([DEFAULT_KNOWLEDGE_DIR])


def _per_call(function: Callable[[Any], Any], items: Sequence[Any], rounds: int) -> list[list[float]]:
    """Seconds per call, each call timed on its own: one list per pass over ``items`` (after a
    warm-up pass)."""
    for item in items:
        function(item)
    passes: list[list[float]] = []
    clock = time.perf_counter
    gc.disable()
    try:
        for _ in range(rounds):
            timings = []
            for item in items:
                started = clock()
                function(item)
                timings.append(clock() - started)
            passes.append(timings)
    finally:
        gc.enable()
    return passes


# Other work on a shared machine can only add time, so each figure is that of the quietest
# pass: the median (or mean) per evaluation of the pass where it is lowest.
def _median_us(passes: list[list[float]]) -> float:
    return min(statistics.median(timings) for timings in passes) * 1e6


def _mean_us(passes: list[list[float]]) -> float:
    return min(statistics.fmean(timings) for timings in passes) * 1e6


def floor_function(packs: Sequence[Pack]) -> Callable[[Facts], list[int]]:
    """The same conditions as plain Python: counts, then every rule's condition, generated."""
    counts = [(count_key(i, c.name), c) for i, pack in enumerate(packs) for c in pack.counts]
    count_values = counts_function([c.parts for _, c in counts])
    positions = {key: n for n, (key, _) in enumerate(counts)}
    conditions, derived = [], []
    for pack_index, pack in enumerate(packs):
        names = {c.name: positions[count_key(pack_index, c.name)] for c in pack.counts}
        for rule in pack.rules:
            conditions.append(rule.condition)
            derived.append(names)
    rules = rules_function(conditions, derived)
    return lambda facts: rules(facts, count_values(facts))


def engine_figures(packs: Sequence[Pack], facts: list[Facts], rounds: int) -> dict[str, float]:
    """Microseconds per evaluation: the engine path (counts, encoding, durable_rules), the whole
    evaluation with prompts, and the plain-Python floor over the same conditions."""
    evaluator = Evaluator(packs)
    matcher, counts = evaluator.matcher, evaluator.engine_counts
    engine = _per_call(lambda f: matcher.match(f, counts(f)), facts, rounds)
    whole = _per_call(evaluator.evaluate, facts, rounds)
    floor = _per_call(floor_function(packs), facts, rounds)
    fired = statistics.fmean(len(matcher.match(f, counts(f))) for f in facts)
    return {
        "engine_median_us": _median_us(engine),
        "engine_mean_us": _mean_us(engine),
        "evaluation_median_us": _median_us(whole),
        "evaluation_mean_us": _mean_us(whole),
        "floor_median_us": _median_us(floor),
        "rules": len(evaluator.rules),
        "rulesets": len(matcher.compiled.shards),
        "durable_rules": sum(len(shard.alternatives) for shard in matcher.compiled.shards),
        "rules_matched_mean": fired,
    }


def generated_figures(rules: int, facts: list[Facts], rounds: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        pack = generated_pack(Path(folder) / "generated", rules=rules)
        generated_seconds = time.perf_counter() - started
    figures = engine_figures([pack], facts, rounds)
    figures["generation_seconds"] = generated_seconds
    figures["matched_share"] = figures["rules_matched_mean"] / rules
    return figures


class _Discard:
    """A sink that writes nothing: what is left is the record rendered and chained."""

    def write(self, line: bytes) -> None:
        pass


def audit_figures(packs: Sequence[Pack], facts: list[Facts], rounds: int) -> dict[str, float]:
    """Microseconds per audit line (``AuditTrail.evaluation`` into an append-only file, with the
    service's default free-space floor), with the prompts the cases really get; and the same
    without the write (everything before the sink: the record built, stamped, encoded,
    hashed and handed through structlog)."""
    evaluator = Evaluator(packs)
    prompts = [evaluator.evaluate(f) for f in facts]
    numbered = list(enumerate(prompts))

    def recording(trail: AuditTrail) -> Callable[[tuple[int, Any]], None]:
        def record(item: tuple[int, Any]) -> None:
            index, case_prompts = item
            trail.evaluation(
                evaluation_id="00000000-0000-4000-8000-000000000000",
                request_id="0" * 32,
                client="anonymous",
                case_ref=f"CASE-{index:05d}",
                prompts=case_prompts,
                duration_ms=0.05,
            )

        return record

    with tempfile.TemporaryDirectory() as folder:
        trail = AuditTrail(
            file_sink(Path(folder) / "audit.log", Settings().audit_min_free), b"bench-key", packs
        )
        trail.start()
        timings = _per_call(recording(trail), numbered, rounds)
    rendering = _per_call(recording(AuditTrail(_Discard(), b"bench-key", packs)), numbered, rounds)
    return {
        "audit_median_us": _median_us(timings),
        "audit_mean_us": _mean_us(timings),
        "audit_render_median_us": _median_us(rendering),
    }


def as_facts(bodies: list[dict[str, Any]]) -> list[Facts]:
    return [msgspec.convert(body["facts"], type=Facts) for body in bodies]
