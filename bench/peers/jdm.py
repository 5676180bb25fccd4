"""A pack's rules as GoRules JDM (JSON Decision Model), for zen-engine, generated from the pack.

The decision is input → an expression node that works out the pack's counts (kept beside the
facts under ``derived``) → one decision table, hit policy *collect*, one row per rule: the row's
one cell is the rule's condition written in the ZEN expression language, its output the rule's
id → output. Evaluated, the decision answers ``[{"rule": id}, …]`` for the rules that match.

Each atom is written from its operator's meaning in the operator table, with "not known"
kept apart from "no": a fact that is absent or null is ``null`` in ZEN, so "not yes" is
``!= true`` and a comparison first asks for a value (ZEN refuses to compare ``null``).
"""

from __future__ import annotations

import itertools
import json
from typing import Any

from service.conditions.operators import OPERATORS
from service.conditions.tree import All, AnyOf, Atom, Condition, Every, Some, Term
from service.facts.paths import vocabulary
from service.packs.model import Pack

DERIVED = "derived"  # where the counts are kept, beside the facts

# Each operator as ZEN, over a value written {v} and its operand {o}.
_ZEN = {
    "true": "{v} == true",
    "not_true": "{v} != true",
    "false": "{v} == false",
    "not_false": "{v} != false",
    "unknown": "{v} == null",
    "known": "{v} != null",
    "in": "{v} in {o}",
    "not_in": "not ({v} in {o})",
    "has": "contains({v} ?? [], {o})",
    "not_has": "not contains({v} ?? [], {o})",
    "none_recorded": "{v} == 0",
    "some_recorded": "{v} > 0",
    "ge": "{v} != null and {v} >= {o}",
    "le": "{v} != null and {v} <= {o}",
    "eq": "{v} != null and {v} == {o}",
    "ne": "{v} != null and {v} != {o}",
    "gt": "{v} != null and {v} > {o}",
    "lt": "{v} != null and {v} < {o}",
}
if set(_ZEN) != set(OPERATORS):  # a new operator must be written here before any pack uses it
    raise TypeError(f"ZEN lacks operators {sorted(set(OPERATORS) - set(_ZEN))}")


def _literal(operand: Any) -> str:
    if isinstance(operand, tuple):
        return "[" + ", ".join(_literal(item) for item in operand) + "]"
    if isinstance(operand, str):
        return "'" + operand.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return "null" if operand is None else str(operand)


def expression(condition: Condition, counts: frozenset[str], in_record: bool = False) -> str:
    """The condition as one ZEN expression; ``counts`` are the names of the pack's counts."""
    if isinstance(condition, Term):
        return expression(condition.condition, counts, in_record)
    if isinstance(condition, All):
        return " and ".join(f"({expression(c, counts, in_record)})" for c in condition.items)
    if isinstance(condition, AnyOf):
        return " or ".join(f"({expression(c, counts, in_record)})" for c in condition.items)
    if isinstance(condition, Some):
        return f"some({condition.list_path} ?? [], {expression(condition.condition, counts, True)})"
    if isinstance(condition, Every):
        return f"all({condition.list_path} ?? [], {expression(condition.condition, counts, True)})"
    return _atom(condition, counts, in_record)


def _atom(atom: Atom, counts: frozenset[str], in_record: bool) -> str:
    if in_record:
        value = f"#.{atom.path}"
    elif atom.path in counts:
        value = f"{DERIVED}.{atom.path}"
    elif atom.path in vocabulary().record_lists:
        value = f"len({atom.path} ?? [])"
    else:
        value = atom.path
    return _ZEN[atom.op.name].format(v=value, o=_literal(atom.operand))


def _count(parts: tuple[tuple[str | None, Condition], ...], counts: frozenset[str]) -> str:
    terms = [
        f"(({expression(condition, counts)}) ? 1 : 0)"
        if list_path is None
        else f"count({list_path} ?? [], {expression(condition, counts, True)})"
        for list_path, condition in parts
    ]
    return " + ".join(terms) or "0"


def _node(node_id: str, kind: str, content: dict[str, Any] | None = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "type": kind, "name": node_id, "position": {"x": 0, "y": 0}}
    if content is not None:
        node["content"] = content
    return node


def decision(pack: Pack) -> dict[str, Any]:
    """The pack as a JDM document: counts, then a *collect* table of its rules."""
    counts = frozenset(count.name for count in pack.counts)
    expressions = [
        {"id": f"count-{n}", "key": f"{DERIVED}.{count.name}", "value": _count(count.parts, counts)}
        for n, count in enumerate(pack.counts)
    ]
    rows = [
        {"_id": f"rule-{n}", "when": expression(rule.condition, counts), "rule": _literal(rule.id)}
        for n, rule in enumerate(pack.rules)
    ]
    nodes = [
        _node("request", "inputNode"),
        _node(
            "counts",
            "expressionNode",
            {"expressions": expressions, "passThrough": True, "inputField": None, "outputPath": None},
        ),
        _node(
            "rules",
            "decisionTableNode",
            {
                "hitPolicy": "collect",
                "inputs": [{"id": "when", "name": "when", "field": ""}],  # no field: a whole expression
                "outputs": [{"id": "rule", "name": "rule", "field": "rule"}],
                "rules": rows,
                "passThrough": False,
                "inputField": None,
                "outputPath": None,
            },
        ),
        _node("response", "outputNode"),
    ]
    chain = ["request", "counts", "rules", "response"]
    edges = [
        {"id": f"edge-{n}", "sourceId": source, "targetId": target, "type": "edge"}
        for n, (source, target) in enumerate(itertools.pairwise(chain))
    ]
    return {"contentType": "application/vnd.gorules.decision", "nodes": nodes, "edges": edges}


def decision_text(pack: Pack) -> str:
    return json.dumps(decision(pack), indent=2) + "\n"
