"""Pack conditions compiled for durable_rules, and case facts encoded for it, with the engine's
cost model in mind.

How durable_rules 2.0.28 spends its time (read from its C source, ``events.c``, and confirmed
by measurement, see docs/performance.md): an asserted fact is parsed into a flat table of
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

Test = tuple[str, str, Any]  # (key in the engine fact, operator, value)
Alternative = tuple[Test, ...]

_DURABLE_OPERATOR = {"!=": "$neq", ">=": "$gte", ">": "$gt", "<=": "$lte", "<": "$lt"}
_SELECTIVITY = {"==": 0, ">=": 1, ">": 1, "<=": 1, "<": 1, "!=": 2}
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


class _Compiler:
    """Conditions to alternatives, noting which facts the engine fact must carry."""

    def __init__(self) -> None:
        vocab = vocabulary()
        self.keys = Keys()
        self.fields: dict[str, FactField] = dict(vocab.fields)
        self.record_lists = vocab.record_lists
        self.used_fields: set[str] = set()  # top-level paths tested
        self.used_codes: dict[str, set[str]] = {}  # codes path -> codes tested with `has`
        self.used_items: dict[str, set[str]] = {}  # record list -> item fields tested
        self.used_counts: set[str] = set()  # count_key of each count tested

    def alternatives(self, condition: Condition, resolve: dict[str, str]) -> list[Alternative]:
        return _simplify(self._alternatives(condition, resolve, None))

    def _alternatives(
        self, condition: Condition, resolve: dict[str, str], record: tuple[str, int] | None
    ) -> list[list[Test]]:
        if isinstance(condition, Term):
            return self._alternatives(condition.condition, resolve, record)
        if isinstance(condition, AnyOf):
            return [alt for c in condition.items for alt in self._alternatives(c, resolve, record)]
        if isinstance(condition, All):
            product: list[list[Test]] = [[]]
            for part in condition.items:
                options = self._alternatives(part, resolve, record)
                product = [list(alt) for alt in _simplify([a + b for a in product for b in options])]
                if len(product) > MAX_ALTERNATIVES:
                    raise ConditionError(
                        f"the condition unfolds into more than {MAX_ALTERNATIVES} alternatives; "
                        "split the rule into simpler rules"
                    )
            return product
        if isinstance(condition, Some):
            found: list[list[Test]] = []
            for position in range(self.record_lists[condition.list_path].max_items):
                found.extend(
                    self._alternatives(condition.condition, resolve, (condition.list_path, position))
                )
            return found
        return self._atom(condition, resolve, record)

    def _atom(self, atom: Atom, resolve: dict[str, str], record: tuple[str, int] | None) -> list[list[Test]]:
        if record is not None:
            list_path, position = record
            field = self.record_lists[list_path].item_fields[atom.path]
            self.used_items.setdefault(list_path, set()).add(atom.path)
            key = self.keys.item(list_path, position, atom.path)
        elif atom.path in resolve:
            self.used_counts.add(resolve[atom.path])
            key = self.keys.count(resolve[atom.path])
            field = FactField(atom.path, "int", "", minimum=0)
        else:
            field = self.fields[atom.path]
            if field.kind == "codes" and atom.test == "has":
                self.used_codes.setdefault(atom.path, set()).add(atom.value)
                return [[(self.keys.code(atom.path, atom.value), "==", 1)]]
            self.used_fields.add(atom.path)
            key = self.keys.field(atom.path)
        return _tests(key, field, atom)


def _tests(key: str, field: FactField, atom: Atom) -> list[list[Test]]:
    test, value = atom.test, atom.value
    if test == "unknown":
        return [[(key, "==", UNKNOWN)]]
    if test == "known":
        return [[(key, "!=", UNKNOWN)]]
    if field.kind == "bool":
        bool_tests = {"true": ("==", 1), "false": ("==", 0), "not_true": ("!=", 1), "not_false": ("!=", 0)}
        operator, code = bool_tests[test]
        return [[(key, operator, code)]]
    if field.kind == "enum" and test == "in":
        codes = sorted({field.values.index(v) for v in value})
        if len(codes) == 1:
            return [[(key, "==", codes[0])]]
        others = [i for i in range(len(field.values)) if i not in codes]
        if len(others) + 1 < len(codes):  # one alternative: known and none of the others
            return [[(key, "!=", UNKNOWN), *((key, "!=", i) for i in others)]]
        return [[(key, "==", code)] for code in codes]
    if field.kind != "int" or test not in ("eq", "ge", "gt", "le", "lt"):
        raise ConditionError(f"`{atom.path}`: the engine has no test for `{test}` on {field.kind} facts")
    if field.minimum is None or field.minimum < 0:
        raise ConditionError(f"`{atom.path}` may be negative; the engine encoding needs numbers from 0")
    operator = {"eq": "==", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}[test]
    if test in ("le", "lt"):  # -1 (not known) is below every bound
        return [[(key, "!=", UNKNOWN), (key, operator, value)]]
    return [[(key, operator, value)]]


def _holds_together(tests: frozenset[Test]) -> bool:
    """False when two tests on one key can never both hold (a cheap, sound check)."""
    equal: dict[str, Any] = {}
    for key, operator, value in tests:
        if operator == "==":
            if key in equal and equal[key] != value:
                return False
            equal[key] = value
    for key, operator, value in tests:
        if key in equal and operator != "==":
            held = equal[key]
            if not {
                "!=": held != value,
                ">=": held >= value,
                ">": held > value,
                "<=": held <= value,
                "<": held < value,
            }[operator]:
                return False
    return True


def _simplify(alternatives: list[list[Test]]) -> list[Alternative]:
    """Duplicate tests merged, impossible alternatives dropped, and any alternative implied by
    another (a superset of its tests) dropped: the rule fires all the same."""
    unique: dict[frozenset[Test], None] = {}
    for alternative in alternatives:
        tests = frozenset(alternative)
        if _holds_together(tests):
            unique[tests] = None
    kept: list[frozenset[Test]] = []
    for tests in sorted(unique, key=len):
        if not any(other <= tests for other in kept):
            kept.append(tests)
    return [tuple(sorted(tests, key=_test_order)) for tests in kept]


def _test_order(test: Test) -> tuple[int, bool, str, str, str]:
    key, operator, value = test
    return (_SELECTIVITY[operator], key.startswith("l"), key, operator, repr(value))


def durable_expression(alternative: Alternative) -> dict[str, Any]:
    tests: list[dict[str, Any]] = [
        {key: value} if operator == "==" else {_DURABLE_OPERATOR[operator]: {key: value}}
        for key, operator, value in alternative
    ]
    return tests[0] if len(tests) == 1 else {"$and": tests}


def durable_rule(alternative: Alternative) -> dict[str, Any]:
    return {"all": [{"m": durable_expression(alternative)}]}


@dataclass(frozen=True, slots=True)
class Compiled:
    """Every pack's rules for the engine, and what the engine fact must carry."""

    alternatives: tuple[tuple[Alternative, ...], ...]  # per rule, in the packs' order
    fields: tuple[str, ...]  # top-level paths tested
    codes: tuple[tuple[str, tuple[str, ...]], ...]  # codes path, codes tested with `has`
    items: tuple[tuple[str, tuple[str, ...]], ...]  # record list, item fields tested
    counts: tuple[str, ...]  # count_key of each count tested, in the order the encoder takes
    keys: dict[str, str]  # engine key -> the fact it stands for
    key_of: Keys

    def definition(self) -> dict[str, Any]:
        """The ruleset: one durable rule ``r<rule>_<alternative>`` per alternative."""
        return {
            f"r{index}_{number}": durable_rule(alternative)
            for index, alternatives in enumerate(self.alternatives)
            for number, alternative in enumerate(alternatives)
        }


