"""The same rules evaluated as plain Python: the oracle for differential tests and the
floor in the benchmark. Requests are always answered by durable_rules, never by this."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from service.engine.durable_matcher import count_key
from service.packs.conditions import holds
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
