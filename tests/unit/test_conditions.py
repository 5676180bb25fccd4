"""Reading pack conditions, and what they mean when facts are unknown."""

from __future__ import annotations

import pytest

from service.conditions import parse as parsing
from service.conditions import reference, tree, words

LISTS = {"parents"}


def parse(data: object, terms: dict | None = None) -> tree.Condition:
    return parsing.parse(data, terms or {}, LISTS)


@pytest.mark.parametrize(
    ("text", "atom"),
    [
        ("child.unborn", tree.atom("child.unborn", "true")),
        ("not child.unborn", tree.atom("child.unborn", "not_true")),
        ("child.unborn is false", tree.atom("child.unborn", "false")),
        ("child.unborn is not false", tree.atom("child.unborn", "not_false")),
        ("child.unborn is unknown", tree.atom("child.unborn", "unknown")),
        ("child.unborn  is   known", tree.atom("child.unborn", "known")),
        ("family_support in [none, limited]", tree.atom("family_support", "in", ("none", "limited"))),
        ("risk_indicators >= 2", tree.atom("risk_indicators", "ge", 2)),
        ("child.age_months < 12", tree.atom("child.age_months", "lt", 12)),
        ("assessment_factors has 4B", tree.atom("assessment_factors", "has", "4B")),
    ],
)
def test_atoms_read_as_written(text: str, atom: tree.Atom) -> None:
    assert parsing.parse_atom(text) == atom


@pytest.mark.parametrize("text", ["child unborn", "x >= many", "Child.Unborn", "a in []", ""])
def test_unreadable_atoms_say_what_to_write(text: str) -> None:
    with pytest.raises(tree.ConditionError, match=r"write|value"):
        parsing.parse_atom(text)


def test_not_of_a_compound_keeps_unknown_distinct_from_false() -> None:
    condition = parse({"not": {"all": ["a.x", "not a.y"]}})
    assert condition == tree.AnyOf((tree.atom("a.x", "not_true"), tree.atom("a.y", "true")))
    # a.x unknown: "not (a.x and …)" holds, because a.x is not known to be true
    assert reference.holds(condition, {}, {})
    assert not reference.holds(condition, {"a": {"x": True, "y": False}}, {})


def test_not_of_a_comparison_includes_unknown() -> None:
    condition = parse({"not": "child.age_months >= 12"})
    assert reference.holds(condition, {}, {})
    assert reference.holds(condition, {"child": {"age_months": 3}}, {})
    assert not reference.holds(condition, {"child": {"age_months": 12}}, {})


def test_some_over_records_and_the_facts_that_explain_it() -> None:
    condition = parse({"some parents": {"any": ["care_leaver", "family_support in [none]"]}})
    facts = {"parents": [{"care_leaver": False}, {"care_leaver": True, "family_support": "none"}]}
    assert reference.explain(condition, facts, {}) == [
        ("parents[1].care_leaver", True),
        ("parents[1].family_support", "none"),
    ]
    assert reference.explain(condition, {"parents": [{}]}, {}) is None
    assert reference.explain(condition, {}, {}) is None


def test_terms_are_reused_by_name_and_described_by_name() -> None:
    terms = {"active_case": parse({"any": ["child.unborn", "child.child_protection_plan"]})}
    condition = parse({"all": ["active_case", "not x.y"]}, terms)
    assert words.describe(condition) == "active case and x.y is not yes (no or unknown)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (["a.b"], "a list needs a key"),
        ({"all": []}, "at least one condition"),
        ({"some cousins": "a"}, "names no list of records"),
        ({"some parents": {"some parents": "a"}}, "cannot stand inside"),
        ({"no parents": {"every parents": "care_leaver"}}, "cannot stand inside"),
        ({"every cousins": "a"}, "names no list of records"),
        ({"when": "a.b"}, "unknown key"),
    ],
)
def test_malformed_conditions_are_explained(data: object, message: str) -> None:
    with pytest.raises(tree.ConditionError, match=message):
        parse(data)


def test_not_some_is_every_not_and_no_is_its_sugar() -> None:
    no = parse({"no parents": "care_leaver"})
    assert no == parse({"not": {"some parents": "care_leaver"}})
    assert no == tree.Every("parents", tree.atom("care_leaver", "not_true"))
    assert parse({"not": {"every parents": "care_leaver"}}) == tree.Some(
        "parents", tree.atom("care_leaver", "not_true")
    )


def test_every_record_holds_when_none_is_recorded_and_unknown_is_not_no() -> None:
    every = parse({"every parents": "care_leaver is false"})
    assert reference.holds(every, {}, {})
    assert reference.holds(every, {"parents": []}, {})
    assert reference.holds(every, {"parents": [{"care_leaver": False}]}, {})
    assert not reference.holds(every, {"parents": [{"care_leaver": False}, {}]}, {})
    no = parse({"no parents": "care_leaver"})
    assert reference.holds(no, {"parents": [{"care_leaver": False}, {}]}, {})
    assert not reference.holds(no, {"parents": [{"care_leaver": True}]}, {})


def test_a_record_list_is_read_as_how_many_are_recorded() -> None:
    none = parse("no parents recorded")
    assert reference.explain(none, {}, {}) == [("parents", 0)]
    assert reference.holds(none, {"parents": []}, {})
    assert not reference.holds(none, {"parents": [{}]}, {})
    assert parse({"not": "no parents recorded"}) == parse("some parents recorded")
    assert words.describe(none) == "no parents recorded"
