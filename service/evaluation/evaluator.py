"""From facts to prompts: counts derived, rules matched by the engine, each prompt explained.

This is the one evaluation path: the HTTP API, the CLI and the scenario runner all use it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from service.engine.durable_matcher import DurableMatcher, count_key
from service.evaluation.explanations import render_records
from service.evaluation.prompts import Because, Link, Prompt, Source
from service.facts.vocabulary import Facts
from service.packs.conditions import Witness, explain, explain_in_record
from service.packs.model import Count, Pack, Rule


class Evaluator:
    def __init__(self, packs: Sequence[Pack], link_settings: Mapping[str, str] | None = None) -> None:
        self.packs: tuple[Pack, ...] = tuple(packs)
        self.matcher = DurableMatcher(self.packs)
        self.rules: tuple[Rule, ...] = self.matcher.rules
        self.rules_by_id: dict[str, Rule] = {rule.id: rule for rule in self.rules}
        settings = dict(link_settings or {})
        self._counts: list[tuple[str, Count]] = []
        self._count_names: list[dict[str, str]] = []
        self._sources: list[Source] = []
        self._links: list[list[Link] | None] = []
        for pack_index, pack in enumerate(self.packs):
            keys = {count_key(pack_index, c.name): c.name for c in pack.counts}
            self._counts.extend((count_key(pack_index, c.name), c) for c in pack.counts)
            for rule in pack.rules:
                self._count_names.append(keys)
                self._sources.append(
                    Source(
                        label=pack.spec.source.label,
                        briefing=pack.spec.source.title,
                        learning_point=rule.learning_point,
                        quote=rule.quote,
                    )
                )
                links = [
                    Link(label=link.label, url=link.url or settings[link.setting])
                    for link in rule.links
                    if link.url or (link.setting and settings.get(link.setting))
                ]
                self._links.append(links or None)

    def evaluate(self, facts: Facts) -> list[Prompt]:
        """Prompts for the case, most prominent first, then by learning point, then by id."""
        known: dict[str, Any] = msgspec.to_builtins(facts)
        counted = self._derive_counts(known)
        fired = self.matcher.match(self._with_counts(known, counted))
        prompts = [self._prompt(index, known, counted) for index in fired]
        prompts.sort(key=lambda p: self.rules_by_id[p.id].order)
        return prompts

    def engine_fact(self, facts: Facts) -> dict[str, Any]:
        """What the matchers see: the known facts (no nulls) and the packs' counts."""
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
        records = render_records(because, known)
        return Prompt(
            id=rule.id,
            learning_point=rule.learning_point,
            kind=rule.kind,  # type: ignore[arg-type]
            indicator=rule.indicator,  # type: ignore[arg-type]
            summary=rule.summary,
            detail=rule.detail.replace("{records}", records),
            source=self._sources[index],
            because=[Because(path=path, value=value) for path, value in because],
            reason=rule.reason.replace("{records}", records),
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
