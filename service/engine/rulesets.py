"""The alternatives spread over durable rulesets ("shards") the engine can walk, and laid out
so that the network it builds stays narrow.

durable_rules walks the alpha network depth first on a stack of 64 entries, pushing every
child of a node that the fact matches, and fails the assert with error 303 when the stack is
full. It also finds each action to report by scanning every rule of the ruleset from the
first. So the rules are spread over several rulesets, each small enough that its worst case
fits the stack, whatever the facts, and its scans stay short; a fact is asserted into each
shard with only the parts of the fact that shard's rules read.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.conditions.tree import ConditionError
from service.engine.alternatives import Alternative, KeyInfo, Keys, Spec, Test, durable_rule
from service.facts.paths import vocabulary


@dataclass(frozen=True, slots=True)
class Shard:
    """One durable ruleset: some rules' alternatives, and the parts of the fact they read."""

    alternatives: tuple[tuple[int, int, Alternative], ...]  # (rule index, number, tests)
    segments: tuple[int, ...]  # indexes into Compiled.segments, in order

    def definition(self) -> dict[str, Any]:
        """The ruleset: one durable rule ``r<rule>_<alternative>`` per alternative."""
        return {f"r{rule}_{number}": durable_rule(tests) for rule, number, tests in self.alternatives}


# The deepest the engine's stack may go for any fact (the bound below is exact per node and
# pessimistic only in which child goes deepest); the engine fails at 64.
STACK_LIMIT = 60


def segments_of(
    fields: tuple[str, ...],
    codes: tuple[tuple[str, tuple[str, ...]], ...],
    items: tuple[tuple[str, tuple[str, ...]], ...],
    counts: tuple[str, ...],
    lengths: tuple[str, ...] = (),
) -> tuple[str, ...]:
    vocab = vocabulary()
    segments = list(dict.fromkeys(f"g:{path.partition('.')[0]}" for path in fields))
    segments += [f"c:{path}" for path, _ in codes]
    segments += [f"k:{name}" for name in lengths]
    segments += [
        f"r:{name}:{position}" for name, _ in items for position in range(vocab.record_lists[name].max_items)
    ]
    segments += [f"n:{name}" for name in counts]
    return tuple(segments)


def _segment_of(keys: Keys, key: str) -> str:
    path = keys.paths[key]
    if key.startswith("l"):
        list_path, _, rest = path.partition("[")
        return f"r:{list_path}:{rest.partition(']')[0]}"
    if key.startswith("n"):
        return f"n:{path}"
    if key.startswith("k"):
        return f"k:{path.removesuffix(' recorded')}"
    if " has " in path:
        return f"c:{path.partition(' has ')[0]}"
    return f"g:{path.partition('.')[0]}"


def _admitted(test: Test, domain: tuple[int, ...]) -> frozenset[int]:
    _, operator, value = test
    check = {
        "==": lambda v: v == value,
        "!=": lambda v: v != value,
        ">=": lambda v: v >= value,
        ">": lambda v: v > value,
        "<=": lambda v: v <= value,
        "<": lambda v: v < value,
    }[operator]
    return frozenset(v for v in domain if check(v))


class _Trie:
    """The alpha network durable_rules builds for a set of alternatives (tests shared by common
    prefix), to bound how deep the engine's stack can go."""

    def __init__(self, info: dict[str, KeyInfo]) -> None:
        self.info = info
        self.root: dict[Test, dict] = {}

    def add(self, alternative: Alternative) -> None:
        node = self.root
        for test in alternative:
            node = node.setdefault(test, {})

    def stack_bound(self) -> int:
        return self._bound(self.root)

    def _bound(self, node: dict[Test, dict]) -> int:
        if not node:
            return 0
        by_key: dict[str, list[frozenset[int]]] = {}
        for test in node:
            by_key.setdefault(test[0], []).append(_admitted(test, self.info[test[0]].domain))
        matched = 0  # the most children one fact can match at once
        for key, admitted in by_key.items():
            matched += max(sum(1 for a in admitted if v in a) for v in self.info[key].domain)
        deepest = max(self._bound(child) for child in node.values())
        return max(matched, matched - 1 + deepest)


