"""Pack conditions compiled for durable_rules, and case facts encoded for it, with the engine's
cost model in mind.

How durable_rules 2.0.28 spends its time (read from its C source, ``events.c``, and confirmed
by measurement, see the README, "Performance"): an asserted fact is parsed into a flat table of
properties, hashing every key. The alpha network is a tree of tests shared by common prefix.
At every node the fact reaches, the engine walks *every property of the fact* through the
node's table of children, and that table is probed linearly from one of only 32 start slots,
so one visit costs about (properties of the fact) x (children of the node). Tests for absence
(``$nex``) sit in a separate list, but every "false or not known" then needs two alternatives.
Every matched alternative is an action that the caller reads back one at a time, each a copy
of the whole fact, found by a scan over every rule of the ruleset.

So the engine is given a fact that is as small and as regular as possible, and rules with as
few alternatives as possible:

* **One flat object with short keys, holding only what rules test.** ``f0`` is the first fact
  of the vocabulary, ``l0p1f3`` field 3 of record 1 of the first record list, ``n0`` the first
  count; :attr:`Compiled.keys` names the fact behind each key. Facts no rule tests are left
  out. A record list becomes one group of keys per position (``some parents`` becomes one
  alternative per position): durable evaluates an ``$or`` inside ``$iany`` wrongly.
* **Every tested fact is always present, and "not known" is a value of its own.** A yes/no
  fact is 1, 0 or -1 (not known); a named value is its position among the values, or -1; a
  number is itself or -1 (numbers in the vocabulary and counts are never negative). "Not yes"
  is then one test (``!= 1``) instead of two alternatives, and no rule tests for absence. A
  record that is not there has no keys at all, so no test on it can hold.
* **``has CODE``** is a key of its own (``f3_5B: 1``), present only when the list holds the
  code; a pack cannot negate ``has``.
* **Alternatives** are the condition's disjunctive normal form, one durable rule each;
  contradictory ones are dropped, and so is any alternative another alternative of the same
  rule already implies (the rule fires either way; fewer alternatives fire fewer actions).
  Tests are ordered so that alternatives share prefixes and ``==`` tests come first.

The plain-Python oracle (``reference_matcher``) reads the original conditions, never this
encoding, and the differential test holds the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from service.facts.paths import FactField, vocabulary
from service.packs.conditions import All, AnyOf, Atom, Condition, ConditionError, Some, Term
from service.packs.model import Pack

UNKNOWN = -1
# durable_rules keeps at most 32 expressions in one rule's sequence.
MAX_TESTS = 30
MAX_ALTERNATIVES = 4096
_SIMPLIFY_HEADROOM = 4

Test = tuple[str, str, Any]  # (key in the engine fact, operator, value)
Alternative = tuple[Test, ...]

_DURABLE_OPERATOR = {"!=": "$neq", ">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt"}
# Names durable_rules gives a meaning of its own; the engine compares names by their hash only.
_RESERVED = (
    "id", "sid", "$s", "$i", "m", "all", "any", "pri", "count", "cap", "dist", "$and", "$or",
    "$eq", "$neq", "$gt", "$gte", "$lt", "$lte", "$ex", "$nex", "$mt", "$imt", "$iall", "$iany",
    "$add", "$sub", "$mul", "$div", "$l", "$r",
)  # fmt: skip


def count_key(pack_index: int, name: str) -> str:
    """The name of a pack's derived count among all packs' counts (``count_0_risk_indicators``)."""
    return f"count_{pack_index}_{name}"


def fnv1a_32(text: str) -> int:
    """The hash durable_rules keys properties by (``getStringAndHash`` in its ``json.c``)."""
    value = 0x811C9DC5
    for byte in text.encode():
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


class Keys:
    """Short keys for the engine fact; :attr:`paths` says which fact each key stands for."""

    def __init__(self) -> None:
        vocab = vocabulary()
        self._fields = {path: f"f{i}" for i, path in enumerate(vocab.fields)}
        self._lists = {name: i for i, name in enumerate(vocab.record_lists)}
        self._items = {
            name: {field: j for j, field in enumerate(rl.item_fields)}
            for name, rl in vocab.record_lists.items()
        }
        self._counts: dict[str, str] = {}
        self.paths: dict[str, str] = {}

    def field(self, path: str) -> str:
        key = self._fields[path]
        self.paths[key] = path
        return key

    def code(self, path: str, code: str) -> str:
        key = f"{self._fields[path]}_{code}"
        self.paths[key] = f"{path} has {code}"
        return key

    def item(self, list_path: str, position: int, field: str) -> str:
        key = f"l{self._lists[list_path]}p{position}f{self._items[list_path][field]}"
        self.paths[key] = f"{list_path}[{position}].{field}"
        return key

    def count(self, name: str) -> str:
        key = self._counts.setdefault(name, f"n{len(self._counts)}")
        self.paths[key] = name
        return key

    def check(self) -> None:
        """The engine tells keys apart by their 32-bit hash alone: make sure it can."""
        seen = {fnv1a_32(name): name for name in _RESERVED}
        for key in sorted(self.paths):
            other = seen.setdefault(fnv1a_32(key), key)
            if other != key:
                raise ConditionError(f"engine keys `{key}` and `{other}` have the same hash")


Constraint = dict[str, frozenset[int]]  # key -> the values it may take; all must hold
Spec = dict[str, tuple[Test, ...]]  # key -> the tests on it; all must hold


@dataclass(frozen=True, slots=True)
class _Key:
    """A key of the engine fact: the values it takes when present, and how often it is there."""

    domain: tuple[int, ...]  # sorted
    presence: float  # a static prior: 1 for keys always written, less for records and codes
    always: bool  # written for every case (not a record's, not a code's)


class _Compiler:
    """Conditions to alternatives, noting which facts the engine fact must carry.

    An alternative is worked on as a set of allowed values per key, so that contradictions
    and one alternative implying another are decided exactly, and only then written as tests.
    """

    def __init__(self, count_maxima: dict[str, int]) -> None:
        vocab = vocabulary()
        self.keys = Keys()
        self.info: dict[str, _Key] = {}
        self.count_maxima = count_maxima
        self.fields: dict[str, FactField] = dict(vocab.fields)
        self.record_lists = vocab.record_lists
        self.used_fields: set[str] = set()  # top-level paths tested
        self.used_codes: dict[str, set[str]] = {}  # codes path -> codes tested with `has`
        self.used_items: dict[str, set[str]] = {}  # record list -> item fields tested
        self.used_counts: set[str] = set()  # count_key of each count tested

    def alternatives(self, condition: Condition, resolve: dict[str, str]) -> list[Spec]:
        """The condition's alternatives, each as the tests to make on each key."""
        written: dict[frozenset[tuple[str, tuple[Test, ...]]], Spec] = {}
        for constraint in self._alternatives(condition, resolve, None):
            for spec in self._write(constraint):
                written.setdefault(frozenset(spec.items()), spec)
        return list(written.values())

    def _alternatives(
        self, condition: Condition, resolve: dict[str, str], record: tuple[str, int] | None
    ) -> list[Constraint]:
        if isinstance(condition, Term):
            return self._alternatives(condition.condition, resolve, record)
        if isinstance(condition, AnyOf):
            found = [alt for c in condition.items for alt in self._alternatives(c, resolve, record)]
            return self._simplify(found)
        if isinstance(condition, All):
            product: list[Constraint] = [{}]
            for part in condition.items:
                options = self._alternatives(part, resolve, record)
                if len(product) * len(options) > MAX_ALTERNATIVES * _SIMPLIFY_HEADROOM:
                    # Simplifying is quadratic; refuse before a product that large, not after.
                    raise ConditionError(
                        f"the condition unfolds into more than {MAX_ALTERNATIVES} alternatives; "
                        "split the rule into simpler rules"
                    )
                combined = [_conjoin(left, right) for left in product for right in options]
                product = self._simplify([c for c in combined if c is not None])
                if len(product) > MAX_ALTERNATIVES:
                    raise ConditionError(
                        f"the condition unfolds into more than {MAX_ALTERNATIVES} alternatives; "
                        "split the rule into simpler rules"
                    )
            return product
        if isinstance(condition, Some):
            found = []
            for position in range(self.record_lists[condition.list_path].max_items):
                record_at = (condition.list_path, position)
                found.extend(self._alternatives(condition.condition, resolve, record_at))
            return self._simplify(found)
        return self._atom(condition, resolve, record)

    def _atom(self, atom: Atom, resolve: dict[str, str], record: tuple[str, int] | None) -> list[Constraint]:
        if record is not None:
            list_path, position = record
            field = self.record_lists[list_path].item_fields[atom.path]
            self.used_items.setdefault(list_path, set()).add(atom.path)
            key = self.keys.item(list_path, position, atom.path)
            self.info[key] = _Key(_domain(field), 0.75 ** (position + 1), always=False)
        elif atom.path in resolve:
            name = resolve[atom.path]
            self.used_counts.add(name)
            key = self.keys.count(name)
            field = FactField(atom.path, "int", "", minimum=0, maximum=self.count_maxima[name])
            self.info[key] = _Key(tuple(range(self.count_maxima[name] + 1)), 1.0, always=True)
        else:
            field = self.fields[atom.path]
            if field.kind == "codes" and atom.test == "has":
                self.used_codes.setdefault(atom.path, set()).add(atom.value)
                key = self.keys.code(atom.path, atom.value)
                self.info[key] = _Key((1,), 2 / len(field.values), always=False)
                return [{key: frozenset((1,))}]
            self.used_fields.add(atom.path)
            key = self.keys.field(atom.path)
            self.info[key] = _Key(_domain(field), 1.0, always=True)
        allowed = frozenset(v for v in self.info[key].domain if _admits(field, atom, v))
        if not allowed:
            return []
        return [{key: allowed}]

    def _simplify(self, alternatives: list[Constraint]) -> list[Constraint]:
        """Duplicates and alternatives another alternative already implies dropped: the rule
        fires all the same."""
        unique = {frozenset(alt.items()): alt for alt in alternatives}
        ordered = sorted(unique.values(), key=len)
        kept: list[Constraint] = []
        for alternative in ordered:
            if not any(_implies(alternative, other) for other in kept):
                kept = [other for other in kept if not _implies(other, alternative)]
                kept.append(alternative)
        return kept

    def _write(self, constraint: Constraint) -> list[Spec]:
        """The constraint as tests per key; one constraint may become several alternatives
        when that takes fewer tests."""
        written: list[Spec] = [{}]
        for key in sorted(constraint):
            options = _key_tests(key, self.info[key], constraint[key])
            written = [{**spec, key: tuple(tests)} for spec in written for tests in options]
        return written


