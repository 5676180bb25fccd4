"""A scenario's expectations judged against what was shown: rules shown or not, facts cited."""

from __future__ import annotations

from service.checking.scenarios import ShownPrompt, judge
from service.packs.model import CitedFactSpec, ScenarioSpec

SHOWN = {
    "ask": ShownPrompt([("parents[0].camhs", None), ("child.unborn", True)], "Ask the mother.\nDetail."),
    "check": ShownPrompt([("risk", 2)], "Check."),
}


def scenario(**expectations: object) -> ScenarioSpec:
    return ScenarioSpec(name="s", description="d", facts={}, **expectations)  # type: ignore[arg-type]


def test_rules_expected_to_show_or_not() -> None:
    outcome = judge(scenario(shows=["ask", "gone"], does_not_show=["check", "other"]), SHOWN)
    assert outcome.missing == ["gone"]
    assert outcome.unexpected == ["check"]
    assert not outcome.passed


def test_a_fact_the_prompt_must_cite() -> None:
    cited = [CitedFactSpec(path="parents[0].camhs", value=None)]
    assert judge(scenario(shows=["ask"], because={"ask": cited}), SHOWN).passed
    wrong = [CitedFactSpec(path="parents[0].camhs", value=False)]
    outcome = judge(scenario(shows=["ask"], because={"ask": wrong}), SHOWN)
    assert outcome.wrong_because == ["ask does not cite parents[0].camhs = false"]


def test_paths_under_which_the_prompt_must_cite_nothing() -> None:
    assert judge(scenario(shows=["ask"], not_because={"ask": ["parents[1]", "child.age"]}), SHOWN).passed
    outcome = judge(scenario(shows=["ask"], not_because={"ask": ["parents[0]"]}), SHOWN)
    assert outcome.wrong_because == ["ask cites parents[0].camhs, under parents[0]"]
    # a prefix is a whole step of the path: parents[0] does not cover parents[01] or child.unbornx
    assert judge(scenario(shows=["ask"], not_because={"ask": ["child.unb"]}), SHOWN).passed


def test_words_the_prompt_must_say() -> None:
    assert judge(scenario(shows=["ask"], says={"ask": ["the mother", "Detail"]}), SHOWN).passed
    outcome = judge(scenario(shows=["ask"], says={"ask": ["the father"]}), SHOWN)
    assert outcome.wrong_because == ['ask does not say "the father"']
