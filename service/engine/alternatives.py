"""Pack conditions as the alternatives durable_rules matches: one flat fact, simple tests.

How durable_rules 2.0.28 spends its time (read from its C source, ``events.c``, and confirmed
by measurement, see docs/performance.md): an asserted fact is parsed into a flat table of
properties, hashing every key. The alpha network is a tree of tests shared by common prefix.
At every node the fact reaches, the engine walks *every property of the fact* through the
node's table of children, probed linearly from one of only 32 start slots, so one visit costs
about (properties of the fact) x (children of the node). Every matched alternative is an action
the caller reads back one at a time. So the engine is given a fact as small and as regular as
possible, and rules with as few alternatives as possible:

* **One flat object with short keys, holding only what rules test.** ``f0`` is the first fact
  of the vocabulary, ``l0p1f3`` field 3 of record 1 of the first record list, ``n0`` the first
  count (:class:`Keys`). A record list becomes one group of keys per position (``some
  parents`` becomes one alternative per position): durable evaluates an ``$or`` inside
  ``$iany`` wrongly.
* **Every tested fact is always present, and "not known" is a value of its own.** A yes/no
  fact is 1, 0 or -1 (not known); a named value its position among the values, or -1; a number
  itself or -1. "Not yes" is then one test (``!= 1``) and no rule tests for absence. A record
  that is not there has no keys at all, so no test on it can hold.
* **``has CODE``** is a key of its own (``f3_5B: 1``), present only when the list holds the
  code, so the engine can test that a code is listed, never that it is not.
* **Alternatives** are the condition's disjunctive normal form, worked out as sets of allowed
  values per key: contradictory ones are dropped, and so is any alternative another implies.
  Which engine values an atom admits is asked of its operator (the operator table), on the
  value each engine value stands for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from service.conditions.tree import All, AnyOf, Atom, Condition, ConditionError, Every, Some, Term
from service.engine.disjoint import exclusive
from service.facts.paths import FactField, FieldKind, vocabulary

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

    def length(self, list_path: str) -> str:
        """How many records of a list the case holds (``k0``)."""
        key = f"k{self._lists[list_path]}"
        self.paths[key] = f"{list_path} recorded"
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
class KeyInfo:
    """A key of the engine fact: the values it takes when present, and how often it is there."""

    domain: tuple[int, ...]  # sorted
    presence: float  # a static prior: 1 for keys always written, less for records and codes
    always: bool  # written for every case (not a record's, not a code's)


class AlternativesCompiler:
    """Conditions to alternatives, noting which facts the engine fact must carry.

    An alternative is worked on as a set of allowed values per key, so that contradictions
    and one alternative implying another are decided exactly, and only then written as tests.
    """

    def __init__(self, count_maxima: dict[str, int]) -> None:
        vocab = vocabulary()
        self.keys = Keys()
        self.info: dict[str, KeyInfo] = {}
        self.count_maxima = count_maxima
        self.fields: dict[str, FactField] = dict(vocab.fields)
        self.record_lists = vocab.record_lists
        self.used_fields: set[str] = set()  # top-level paths tested
        self.used_codes: dict[str, set[str]] = {}  # codes path -> codes tested with `has`
        self.used_items: dict[str, set[str]] = {}  # record list -> item fields tested
        self.used_counts: set[str] = set()  # count_key of each count tested
        self.used_lengths: set[str] = set()  # record lists whose length is tested

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
            return self._exclusive(self._simplify(found))
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
            return self._exclusive(self._simplify(found))
        if isinstance(condition, Every):
            # Every record: for each position, no record there, or the condition holds there.
            records = self.record_lists[condition.list_path]
            length = self._length(condition.list_path)
            product = [{}]
            for position in range(records.max_items):
                fewer = [{length: frozenset(range(position + 1))}]
                there = self._alternatives(condition.condition, resolve, (condition.list_path, position))
                options = self._exclusive(self._simplify(fewer + there))
                combined = [_conjoin(left, right) for left in product for right in options]
                product = self._simplify([c for c in combined if c is not None])
                if len(product) > MAX_ALTERNATIVES:
                    raise ConditionError(
                        f"the condition unfolds into more than {MAX_ALTERNATIVES} alternatives; "
                        "split the rule into simpler rules"
                    )
            return product
        return self._atom(condition, resolve, record)

    def _length(self, list_path: str) -> str:
        key = self.keys.length(list_path)
        self.used_lengths.add(list_path)
        self.info[key] = KeyInfo(tuple(range(self.record_lists[list_path].max_items + 1)), 1.0, always=True)
        return key

    def _atom(self, atom: Atom, resolve: dict[str, str], record: tuple[str, int] | None) -> list[Constraint]:
        if record is not None:
            list_path, position = record
            field = self.record_lists[list_path].item_fields[atom.path]
            self.used_items.setdefault(list_path, set()).add(atom.path)
            key = self.keys.item(list_path, position, atom.path)
            self.info[key] = KeyInfo(_domain(field), 0.75 ** (position + 1), always=False)
        elif atom.path in self.record_lists:
            key = self._length(atom.path)
            allowed = frozenset(v for v in self.info[key].domain if atom.op.holds(v, atom.operand))
            return [{key: allowed}] if allowed else []
        elif atom.path in resolve:
            name = resolve[atom.path]
            self.used_counts.add(name)
            key = self.keys.count(name)
            field = FactField(atom.path, FieldKind.INT, "", minimum=0, maximum=self.count_maxima[name])
            self.info[key] = KeyInfo(tuple(range(self.count_maxima[name] + 1)), 1.0, always=True)
        else:
            field = self.fields[atom.path]
            if field.kind is FieldKind.CODES and isinstance(atom.operand, str):
                code = atom.operand
                if atom.op.holds(None, code) or atom.op.holds((), code) or not atom.op.holds((code,), code):
                    raise ConditionError(
                        f"`{atom.written()}`: the engine can test that a code is listed, not that it is not"
                    )
                self.used_codes.setdefault(atom.path, set()).add(code)
                key = self.keys.code(atom.path, code)
                self.info[key] = KeyInfo((1,), 2 / len(field.values), always=False)
                return [{key: frozenset((1,))}]
            self.used_fields.add(atom.path)
            key = self.keys.field(atom.path)
            self.info[key] = KeyInfo(_domain(field), 1.0, always=True)
        allowed = frozenset(
            v for v in self.info[key].domain if atom.op.holds(meaning(field, v), atom.operand)
        )
        if not allowed:
            return []
        return [{key: allowed}]

    def _exclusive(self, alternatives: list[Constraint]) -> list[Constraint]:
        return exclusive(
            alternatives, lambda key: frozenset(self.info[key].domain), lambda key: self.info[key].always
        )

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
    """The engine values a fact takes: -1 for not known, then its values as numbers."""
    if field.kind is FieldKind.BOOL:
        return (UNKNOWN, 0, 1)
    if field.kind is FieldKind.ENUM:
        return (UNKNOWN, *range(len(field.values)))
    if field.kind is FieldKind.CODES:
        return (UNKNOWN, 1)  # the list as a whole: not known, or known
    if field.minimum is None or field.maximum is None or field.minimum < 0:
        raise ConditionError(f"`{field.path}` needs a range from 0 for the engine encoding")
    return (UNKNOWN, *range(field.minimum, field.maximum + 1))


def meaning(field: FactField, value: int) -> Any:
    """What an engine value of ``field`` stands for, as the facts would hold it."""
    if value == UNKNOWN:
        return None
    if field.kind is FieldKind.BOOL:
        return value == 1
    if field.kind is FieldKind.ENUM:
        return field.values[value]
    if field.kind is FieldKind.CODES:
        return ()  # a list is known: none of the codes a rule asks about by `has` is in it here
    return value


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


def _key_tests(key: str, info: KeyInfo, allowed: frozenset[int]) -> list[list[Test]]:
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