def _domain(field: FactField) -> tuple[int, ...]:
    if field.kind == "bool":
        return (UNKNOWN, 0, 1)
    if field.kind == "enum":
        return (UNKNOWN, *range(len(field.values)))
    if field.kind == "codes":
        return (UNKNOWN, 1)
    if field.minimum is None or field.maximum is None or field.minimum < 0:
        raise ConditionError(f"`{field.path}` needs a range from 0 for the engine encoding")
    return (UNKNOWN, *range(field.minimum, field.maximum + 1))


def _admits(field: FactField, atom: Atom, value: int) -> bool:
    """Whether the engine value ``value`` of ``field`` meets the atom."""
    test = atom.test
    if test == "unknown":
        return value == UNKNOWN
    if test == "known":
        return value != UNKNOWN
    if field.kind == "bool":
        truth = {1: True, 0: False, UNKNOWN: None}[value]
        return {
            "true": truth is True,
            "false": truth is False,
            "not_true": truth is not True,
            "not_false": truth is not False,
        }[test]
    if value == UNKNOWN:  # not known is never in a list, never compared
        return False
    if field.kind == "enum" and test == "in":
        return field.values[value] in atom.value
    if field.kind == "int" and test in ("eq", "ge", "gt", "le", "lt"):
        target = atom.value
        return {
            "eq": value == target,
            "ge": value >= target,
            "gt": value > target,
            "le": value <= target,
            "lt": value < target,
        }[test]
    raise ConditionError(f"`{atom.path}`: the engine has no test for `{test}` on {field.kind} facts")


