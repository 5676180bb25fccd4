"""From facts to prompts: counts derived, rules matched by the engine, each prompt explained.

This is the one evaluation path: the HTTP API, the CLI and the scenario runner all use it.

Everything that depends only on the packs is worked out once, when the evaluator is built:
the engine's ruleset and fact encoder, a generated function for the counts the engine needs,
and per rule its explanation (compiled), its source and links, and which of its texts name the
records. An evaluation then asks the engine which rules match and explains only those; most
cases match nothing and cost no more than the engine call. ``service.testing.reference`` has the
same evaluation written straightforwardly (plain-Python matching, the generic explanation
walk); the differential tests hold the two together.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from service.conditions.python import counter, counts_function, explainer
from service.conditions.tree import atoms
from service.engine.durable_matcher import DurableMatcher, count_key
from service.evaluation.explanations import (
    COUNTED,
    NONE_NAMED,
    RECORDS,
    CountContext,
    render_counted,
    render_found,
    unique_found,
)
from service.evaluation.prompts import Because, Link, Prompt, Source
from service.facts.vocabulary import Facts
from service.packs.model import Count, Pack, Rule


class PackTexts:
    """What every evaluation reads from the packs: rules, counts, sources and links."""

    def __init__(self, packs: Sequence[Pack], link_settings: Mapping[str, str] | None) -> None:
        self.packs: tuple[Pack, ...] = tuple(packs)
        self.rules: tuple[Rule, ...] = tuple(rule for pack in self.packs for rule in pack.rules)
        self.rules_by_id: dict[str, Rule] = {rule.id: rule for rule in self.rules}
        settings = dict(link_settings or {})
        self._counts: list[tuple[str, Count]] = []
        self._count_names: list[dict[str, str]] = []  # per rule: count key -> count name
        # per rule: the keys of the counts its condition names, and the codes those counts ask about
        self._counted: list[tuple[tuple[str, ...], dict[str, frozenset[str]]]] = []
        self._sources: list[Source] = []
        self._links: list[list[Link] | None] = []
        for pack_index, pack in enumerate(self.packs):
            keys = {count_key(pack_index, c.name): c.name for c in pack.counts}
            self._counts.extend((count_key(pack_index, c.name), c) for c in pack.counts)
            for rule in pack.rules:
                self._count_names.append(keys)
                self._counted.append(_counted_by(rule, pack, keys))
                self._sources.append(
                    Source(
                        label=pack.spec.source.label,
                        briefing=pack.spec.source.title,
                        learning_point=rule.learning_point,
                        quote=rule.quote,
                    )
                )
                links = [
                    Link(label=link.label, url=url)
                    for link in rule.links
                    if (url := link.url or (settings.get(link.setting) if link.setting else None))
                ]
                self._links.append(links or None)


class Evaluator(PackTexts):
    def __init__(self, packs: Sequence[Pack], link_settings: Mapping[str, str] | None = None) -> None:
        super().__init__(packs, link_settings)
        self.matcher = DurableMatcher(self.packs)
        assert self.matcher.rules == self.rules
        # The counts the engine's rules test, worked out from the facts before each assert.
        by_key = dict(self._counts)
        self._engine_counts = counts_function([by_key[key].parts for key in self.matcher.count_keys])
        # The counts again, each with the facts it was counted from, for explanations.
        self._counters = {key: counter(count.parts) for key, count in self._counts}
        self._orders = [rule.order for rule in self.rules]
        self._explainers = [
            explainer(rule.condition, {name: key for key, name in names.items()})
            for rule, names in zip(self.rules, self._count_names, strict=True)
        ]
        self._texts = [
            (RECORDS in rule.detail + rule.reason, COUNTED in rule.detail + rule.reason)
            for rule in self.rules
        ]

    def evaluate(self, facts: Facts) -> list[Prompt]:
        """Prompts for the case, most prominent first, then by learning point, then by id."""
        fired = self.matcher.match(facts, self._engine_counts(facts))
        if not fired:  # the commonest answer: nothing more to work out
            return []
        fired.sort(key=self._orders.__getitem__)
        context = CountContext(facts, self._counters)
        return [self._prompt(index, facts, context) for index in fired]

    def engine_counts(self, facts: Facts) -> list[int]:
        """The counts given to the engine, in ``matcher.count_keys`` order."""
        return self._engine_counts(facts)

    def _prompt(self, index: int, facts: Facts, context: CountContext) -> Prompt:
        rule = self.rules[index]
        because = unique_found(self._explainers[index](facts, context))
        names_records, names_counted = self._texts[index]
        detail, reason = rule.detail, rule.reason
        if names_records:
            records = render_found(because, context.label, rule.no_records or NONE_NAMED)
            detail, reason = detail.replace(RECORDS, records), reason.replace(RECORDS, records)
        if names_counted:
            keys, codes = self._counted[index]
            found = [item for key in keys for item in context.get(key)[1]]
            counted = render_counted(found, context.label, codes)
            detail, reason = detail.replace(COUNTED, counted), reason.replace(COUNTED, counted)
        return Prompt(
            id=rule.id,
            learning_point=rule.learning_point,
            kind=rule.kind,
            indicator=rule.indicator,
            summary=rule.summary,
            detail=detail,
            source=self._sources[index],
            because=[Because(path=path, value=value) for path, value, _ in because],
            reason=reason,
            links=self._links[index],
        )


def _counted_by(
    rule: Rule, pack: Pack, keys: dict[str, str]
) -> tuple[tuple[str, ...], dict[str, frozenset[str]]]:
    """The keys of the counts the rule's condition names, and the codes those counts ask about
    (``has``), per list of codes: what ``{counted}`` words."""
    named = {atom.path for _, atom in atoms(rule.condition)}
    used = tuple(key for key, name in keys.items() if name in named)
    codes: dict[str, set[str]] = {}
    for count in pack.counts:
        if count.name in named:
            for list_path, part in count.parts:
                for _, atom in atoms(part, list_path):
                    if atom.op.name == "has" and isinstance(atom.operand, str):
                        codes.setdefault(atom.path, set()).add(atom.operand)
    return used, {path: frozenset(found) for path, found in codes.items()}
