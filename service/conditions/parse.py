"""Reading a condition written as data in a pack (``rules.yaml``, ``pack.yaml``)::

    all:
      - child.unborn                                    # is yes
      - risk_indicators >= 2                            # a count the pack declares
      - not pre_birth.social_work_assessment_requested  # no, or not known
      - some parents:
          any: [care_leaver, family_support in [none, limited]]
      - no parents: capacity_doubt                     # every parent's is no or not known
      - not no parents recorded                        # a record list: how many are recorded

Atoms are strings in the written forms of the operator table.
"""

from __future__ import annotations

from typing import Any

from service.conditions.operators import OPERATORS, operand_of
from service.conditions.tree import All, AnyOf, Atom, Condition, ConditionError, Every, Some, Term, negate


def parse_atom(text: str) -> Atom:
    """One atom in any of the operator table's written forms."""
    text = " ".join(text.split())
    for operator in OPERATORS.values():
        match = operator.pattern.match(text)
        if match:
            operand = operand_of(operator, match.groupdict().get("operand"))
            if isinstance(operand, tuple) and not operand:
                raise ConditionError(f"`{text}`: list at least one value inside [ ]")
            return Atom(match.group("path"), operator, operand)
    raise ConditionError(
        f"`{text}` is not a condition; write `path`, `not path`, `path is unknown`, "
        "`path in [a, b]`, `path >= 2` or `path has CODE`"
    )


def parse(
    data: Any, terms: dict[str, Condition], record_lists: set[str], *, in_list: bool = False
) -> Condition:
    """Read a condition written as data; ``terms`` are the pack's named conditions."""
    if isinstance(data, str):
        name = data.strip()
        if name in terms and not in_list:
            return Term(name, terms[name])
        if name.startswith("not ") and name[4:].strip() in terms and not in_list:
            return negate(Term(name[4:].strip(), terms[name[4:].strip()]))
        return parse_atom(data)
    if isinstance(data, list):
        raise ConditionError("a list needs a key before it: write `all:` or `any:`")
    if not isinstance(data, dict) or len(data) != 1:
        raise ConditionError("write one of `all:`, `any:`, `not:` or `some <list>:` with its conditions")
    ((key, body),) = data.items()
    key = str(key).strip()
    if key in ("all", "any"):
        if not isinstance(body, list) or not body:
            raise ConditionError(f"`{key}:` takes a list of at least one condition")
        items = tuple(parse(item, terms, record_lists, in_list=in_list) for item in body)
        if len(items) == 1:
            return items[0]
        return All(items) if key == "all" else AnyOf(items)
    if key == "not":
        return negate(parse(body, terms, record_lists, in_list=in_list))
    quantifier, _, list_path = key.partition(" ")
    if quantifier in ("some", "every", "no") and list_path.strip():
        list_path = list_path.strip()
        if in_list:
            raise ConditionError(f"`{quantifier} …:` cannot stand inside another `some`, `every` or `no …:`")
        if list_path not in record_lists:
            known = ", ".join(sorted(record_lists)) or "none"
            raise ConditionError(f"`{key}:` names no list of records (there are: {known})")
        if isinstance(body, list):  # a list under `some parents:` means all of them, for one parent
            body = {"all": body}
        inner = parse(body, terms, record_lists, in_list=True)
        if quantifier == "some":
            return Some(list_path, inner)
        return Every(list_path, inner if quantifier == "every" else negate(inner))
    raise ConditionError(
        f"unknown key `{key}:`; write `all:`, `any:`, `not:`, or `some`, `every` or `no <list>:`"
    )