def _conjoin(left: Constraint, right: Constraint) -> Constraint | None:
    both = dict(left)
    for key, allowed in right.items():
        if key in both:
            allowed = both[key] & allowed
            if not allowed:
                return None
        both[key] = allowed
    return both


def _implies(this: Constraint, other: Constraint) -> bool:
    """Whenever ``this`` holds, ``other`` holds."""
    return all(key in this and this[key] <= allowed for key, allowed in other.items())


def _key_tests(key: str, info: _Key, allowed: frozenset[int]) -> list[list[Test]]:
    """The fewest tests that admit exactly ``allowed`` of the key's values (and, for a key not
    always written, that need it present); several alternatives when that is shorter."""
    domain = info.domain
    if len(allowed) == len(domain):
        return [[]] if info.always else [[(key, ">=", domain[0])]]
    if len(allowed) == 1:
        return [[(key, "==", next(iter(allowed)))]]
    low, high = min(allowed), max(allowed)
    interval: list[Test] = []
    if low > domain[0]:
        interval.append((key, ">=", low))
    if high < domain[-1]:
        interval.append((key, "<=", high))
    interval += [(key, "!=", v) for v in domain if low < v < high and v not in allowed]
    complement: list[Test] = [(key, "!=", v) for v in domain if v not in allowed]
    tests = complement if len(complement) <= len(interval) else interval
    if len(tests) > 3 and len(allowed) <= 3:
        return [[(key, "==", v)] for v in sorted(allowed)]
    return [tests]


