"""Synthetic fact sets for tests and benchmarks: varied, realistic in shape, reproducible.
The service never imports this package.

Every fact is sometimes known, sometimes left out and sometimes sent as null, so "not known"
is exercised as much as yes and no. Nothing here describes a real family.
"""

from __future__ import annotations

import random
from typing import Any, get_args

from service.facts.cin_codes import CIN_CODES
from service.facts.examples import HARRY_PRE_BIRTH
from service.facts.paths import vocabulary
from service.facts.vocabulary import FamilySupport, Role

_CODES = sorted(CIN_CODES - {"21"})


def _value(rng: random.Random, kind: str, values: tuple[str, ...]) -> Any:
    if kind == "bool":
        return rng.random() < 0.5
    if kind == "enum":
        return rng.choice(values)
    raise AssertionError(kind)


def _maybe(rng: random.Random, known: float = 0.55) -> str:
    roll = rng.random()
    return "known" if roll < known else ("null" if roll < known + 0.1 else "absent")


def random_facts(rng: random.Random, *, max_parents: int = 4) -> dict[str, Any]:
    """One fact set, as the JSON a case-recording system would send."""
    if rng.random() < 0.05:
        return {**HARRY_PRE_BIRTH}
    vocab = vocabulary()
    facts: dict[str, Any] = {}
    for path, field in vocab.fields.items():
        state = _maybe(rng)
        if state == "absent":
            continue
        group, _, leaf = path.partition(".")
        if field.kind == "codes":
            value: Any = ["21"] if rng.random() < 0.2 else rng.sample(_CODES, rng.randint(1, 3))
        elif field.kind == "int":
            value = rng.randint(0, 24) if rng.random() < 0.8 else rng.randint(25, 216)
        else:
            value = _value(rng, field.kind, field.values)
        if state == "null":
            value = None
        if leaf:
            facts.setdefault(group, {})[leaf] = value
        else:
            facts[group] = value
    child = facts.get("child")
    if child and child.get("unborn") is True and child.get("age_months") is not None:
        del child["age_months"]  # contradictory: an unborn child has no age
    if rng.random() < 0.85:
        parents = []
        roles = list(get_args(Role))
        for _ in range(rng.randint(1, max_parents) if rng.random() < 0.9 else 0):
            parent: dict[str, Any] = {}
            for name, field in vocab.record_lists["parents"].item_fields.items():
                state = _maybe(rng, 0.5)
                if state == "absent":
                    continue
                if name == "role":
                    value = rng.choice(roles)
                elif name == "family_support":
                    value = rng.choice(list(get_args(FamilySupport)))
                else:
                    value = _value(rng, field.kind, field.values)
                parent[name] = None if state == "null" else value
            parents.append(parent)
        facts["parents"] = parents
    return facts
