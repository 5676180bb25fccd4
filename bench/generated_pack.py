"""A generated knowledge pack of many rules over the shipped vocabulary, for the size benchmark.

The pack is written as YAML data into a folder and read back by the normal loader, so it goes
through exactly the path a real pack does. Rules are drawn at random (fixed seed) in the shapes
the shipped pack uses: conjunctions of facts, negations that keep "not known" apart from "no",
``some parents`` with one or more conditions, shared terms and a derived count. Each candidate
rule is kept only when it matches a small share of a sample of generated cases, so that about
1% of the rules match a typical case, as the issue asks.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import msgspec
import yaml

from service.conditions.parse import parse
from service.conditions.python import counts_function
from service.conditions.tree import Condition
from service.facts.cin_codes import CIN_CODES
from service.facts.paths import vocabulary
from service.facts.vocabulary import Facts
from service.packs.loader import load_pack
from service.packs.model import Pack
from service.testing.reference import rules_function
from service.testing.synthetic import random_facts

PACK_ID = "generated-size-bench"
LEARNING_POINTS = 10
_QUOTE = "Professionals should consider what the recorded facts of case {n} call for and act on it."
# Share of sample cases a kept rule may match: the mean over the kept rules comes out near 1%.
_KEEP = (0.0015, 0.025)
_SAMPLE_CASES = 2_000


def _top_fields() -> tuple[list[str], list[str], list[str]]:
    fields = vocabulary().fields
    bools = [p for p, f in fields.items() if f.kind == "bool"]
    ints = [p for p, f in fields.items() if f.kind == "int"]
    codes = [p for p, f in fields.items() if f.kind == "codes"]
    return bools, ints, codes


def _bool_atom(rng: random.Random, path: str) -> str:
    form = rng.choices(
        ["{p}", "not {p}", "{p} is false", "{p} is unknown", "{p} is known", "{p} is not false"],
        weights=[5, 3, 2, 1, 1, 1],
    )[0]
    return form.format(p=path)


def _top_atom(rng: random.Random) -> str:
    bools, ints, codes = _top_fields()
    roll = rng.random()
    if roll < 0.8:
        return _bool_atom(rng, rng.choice(bools))
    if roll < 0.9:
        path = rng.choice(ints)
        return f"{path} {rng.choice(['<', '>=', '<=', '>'])} {rng.choice([3, 6, 12, 24, 60])}"
    return f"{rng.choice(codes)} has {rng.choice(sorted(CIN_CODES - {'21'}))}"


def _record_atom(rng: random.Random) -> str:
    items = vocabulary().record_lists["parents"].item_fields
    name = rng.choice(list(items))
    field = items[name]
    if field.kind == "enum":
        if rng.random() < 0.2:
            return f"{name} is unknown"
        values = rng.sample(list(field.values), rng.randint(1, 2))
        return f"{name} in [{', '.join(values)}]"
    return _bool_atom(rng, name)


def _candidate(rng: random.Random) -> Any:
    shape = rng.random()
    if shape < 0.4:
        return {"all": [_top_atom(rng) for _ in range(rng.randint(2, 4))]}
    if shape < 0.7:
        inner_roll = rng.random()
        if inner_roll < 0.5:
            inner: Any = _record_atom(rng)
        elif inner_roll < 0.8:
            inner = {"all": [_record_atom(rng) for _ in range(2)]}
        else:
            inner = {"any": [_record_atom(rng) for _ in range(2)]}
        return {"all": [*(_top_atom(rng) for _ in range(rng.randint(1, 2))), {"some parents": inner}]}
    if shape < 0.85:
        return {"all": [rng.choice(["active_case", "not active_case"]), _top_atom(rng), _top_atom(rng)]}
    return {"all": [f"risk_indicators >= {rng.randint(1, 5)}", *(_top_atom(rng) for _ in range(2))]}


_PACK: dict[str, Any] = {
    "id": PACK_ID,
    "title": "Generated rules for the size benchmark",
    "version": "0.0.1",
    "source": {
        "title": "Generated learning points (benchmark only)",
        "issued_by": "The guidance service benchmark",
        "published": "2024-01",
        "file": "source.txt",
        "label": "Generated (benchmark only)",
    },
    "learning_points": [{"number": n, "quote": _QUOTE.format(n=n)} for n in range(1, LEARNING_POINTS + 1)],
    "terms": {
        "active_case": {
            "any": ["child.unborn", "child.child_protection_plan", "cause_for_concern.completing_form"]
        }
    },
    "counts": {
        "risk_indicators": {
            "description": "Known risk indicators across the parents.",
            "count": [
                {
                    "each parents": [
                        "care_leaver",
                        "childhood_abuse_or_neglect",
                        "mental_health_history",
                        "family_support in [none, limited]",
                    ]
                },
                "assessment_factors has 1B",
                "assessment_factors has 3B",
            ],
        }
    },
}


def _match_rate(when: Any, samples: list[tuple[Facts, list[int]]], terms: dict[str, Condition]) -> float:
    condition = parse(when, terms, set(vocabulary().record_lists))
    holds = rules_function([condition], [{"risk_indicators": 0}])
    return sum(1 for facts, counts in samples if holds(facts, counts)) / len(samples)


def write_pack(directory: Path, rules: int = 1_000, seed: int = 2019) -> Path:
    """Write the pack's files into ``directory`` (created) and return it."""
    rng = random.Random(seed)
    sample_rng = random.Random(seed + 1)
    records = set(vocabulary().record_lists)
    terms = {"active_case": parse(_PACK["terms"]["active_case"], {}, records)}
    risk = _PACK["counts"]["risk_indicators"]["count"]
    count_parts = []
    for entry in risk:
        if isinstance(entry, dict):
            ((key, body),) = entry.items()
            count_parts += [(key[5:], parse(item, {}, records, in_list=True)) for item in body]
        else:
            count_parts.append((None, parse(entry, {}, records)))
    count = counts_function([tuple(count_parts)])
    samples = []
    for _ in range(_SAMPLE_CASES):
        facts = msgspec.convert(random_facts(sample_rng, max_parents=4), type=Facts)
        samples.append((facts, count(facts)))
    kept: list[dict[str, Any]] = []
    while len(kept) < rules:
        when = _candidate(rng)
        rate = _match_rate(when, samples, terms)
        if not _KEEP[0] <= rate <= _KEEP[1]:
            continue
        number = len(kept) + 1
        kept.append(
            {
                "id": f"rule-{number:04d}",
                "learning_point": number % LEARNING_POINTS + 1,
                "kind": rng.choice(["ask", "check", "consider", "escalate", "inform"]),
                "indicator": rng.choice(["info", "warning", "critical"]),
                "summary": f"Generated prompt {number}: consider what these facts of the case call for.",
                "reason": f"Generated rule {number} matched the facts listed: {{records}}.",
                "detail": "Generated for the size benchmark; {records}.",
                "when": when,
            }
        )
    directory.mkdir(parents=True, exist_ok=True)
    source = "Generated learning points, for the benchmark only.\n\n" + "\n".join(
        f"{n}. {_QUOTE.format(n=n)}" for n in range(1, LEARNING_POINTS + 1)
    )
    (directory / "source.txt").write_text(source + "\n", encoding="utf-8")
    (directory / "pack.yaml").write_text(yaml.safe_dump(_PACK, sort_keys=False), encoding="utf-8")
    (directory / "rules.yaml").write_text(yaml.safe_dump({"rules": kept}, sort_keys=False), encoding="utf-8")
    return directory


def generated_pack(directory: Path, rules: int = 1_000, seed: int = 2019) -> Pack:
    """The generated pack, loaded by the normal loader from YAML written into ``directory``."""
    return load_pack(write_pack(directory, rules, seed))