def durable_expression(alternative: Alternative) -> dict[str, Any]:
    tests: list[dict[str, Any]] = [
        {key: value} if operator == "==" else {_DURABLE_OPERATOR[operator]: {key: value}}
        for key, operator, value in alternative
    ]
    return tests[0] if len(tests) == 1 else {"$and": tests}


def durable_rule(alternative: Alternative) -> dict[str, Any]:
    return {"all": [{"m": durable_expression(alternative)}]}


@dataclass(frozen=True, slots=True)
class Shard:
    """One durable ruleset: some rules' alternatives, and the parts of the fact they read."""

    alternatives: tuple[tuple[int, int, Alternative], ...]  # (rule index, number, tests)
    segments: tuple[int, ...]  # indexes into Compiled.segments, in order

    def definition(self) -> dict[str, Any]:
        """The ruleset: one durable rule ``r<rule>_<alternative>`` per alternative."""
        return {f"r{rule}_{number}": durable_rule(tests) for rule, number, tests in self.alternatives}


@dataclass(frozen=True, slots=True)
class Compiled:
    """Every pack's rules for the engine, and what the engine fact must carry."""

    alternatives: tuple[tuple[Alternative, ...], ...]  # per rule, in the packs' order
    fields: tuple[str, ...]  # top-level paths tested
    codes: tuple[tuple[str, tuple[str, ...]], ...]  # codes path, codes tested with `has`
    items: tuple[tuple[str, tuple[str, ...]], ...]  # record list, item fields tested
    counts: tuple[str, ...]  # count_key of each count tested, in the order the encoder takes
    keys: dict[str, str]  # engine key -> the fact it stands for
    segments: tuple[str, ...]  # the parts the fact is written in (a group, a record, ...)
    shards: tuple[Shard, ...]
    key_of: Keys
    info: dict[str, _Key]  # each key's values and how often it is present


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
    compiler = _Compiler(count_maxima)
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
    segments = _segments(fields, codes, items, counts)
    shards = _plan_shards(specs, compiler.info, keys, segments, shard_size)
    written: list[list[Alternative]] = [[] for _ in specs]
    for shard in shards:
        for rule, _, tests in shard.alternatives:
            written[rule].append(tests)
    return Compiled(
        alternatives=tuple(tuple(alternatives) for alternatives in written),
        fields=fields,
        codes=codes,
        items=items,
        counts=counts,
        keys=dict(sorted(keys.paths.items())),
        segments=segments,
        shards=shards,
        key_of=keys,
        info=compiler.info,
    )


# --- rulesets ---------------------------------------------------------------------------------
#
# durable_rules walks the alpha network depth first on a stack of 64 entries, pushing every
# child of a node that the fact matches, and fails the assert with error 303 when the stack is
# full. It also finds each action to report by scanning every rule of the ruleset from the
# first. So the rules are spread over several rulesets ("shards"), each small enough that its
# worst case fits the stack, whatever the facts, and its scans stay short; a fact is asserted
# into each shard with only the parts of the fact that shard's rules read.

# The deepest the engine's stack may go for any fact (the bound below is exact per node and
# pessimistic only in which child goes deepest); the engine fails at 64.
STACK_LIMIT = 60


def _segments(
    fields: tuple[str, ...],
    codes: tuple[tuple[str, tuple[str, ...]], ...],
    items: tuple[tuple[str, tuple[str, ...]], ...],
    counts: tuple[str, ...],
) -> tuple[str, ...]:
    vocab = vocabulary()
    segments = list(dict.fromkeys(f"g:{path.partition('.')[0]}" for path in fields))
    segments += [f"c:{path}" for path, _ in codes]
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

    def __init__(self, info: dict[str, _Key]) -> None:
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


def _next_key(pending: list[_Placed], info: dict[str, _Key]) -> str:
    """The key most of these alternatives test (the likelier to be absent first on a tie)."""
    counts: dict[str, int] = {}
    for placed in pending:
        for key in placed.remaining:
            counts[key] = counts.get(key, 0) + 1
    return max(counts, key=lambda key: (counts[key], -info[key].presence, key))


