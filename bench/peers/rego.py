"""A pack's rules as a Rego module (``rego.v1``), generated from the pack.

``fired`` is the set of the ids of the rules that match ``input`` (the facts as the API takes
them). Each rule is one ``fired contains "<id>" if { … }``; an ``any`` becomes a helper rule
with one body per alternative (a function of the record inside ``some parents``), ``some`` an
iteration, ``every`` Rego's ``every``. Counts are values worked out once per evaluation.

A fact is read with ``object.get(…, null)``, so absent and null both read as ``null`` and
"not yes" is ``!= true``; a comparison first asks for a number (Rego orders values of any type,
so ``null < 12`` would hold).
"""

from __future__ import annotations

import json
import re
from typing import Any

from service.conditions.operators import OPERATORS
from service.conditions.tree import All, AnyOf, Atom, Condition, Every, Some, Term
from service.facts.paths import vocabulary
from service.packs.model import Pack

# Each operator as Rego literals (separated by "; "), over a value {v} and its operand {o}.
_REGO = {
    "true": "{v} == true",
    "not_true": "{v} != true",
    "false": "{v} == false",
    "not_false": "{v} != false",
    "unknown": "{v} == null",
    "known": "{v} != null",
    "in": "{v} in {o}",
    "not_in": "not {v} in {o}",
    "has": "{o} in {v}",
    "not_has": "not {o} in {v}",
    "none_recorded": "{v} == 0",
    "some_recorded": "{v} > 0",
    "ge": "is_number({v}); {v} >= {o}",
    "le": "is_number({v}); {v} <= {o}",
    "eq": "is_number({v}); {v} == {o}",
    "ne": "is_number({v}); {v} != {o}",
    "gt": "is_number({v}); {v} > {o}",
    "lt": "is_number({v}); {v} < {o}",
}
if set(_REGO) != set(OPERATORS):  # a new operator must be written here before any pack uses it
    raise TypeError(f"Rego lacks operators {sorted(set(OPERATORS) - set(_REGO))}")

QUERY_RULE = "fired"


def package_of(pack: Pack) -> str:
    """The module's package: ``guidance.harry_2019``."""
    return "guidance." + re.sub(r"[^a-z0-9_]", "_", pack.id)


def _literal(operand: Any) -> str:
    if isinstance(operand, tuple):
        return "{" + ", ".join(_literal(item) for item in operand) + "}"
    if isinstance(operand, str):
        return json.dumps(operand)
    return "null" if operand is None else str(operand)


class _Writer:
    def __init__(self, counts: frozenset[str]) -> None:
        self.counts = counts
        self.helpers: list[str] = []
        self._names = 0
        self._vars = 0

    def _name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}_{self._names}"

    def body(self, condition: Condition, record: str | None) -> list[str]:
        """The literals that hold exactly when the condition does (``record``: the variable
        holding the record the condition is read inside)."""
        if isinstance(condition, Term):
            return self.body(condition.condition, record)
        if isinstance(condition, All):
            return [literal for item in condition.items for literal in self.body(item, record)]
        if isinstance(condition, AnyOf):
            name = self._name("any")
            head = f"{name}({record})" if record else name
            for item in condition.items:
                self.helpers.append(f"{head} if {{\n\t" + "\n\t".join(self.body(item, record)) + "\n}")
            return [head]
        if isinstance(condition, (Some, Every)):
            self._vars += 1
            var = f"r{self._vars}"
            inner = self.body(condition.condition, var)
            records = f"records_{condition.list_path}"
            if isinstance(condition, Some):
                return [f"some {var} in {records}", *inner]
            return [f"every {var} in {records} {{ " + "; ".join(inner) + " }"]
        return self._atom(condition, record).split("; ")

    def _atom(self, atom: Atom, record: str | None) -> str:
        if record is not None:
            value = f'object.get({record}, "{atom.path}", null)'
        elif atom.path in self.counts:
            value = f"count_{atom.path}"
        elif atom.path in vocabulary().record_lists:
            value = f"count(records_{atom.path})"
        else:
            value = f"object.get(input, {json.dumps(atom.path.split('.'))}, null)"
        return _REGO[atom.op.name].format(v=value, o=_literal(atom.operand))


def module(pack: Pack) -> str:
    """The pack as one Rego module."""
    counts = frozenset(count.name for count in pack.counts)
    writer = _Writer(counts)
    lines = [f"package {package_of(pack)}", "", "import rego.v1", ""]
    for record_list in vocabulary().record_lists:
        lines += [
            f"records_{record_list} := r if {{",
            f'\tr := object.get(input, "{record_list}", null)',
            "\tis_array(r)",
            "} else := []",
            "",
        ]
    for count in pack.counts:
        terms = []
        for list_path, condition in count.parts:
            if list_path is None:
                name = writer._name("one")
                body = "\n\t".join(writer.body(condition, None))
                writer.helpers.append(f"{name} := 1 if {{\n\t{body}\n}} else := 0")
                terms.append(name)
            else:
                inner = "; ".join(writer.body(condition, "r0"))
                terms.append(f"count([1 | some r0 in records_{list_path}; {inner}])")
        lines += [f"count_{count.name} := sum([", *(f"\t{term}," for term in terms), "])", ""]
    for rule in pack.rules:
        body = "\n\t".join(writer.body(rule.condition, None))
        lines += [f"{QUERY_RULE} contains {json.dumps(rule.id)} if {{", f"\t{body}", "}", ""]
    lines += [*(helper + "\n" for helper in writer.helpers)]
    return "\n".join(lines).rstrip() + "\n"
