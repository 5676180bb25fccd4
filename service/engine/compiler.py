"""Every pack's rules compiled for durable_rules: alternatives (:mod:`.alternatives`), spread
over rulesets (:mod:`.rulesets`), and the fact the engine is given (:mod:`.fact_encoding`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from service.conditions.tree import ConditionError
from service.engine.alternatives import MAX_TESTS, AlternativesCompiler, KeyInfo, Keys, Spec, count_key
from service.engine.rulesets import Shard, plan_shards, segments_of
from service.facts.paths import vocabulary
from service.packs.model import Pack


@dataclass(frozen=True, slots=True)
class Compiled:
    """Every pack's rules for the engine, and what the engine fact must carry."""

    fields: tuple[str, ...]  # top-level paths tested
    codes: tuple[tuple[str, tuple[str, ...]], ...]  # codes path, codes tested with `has`
    items: tuple[tuple[str, tuple[str, ...]], ...]  # record list, item fields tested
    counts: tuple[str, ...]  # count_key of each count tested, in the order the encoder takes
    lengths: tuple[str, ...]  # record lists whose number of records is tested
    segments: tuple[str, ...]  # the parts the fact is written in (a group, a record, ...)
    shards: tuple[Shard, ...]
    key_of: Keys
    info: dict[str, KeyInfo]  # each key's values and how often it is present


def compile_packs(packs: Sequence[Pack], shard_size: int = 1024) -> Compiled:
    vocab = vocabulary()
    count_maxima = {
        count_key(pack_index, count.name): sum(
            1 if list_path is None else vocab.record_lists[list_path].max_items
            for list_path, _ in count.parts
        )
        for pack_index, pack in enumerate(packs)
        for count in pack.counts
    }
    compiler = AlternativesCompiler(count_maxima)
    specs: list[list[Spec]] = []
    for pack_index, pack in enumerate(packs):
        resolve = {count.name: count_key(pack_index, count.name) for count in pack.counts}
        for rule in pack.rules:
            alternatives = compiler.alternatives(rule.condition, resolve)
            for spec in alternatives:
                tests = sum(len(chain) for chain in spec.values())
                if tests > MAX_TESTS:
                    raise ConditionError(
                        f"rule {rule.id}: an alternative needs {tests} tests; the engine "
                        f"takes at most {MAX_TESTS}: split the rule"
                    )
            specs.append(alternatives)
    keys = compiler.keys
    counts = tuple(sorted(compiler.used_counts))
    for name in counts:
        keys.count(name)
    keys.check()
    fields = tuple(path for path in vocab.fields if path in compiler.used_fields)
    codes = tuple((path, tuple(sorted(codes))) for path, codes in sorted(compiler.used_codes.items()))
    items = tuple(
        (name, tuple(f for f in rl.item_fields if f in compiler.used_items[name]))
        for name, rl in vocab.record_lists.items()
        if compiler.used_items.get(name)
    )
    lengths = tuple(name for name in vocab.record_lists if name in compiler.used_lengths)
    segments = segments_of(fields, codes, items, counts, lengths)
    shards = plan_shards(specs, compiler.info, keys, segments, shard_size)
    return Compiled(
        fields=fields,
        codes=codes,
        items=items,
        counts=counts,
        lengths=lengths,
        segments=segments,
        shards=shards,
        key_of=keys,
        info=compiler.info,
    )
