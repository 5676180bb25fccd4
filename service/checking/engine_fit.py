"""Whether the engine can take every rule of a pack (its limits: tests per alternative,
alternatives per rule, the evaluation stack), each rule tried on its own so a refusal names it."""

from __future__ import annotations

import dataclasses

from service.conditions.tree import ConditionError
from service.engine.compiler import compile_packs
from service.packs.loader import PackProblem
from service.packs.model import Pack


def engine_refusals(pack: Pack) -> list[PackProblem]:
    """A problem, at the rule's place in ``rules.yaml``, for every rule the engine cannot take."""
    try:
        compile_packs([pack])
        return []  # the whole pack fits, so each rule fits on its own (it makes a smaller network)
    except ConditionError:
        pass
    problems = []
    for rule in pack.rules:
        try:
            compile_packs([dataclasses.replace(pack, rules=(rule,))])
        except ConditionError as error:
            place = rule.place
            file = place.file if place else pack.directory
            problems.append(PackProblem(file, f"when: {error}", place.line if place else None, rule.local_id))
    return problems