def compile_packs(packs: Sequence[Pack]) -> Compiled:
    compiler = _Compiler()
    compiled_rules: list[tuple[Alternative, ...]] = []
    for pack_index, pack in enumerate(packs):
        resolve = {count.name: count_key(pack_index, count.name) for count in pack.counts}
        for rule in pack.rules:
            alternatives = compiler.alternatives(rule.condition, resolve)
            for alternative in alternatives:
                if len(alternative) > MAX_TESTS:
                    raise ConditionError(
                        f"rule {rule.id}: an alternative needs {len(alternative)} tests; the engine "
                        f"takes at most {MAX_TESTS}: split the rule"
                    )
            compiled_rules.append(tuple(alternatives))
    keys = compiler.keys
    counts = tuple(sorted(compiler.used_counts))
    for name in counts:
        keys.count(name)
    keys.check()
    vocab = vocabulary()
    return Compiled(
        alternatives=tuple(compiled_rules),
        fields=tuple(path for path in vocab.fields if path in compiler.used_fields),
        codes=tuple((path, tuple(sorted(codes))) for path, codes in sorted(compiler.used_codes.items())),
        items=tuple(
            (name, tuple(f for f in rl.item_fields if f in compiler.used_items[name]))
            for name, rl in vocab.record_lists.items()
            if compiler.used_items.get(name)
        ),
        counts=counts,
        keys=dict(sorted(keys.paths.items())),
        key_of=keys,
    )