class _Placed:
    """An alternative being laid out: its tests per key, and the order chosen so far."""

    __slots__ = ("number", "order", "remaining", "rule", "spec")

    def __init__(self, rule: int, number: int, spec: Spec) -> None:
        self.rule = rule
        self.number = number
        self.spec = spec
        self.remaining = set(spec)
        self.order: list[Test] = []


def _reads_records(placed: _Placed) -> bool:
    return any(key.startswith("l") for key in placed.spec)


def _next_key(pending: list[_Placed], info: dict[str, KeyInfo]) -> str:
    """The key most of these alternatives test (the likelier to be absent first on a tie)."""
    counts: dict[str, int] = {}
    for placed in pending:
        for key in placed.remaining:
            counts[key] = counts.get(key, 0) + 1
    return max(counts, key=lambda key: (counts[key], -info[key].presence, key))


def _lay_out(placed: list[_Placed], info: dict[str, KeyInfo]) -> None:
    """Order each alternative's tests so that the network the engine builds is narrow: at every
    node, the alternatives continue with a test on the key most of them share, so a node has
    few children. The engine probes every property of the fact through every child table it
    reaches, linearly from one of 32 slots, so wide nodes are what a fact pays for."""
    pending = [p for p in placed if p.remaining]
    while pending:
        key = _next_key(pending, info)
        group = [p for p in pending if key in p.remaining]
        pending = [p for p in pending if key not in p.remaining]
        chains: dict[tuple[Test, ...], list[_Placed]] = {}
        for member in group:
            chains.setdefault(member.spec[key], []).append(member)
        for chain, members in sorted(chains.items()):
            for member in members:
                member.order.extend(chain)
                member.remaining.discard(key)
            _lay_out(members, info)


def plan_shards(
    specs: list[list[Spec]],
    info: dict[str, KeyInfo],
    keys: Keys,
    segments: tuple[str, ...],
    shard_size: int,
) -> tuple[Shard, ...]:
    position = {segment: i for i, segment in enumerate(segments)}
    everything = [
        _Placed(rule, n, spec)
        for rule, alternatives in enumerate(specs)
        for n, spec in enumerate(alternatives)
    ]
    # Alternatives are grouped by the first key they are tested on, as the root of one network
    # would have them; each group (or run of small groups) is a ruleset of its own.
    # Alternatives that read no record sit apart from those that do: their rulesets are given
    # a much smaller fact.
    groups: list[list[_Placed]] = []
    classes = (False, True) if len(everything) > shard_size else (None,)
    for reads_records in classes:
        pending = [p for p in everything if reads_records is None or _reads_records(p) == reads_records]
        while pending:
            key = _next_key(pending, info)
            groups.append([p for p in pending if key in p.remaining])
            pending = [p for p in pending if key not in p.remaining]
    chunks: list[list[_Placed]] = []
    for group in groups:
        for start in range(0, len(group), shard_size):
            chunk = group[start : start + shard_size]
            if (
                chunks
                and len(chunks[-1]) + len(chunk) <= shard_size
                and len(chunk) < shard_size // 4
                and (len(classes) == 1 or _reads_records(chunks[-1][0]) == _reads_records(chunk[0]))
            ):
                chunks[-1].extend(chunk)
            else:
                chunks.append(chunk)
    shards: list[Shard] = []
    while chunks:
        chunk = chunks.pop(0)
        for member in chunk:
            member.order = []
            member.remaining = set(member.spec)
        _lay_out(chunk, info)
        trie = _Trie(info)
        for member in chunk:
            trie.add(tuple(member.order))
        if trie.stack_bound() > STACK_LIMIT:
            if len(chunk) == 1:
                raise ConditionError("an alternative of a rule has too many tests for the engine")
            half = len(chunk) // 2
            chunks[:0] = [chunk[:half], chunk[half:]]
            continue
        used = sorted({position[_segment_of(keys, t[0])] for member in chunk for t in member.order})
        chunk.sort(key=lambda p: (p.rule, p.number))
        shards.append(Shard(tuple((p.rule, p.number, tuple(p.order)) for p in chunk), tuple(used)))
    return tuple(shards)
