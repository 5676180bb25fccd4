"""How conditions are put to durable_rules: engine limits kept, whatever the knowledge size."""

from __future__ import annotations

import random
from pathlib import Path

import msgspec

from bench.generated_pack import generated_pack
from service.engine.alternatives import MAX_TESTS, fnv1a_32
from service.engine.compiler import compile_packs
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
