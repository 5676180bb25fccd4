"""Every quantifier and operator of the condition language, through the engine, against the
plain reading: a pack of generated rules (some, every, no over records; how many records are
recorded; not in; counts with a `no parents:` part) and many generated cases must give exactly
the same prompts, their explanations included."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
import pytest
import yaml

from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.packs.loader import load_pack
from service.testing.reference import ReferenceEvaluator
from service.testing.synthetic import random_facts
from tests.conftest import SEMANTICS_PACK

RULES = 60
CASES = 3_000
RECORD_ATOMS = [
    "care_leaver",
    "not capacity_doubt",
    "childhood_abuse_or_neglect is unknown",
    "role not in [carer]",
    "role in [mother, father]",
    "family_support not in [adequate]",
    "mental_health_history is false",
]
TOP_ATOMS = [
    "child.unborn",
    "not child.child_protection_plan",
    "child.age_months < 12",
    "important_decision_pending is unknown",
    "no parents recorded",
    "some parents recorded",
    "assessment_factors has 4B",
    "factors >= 1",
    "factors >= 2",
]


def _record_condition(rng: random.Random) -> Any:
    if rng.random() < 0.5:
        return rng.choice(RECORD_ATOMS)
    return {rng.choice(["all", "any"]): rng.sample(RECORD_ATOMS, 2)}


def _condition(rng: random.Random) -> Any:
    parts: list[Any] = rng.sample(TOP_ATOMS, rng.randint(1, 2))
    quantifier = rng.choice(["some", "every", "no", None])
    if quantifier:
        parts.append({f"{quantifier} parents": _record_condition(rng)})
    if rng.random() < 0.2:
        parts = [{"not": {"some parents": _record_condition(rng)}}, *parts[:1]]
    return {"all": parts} if len(parts) > 1 else parts[0]


def _pack(folder: Path, seed: int) -> Path:
    rng = random.Random(seed)
    manifest = yaml.safe_load((SEMANTICS_PACK / "pack.yaml").read_text())
    manifest["id"] = "quantifiers-test"
    manifest["counts"]["factors"]["count"] = [
        {"each parents": ["care_leaver", "family_support in [none, limited]", "mental_health_history"]},
        {"all": ["assessment_factors has 4B", {"no parents": "mental_health_history"}]},
        "assessment_factors lacks 3B",
        {"all": ["no parents recorded", "child.unborn"]},
    ]
    rules = [
        {
            "id": f"q{n}",
            "learning_point": 1 + n % 3,
            "kind": "ask",
            "indicator": rng.choice(["info", "warning", "critical"]),
            "summary": f"Rule {n}.",
            "reason": "For: {records}; counted: {counted}.",
            "detail": "Detail.",
            "when": _condition(rng),
        }
        for n in range(RULES)
    ]
    folder.mkdir()
    (folder / "source.txt").write_bytes((SEMANTICS_PACK / "source.txt").read_bytes())
    (folder / "pack.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    (folder / "rules.yaml").write_text(yaml.safe_dump({"rules": rules}, sort_keys=False))
    return folder


@pytest.mark.parametrize("seed", [11, 12])
def test_the_engine_and_the_plain_reading_agree_on_every_construct(tmp_path: Path, seed: int) -> None:
    pack = load_pack(_pack(tmp_path / "quantifiers", seed))
    engine, reference = Evaluator([pack]), ReferenceEvaluator([pack])
    rng = random.Random(seed)
    cases = [{}, {"parents": []}, {"child": {"unborn": True}}, {"child": {"unborn": True}, "parents": []}]
    cases += [random_facts(rng, max_parents=6) for _ in range(CASES)]
    fired = set()
    for case in cases:
        facts = msgspec.convert(case, type=Facts)
        by_engine = msgspec.to_builtins(engine.evaluate(facts))
        assert by_engine == msgspec.to_builtins(reference.evaluate(facts)), case
        fired.update(prompt["id"] for prompt in by_engine)
    assert len(fired) > RULES // 2, "the generated rules should mostly fire on some case"