def _lay_out(placed: list[_Placed], info: dict[str, _Key]) -> None:
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


def _plan_shards(
    specs: list[list[Spec]],
    info: dict[str, _Key],
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


# --- the engine fact ------------------------------------------------------------------------


def _value_table(field: FactField) -> dict[Any, str] | None:
    """The engine value of each possible value, as text; ``None`` for numbers."""
    if field.kind == "bool":
        return {True: "1", False: "0", None: str(UNKNOWN)}
    if field.kind == "enum":
        return {None: str(UNKNOWN), **{value: str(i) for i, value in enumerate(field.values)}}
    return None


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {}
        self._tables: dict[tuple[tuple[Any, str], ...], str] = {}

    def value(self, field: FactField, expression: str) -> str:
        """An f-string part writing the engine value of ``expression``."""
        if field.kind == "codes":
            return f"{{'{UNKNOWN}' if {expression} is None else '1'}}"
        table = _value_table(field)
        if table is None:  # a number
            return f"{{{UNKNOWN} if (_n := {expression}) is None else _n}}"
        name = self._tables.setdefault(tuple(table.items()), f"t{len(self._tables)}")
        self.namespace[name] = table
        return f"{{{name}[{expression}]}}"


def fact_encoder(compiled: Compiled) -> Callable[[Any, Sequence[int], str], list[str]]:
    """``encode(facts, counts, tail) -> [JSON for each shard]``: the engine facts for a case.

    ``facts`` is a ``Facts`` struct; ``counts`` are the values of ``compiled.counts`` in that
    order; ``tail`` is written last inside each object (the session and fact ids). The function
    is generated once as Python source, so that an evaluation costs one f-string per part of
    the fact and no dictionaries.
    """
    vocab = vocabulary()
    keys = compiled.key_of
    source = _Source()
    lines = source.lines
    lines.append("def encode(facts, counts, tail):")
    names = {segment: f"s{i}" for i, segment in enumerate(compiled.segments)}
    groups: dict[str, list[str]] = {}
    for path in compiled.fields:
        group, _, leaf = path.partition(".")
        groups.setdefault(group, []).append(leaf)
    for group, leaves in groups.items():
        name = names[f"g:{group}"]
        if leaves == [""]:
            part = source.value(vocab.fields[group], f"facts.{group}")
            lines.append(f"    {name} = f'\"{keys.field(group)}\":{part}'")
            continue
        paths = [f"{group}.{leaf}" for leaf in leaves]
        unknown = ",".join(f'"{keys.field(path)}":{UNKNOWN}' for path in paths)
        known = ",".join(
            f'"{keys.field(path)}":{source.value(vocab.fields[path], f"g.{leaf}")}'
            for path, leaf in zip(paths, leaves, strict=True)
        )
        lines.append(f"    g = facts.{group}")
        lines.append(f"    {name} = '{unknown}' if g is None else f'{known}'")
    for path, codes in compiled.codes:
        table = f"codes_{keys.field(path)}"
        source.namespace[table] = {code: f'"{keys.code(path, code)}":1' for code in codes}
        lines += [
            f"    v = facts.{path}",
            f"    {names['c:' + path]} = ','.join([{table}[c] for c in v if c in {table}]) if v else ''",
        ]
    for list_path, item_fields in compiled.items:
        record_list = vocab.record_lists[list_path]
        lines += [f"    v = facts.{list_path} or ()", "    n = len(v)"]
        for position in range(record_list.max_items):
            known = ",".join(
                f'"{keys.item(list_path, position, field)}":'
                + source.value(record_list.item_fields[field], f"r.{field}")
                for field in item_fields
            )
            name = names[f"r:{list_path}:{position}"]
            lines += [
                f"    if n > {position}:",
                f"        r = v[{position}]",
                f"        {name} = f'{known}'",
                "    else:",
                f"        {name} = ''",
            ]
    for index, count in enumerate(compiled.counts):
        lines.append(f"    {names['n:' + count]} = f'\"{keys.count(count)}\":{{counts[{index}]}}'")
    payloads = []
    for shard in compiled.shards:
        parts = ", ".join([*(f"s{i}" for i in shard.segments), "tail"])
        payloads.append(f"'{{' + ','.join(filter(None, ({parts}))) + '}}'")
    lines.append(f"    return [{', '.join(payloads)}]")
    text = "\n".join(lines) + "\n"
    exec(compile(text, "<engine fact encoder>", "exec"), source.namespace)
    encode = source.namespace["encode"]
    encode.source = text
    return encode
