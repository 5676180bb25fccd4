"""How conditions are put to durable_rules: engine limits kept, whatever the knowledge size."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import msgspec

from bench.generated_pack import generated_pack
from service.engine.alternatives import MAX_TESTS, fnv1a_32
from service.engine.compiler import compile_packs
from service.engine.disjoint import exclusive
from service.engine.rulesets import STACK_LIMIT, _Trie
from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.testing.reference import ReferenceEvaluator, ReferenceMatcher
from service.testing.synthetic import random_facts


def test_keys_are_hashed_as_the_engine_hashes_them() -> None:
    # FNV-1a, 32 bits, as durable_rules' getStringAndHash computes it.
    assert fnv1a_32("") == 0x811C9DC5
    assert fnv1a_32("a") == 0xE40C292C
    assert fnv1a_32("foobar") == 0xBF9CF968


def test_a_thousand_rules_fit_the_engine_and_agree_with_the_reference(tmp_path: Path) -> None:
    pack = generated_pack(tmp_path / "generated", rules=1_000)
    compiled = compile_packs([pack])
    for shard in compiled.shards:
        trie = _Trie(compiled.info)
        for _, _, tests in shard.alternatives:
            assert len(tests) <= MAX_TESTS
            trie.add(tests)
        assert trie.stack_bound() <= STACK_LIMIT
    evaluator = Evaluator([pack])
    reference = ReferenceEvaluator([pack])
    matcher = ReferenceMatcher([pack])
    rng = random.Random(1000)
    for _ in range(1_500):
        facts = msgspec.convert(random_facts(rng, max_parents=6), type=Facts)
        by_engine = sorted(evaluator.matcher.match(facts, evaluator.engine_counts(facts)))
        assert by_engine == sorted(matcher.match(reference.reference_fact(facts)))


def test_exclusive_alternatives_keep_the_union_and_overlap_only_where_the_engine_cannot_test() -> None:
    # Keys "a", "b" written for every case; "l0p0f1", "l0p0f2" of one record; "f3_1B" a code key.
    domains = {"a": (-1, 0, 1), "b": (-1, 0, 1), "l0p0f1": (-1, 0, 1), "l0p0f2": (-1, 0, 1), "f3_1B": (1,)}
    always = {"a": True, "b": True, "l0p0f1": False, "l0p0f2": False, "f3_1B": False}
    rng = random.Random(13)
    keys = list(domains)
    for _ in range(300):
        alternatives = []
        for _ in range(rng.randint(1, 4)):
            chosen = rng.sample(keys, rng.randint(1, 3))
            alternatives.append(
                {k: frozenset(rng.sample(domains[k], rng.randint(1, len(domains[k])))) for k in chosen}
            )
        result = exclusive(alternatives, lambda k: frozenset(domains[k]), always.__getitem__)
        # Every assignment (a record key or code key may also be absent: None).
        values = [(*domains[k], None) if not always[k] else domains[k] for k in keys]
        for assignment in itertools.product(*values):
            fact = dict(zip(keys, assignment, strict=True))
            if fact["l0p0f1"] is None and fact["l0p0f2"] is not None:
                continue  # a record's keys are written together
            if fact["l0p0f2"] is None and fact["l0p0f1"] is not None:
                continue

            def holds(alternative: dict[str, frozenset[int]], fact: dict[str, int | None] = fact) -> bool:
                return all(fact[k] is not None and fact[k] in allowed for k, allowed in alternative.items())

            assert any(map(holds, alternatives)) == any(map(holds, result))
            if not any(k == "f3_1B" for alternative in alternatives for k in alternative):
                record_free = all(not k.startswith("l") for alternative in alternatives for k in alternative)
                if record_free:
                    assert sum(map(holds, result)) <= 1, (alternatives, result, fact)
