"""The same evaluation written straightforwardly: the oracle the optimised path is held to.

:class:`ReferenceMatcher` walks every rule's condition in plain Python over the facts as plain
data (:func:`service.conditions.reference.holds`); :class:`ReferenceEvaluator` adds every count
with its witnesses and the generic explanation walk; :func:`rules_function` is the same
conditions as generated Python, the benchmark's floor. Requests are never answered by these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import msgspec

from service.conditions.python import Expressions, Source
from service.conditions.reference import Witness, explain, explain_in_record, holds
from service.conditions.tree import Condition
from service.engine.alternatives import count_key
from service.evaluation.evaluator import PackTexts
from service.evaluation.explanations import (
    COUNTED,
    NONE_NAMED,
    RECORDS,
    found_of,
    plain_labels,
    render_counted,
    render_records,
)
from service.evaluation.prompts import Because, Prompt
from service.facts.vocabulary import Facts
from service.packs.model import Pack, Rule


class ReferenceMatcher:
    def __init__(self, packs: Sequence[Pack]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rule for pack in packs for rule in pack.rules)
        self._count_names: list[dict[str, str]] = []
        for pack_index, pack in enumerate(packs):
            names = {count_key(pack_index, c.name): c.name for c in pack.counts}
            self._count_names.extend(names for _ in pack.rules)

    def match(self, fact: dict[str, Any]) -> list[int]:
        fired = []
        for index, rule in enumerate(self.rules):
            derived = {name: fact[key] for key, name in self._count_names[index].items() if key in fact}
            if holds(rule.condition, fact, derived):
                fired.append(index)
        return fired


class ReferenceEvaluator(PackTexts):
    """The same evaluation, straightforwardly: the facts as plain data, every count with its
    witnesses, every rule's condition walked in Python, the generic explanation. The oracle
    for differential tests; requests are never answered by it."""

    def __init__(self, packs: Sequence[Pack], link_settings: Mapping[str, str] | None = None) -> None:
        super().__init__(packs, link_settings)
        self.matcher = ReferenceMatcher(self.packs)

    def evaluate(self, facts: Facts) -> list[Prompt]:
        known: dict[str, Any] = msgspec.to_builtins(facts)
        counted = self._derive_counts(known)
        fired = self.matcher.match(self._with_counts(known, counted))
        prompts = [self._prompt(index, known, counted) for index in fired]
        prompts.sort(key=lambda p: self.rules_by_id[p.id].order)
        return prompts

    def reference_fact(self, facts: Facts) -> dict[str, Any]:
        """What the reference matcher reads: the known facts (no nulls) and the packs' counts."""
        known: dict[str, Any] = msgspec.to_builtins(facts)
        return self._with_counts(known, self._derive_counts(known))

    @staticmethod
    def _with_counts(known: dict[str, Any], counted: dict[str, tuple[int, list[Witness]]]) -> dict[str, Any]:
        return {**known, **{key: value for key, (value, _) in counted.items()}}

    def _derive_counts(self, known: dict[str, Any]) -> dict[str, tuple[int, list[Witness]]]:
        counted: dict[str, tuple[int, list[Witness]]] = {}
        for key, count in self._counts:
            witnesses: list[Witness] = []
            total = 0
            for list_path, condition in count.parts:
                if list_path is None:
                    found = explain(condition, known, {})
                    if found is not None:
                        total += 1
                        witnesses.extend(found)
                    continue
                for index, record in enumerate(known.get(list_path) or ()):
                    found = explain_in_record(condition, record, f"{list_path}[{index}].")
                    if found is not None:
                        total += 1
                        witnesses.extend(found)
            counted[key] = (total, witnesses)
        return counted

    def _prompt(
        self, index: int, known: dict[str, Any], counted: dict[str, tuple[int, list[Witness]]]
    ) -> Prompt:
        rule = self.rules[index]
        names = self._count_names[index]
        derived = {name: counted[key][0] for key, name in names.items()}
        explanations = {name: counted[key][1] for key, name in names.items()}
        witnesses = explain(rule.condition, known, derived, explanations) or []
        because = _unique(witnesses)
        records = render_records(because, known, rule.no_records or NONE_NAMED)
        keys, codes = self._counted[index]
        found = found_of([witness for key in keys for witness in counted[key][1]])
        counted_text = render_counted(found, plain_labels(known), codes)
        detail = rule.detail.replace(RECORDS, records).replace(COUNTED, counted_text)
        return Prompt(
            id=rule.id,
            learning_point=rule.learning_point,
            kind=rule.kind,
            indicator=rule.indicator,
            summary=rule.summary,
            detail=detail,
            source=self._sources[index],
            because=[Because(path=path, value=value) for path, value in because],
            reason=rule.reason.replace(RECORDS, records).replace(COUNTED, counted_text),
            links=self._links[index],
        )


def _unique(witnesses: list[Witness]) -> list[Witness]:
    seen: set[str] = set()
    unique: list[Witness] = []
    for path, value in witnesses:
        if path not in seen:
            seen.add(path)
            unique.append((path, value))
    return unique


def rules_function(
    conditions: Sequence[Condition], derived: Sequence[dict[str, int]]
) -> Callable[[Any, Sequence[int]], list[int]]:
    """``f(facts, counts) -> [index of each condition that holds]``, as generated Python.

    ``derived[i]`` maps the count names condition ``i`` may use to positions in ``counts``.
    """
    source = Source("rules")
    source.lines = ["def rules(f, c):", "    fired = []"]
    for index, (condition, names) in enumerate(zip(conditions, derived, strict=True)):
        writer = Expressions(source, {name: f"c[{position}]" for name, position in names.items()})
        source.lines.append(f"    if {writer.condition(condition)}:")
        source.lines.append(f"        fired.append({index})")
    source.lines.append("    return fired")
    return source.compile("rules")
