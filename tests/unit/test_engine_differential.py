"""The optimised path against the straightforward one, on many generated cases.

The durable_rules path (compiled conditions, the engine's own fact encoding, generated counts,
compiled explanations) must give exactly what the reference gives: the conditions walked in
plain Python over the facts as plain data, and the generic explanation.
"""

from __future__ import annotations

import random
from pathlib import Path

import msgspec
import pytest

from bench.generated_pack import generated_pack
from service.evaluation.evaluator import Evaluator
from service.facts.examples import HARRY_PRE_BIRTH
from service.facts.vocabulary import Facts
from service.packs.loader import load_packs
from service.testing.reference import ReferenceEvaluator, ReferenceMatcher
from service.testing.synthetic import random_facts
from tests.conftest import FIXTURE_PACKS, KNOWLEDGE

CASES = 20_000
LINKS = {"escalation_procedure": "https://example.org/escalation"}


@pytest.fixture(scope="module")
def evaluator() -> Evaluator:
    return Evaluator(load_packs([KNOWLEDGE, FIXTURE_PACKS]), LINKS)


@pytest.fixture(scope="module")
def reference(evaluator: Evaluator) -> ReferenceEvaluator:
    return ReferenceEvaluator(evaluator.packs, LINKS)


def _cases(seed: int, count: int, max_parents: int = 6) -> list[Facts]:
    rng = random.Random(seed)
    edge = [
        {},
        {"parents": []},
        {"parents": [{}] * 6},
        HARRY_PRE_BIRTH,
        {"parents": [HARRY_PRE_BIRTH["parents"][0]] * 6},
    ]
    generated = [random_facts(rng, max_parents=max_parents) for _ in range(count)]
    return [msgspec.convert(facts, type=Facts) for facts in edge + generated]


def _matches_agree(evaluator: Evaluator, reference: ReferenceEvaluator, cases: list[Facts]) -> set[int]:
    matcher = ReferenceMatcher(evaluator.packs)
    disagreements = []
    fired_rules: set[int] = set()
    for facts in cases:
        reference_fact = reference.reference_fact(facts)
        counts = evaluator.engine_counts(facts)
        assert counts == [reference_fact[key] for key in evaluator.matcher.count_keys]
        by_engine = sorted(evaluator.matcher.match(facts, counts))
        by_reference = sorted(matcher.match(reference_fact))
        fired_rules.update(by_engine)
        if by_engine != by_reference:
            disagreements.append((msgspec.to_builtins(facts), by_engine, by_reference))
    assert disagreements[:3] == []
    return fired_rules


def test_durable_rules_and_the_reference_agree_on_generated_cases(
    evaluator: Evaluator, reference: ReferenceEvaluator
) -> None:
    fired_rules = _matches_agree(evaluator, reference, _cases(14_2019, CASES))
    # The comparison means something only if the generated cases make every rule fire.
    assert fired_rules == set(range(len(evaluator.rules)))


def test_prompts_are_those_of_the_reference_evaluation(
    evaluator: Evaluator, reference: ReferenceEvaluator
) -> None:
    mismatches = []
    shown = 0
    for facts in _cases(2019_06, 10_000):
        prompts = evaluator.evaluate(facts)
        shown += len(prompts)
        if prompts != reference.evaluate(facts):
            mismatches.append(msgspec.to_builtins(facts))
    assert mismatches[:3] == []
    assert shown > 10_000


def test_a_generated_pack_of_many_rule_shapes_agrees(tmp_path: Path) -> None:
    """Rules in shapes the shipped packs do not use yet: `in`, comparisons, `has`, `is known`,
    `not` of terms, counts over records and codes, `some` with `any` and `all`."""
    packs = [generated_pack(tmp_path / "generated", rules=150, seed=7)]
    evaluator = Evaluator(packs)
    reference = ReferenceEvaluator(packs)
    cases = _cases(77, 4_000, max_parents=6)
    fired_rules = _matches_agree(evaluator, reference, cases)
    assert len(fired_rules) > 140
    for facts in cases[:1_500]:
        assert evaluator.evaluate(facts) == reference.evaluate(facts)


def test_the_same_case_twice_gives_the_same_prompts(evaluator: Evaluator) -> None:
    rng = random.Random(7)
    for _ in range(500):
        facts = msgspec.convert(random_facts(rng), type=Facts)
        assert evaluator.evaluate(facts) == evaluator.evaluate(facts)