# --- the engine fact ------------------------------------------------------------------------


def _value_table(field: FactField) -> dict[Any, str] | None:
    """The engine value of each possible value, as text; ``None`` for numbers."""
    if field.kind == "bool":
        return {True: "1", False: "0", None: str(UNKNOWN)}
    if field.kind == "enum":
        return {None: str(UNKNOWN), **{value: str(i) for i, value in enumerate(field.values)}}
    if field.kind == "codes":
        return None
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


def fact_encoder(compiled: Compiled) -> Callable[[Any, Sequence[int], str], str]:
    """``encode(facts, counts, tail) -> JSON``: the engine fact for a ``Facts`` struct.

    ``counts`` are the values of ``compiled.counts`` in that order; ``tail`` is written last
    inside the object (the session and fact ids). The function is generated once as Python
    source, so that an evaluation costs one f-string per group of facts and no dictionaries.
    """
    vocab = vocabulary()
    keys = compiled.key_of
    source = _Source()
    lines = source.lines
    lines += ["def encode(facts, counts, tail):", "    out = []"]
    groups: dict[str, list[str]] = {}
    for path in compiled.fields:
        group, _, leaf = path.partition(".")
        groups.setdefault(group, []).append(leaf)
    for group, leaves in groups.items():
        if leaves == [""]:
            part = source.value(vocab.fields[group], f"facts.{group}")
            lines.append(f"    out.append(f'\"{keys.field(group)}\":{part}')")
            continue
        paths = [f"{group}.{leaf}" for leaf in leaves]
        unknown = ",".join(f'"{keys.field(path)}":{UNKNOWN}' for path in paths)
        known = ",".join(
            f'"{keys.field(path)}":{source.value(vocab.fields[path], f"g.{leaf}")}'
            for path, leaf in zip(paths, leaves, strict=True)
        )
        lines.append(f"    g = facts.{group}")
        lines.append(f"    out.append('{unknown}' if g is None else f'{known}')")
    for path, codes in compiled.codes:
        table = f"codes_{keys.field(path)}"
        source.namespace[table] = {code: f'"{keys.code(path, code)}":1' for code in codes}
        lines += [
            f"    v = facts.{path}",
            "    if v:",
            f"        out.extend({table}[code] for code in v if code in {table})",
        ]
    for list_path, item_fields in compiled.items:
        record_list = vocab.record_lists[list_path]
        lines += [f"    v = facts.{list_path}", "    if v:"]
        for position in range(record_list.max_items):
            known = ",".join(
                f'"{keys.item(list_path, position, name)}":'
                + source.value(record_list.item_fields[name], f"r.{name}")
                for name in item_fields
            )
            lines += [
                f"        if len(v) > {position}:",
                f"            r = v[{position}]",
                f"            out.append(f'{known}')",
            ]
    for position, name in enumerate(compiled.counts):
        lines.append(f"    out.append(f'\"{keys.count(name)}\":{{counts[{position}]}}')")
    lines += ["    out.append(tail)", "    return '{' + ','.join(out) + '}'"]
    text = "\n".join(lines) + "\n"
    exec(compile(text, "<engine fact encoder>", "exec"), source.namespace)
    encode = source.namespace["encode"]
    encode.source = text
    return encode
