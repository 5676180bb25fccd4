"""POST /v1/evaluate: the prompts, their provenance and explanation, and "unknown is not false"."""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import TestClient

from service.facts.examples import HARRY_PRE_BIRTH
from service.packs.loader import load_packs, normalise_quote_text
from tests.conftest import HARRY, KNOWLEDGE, prompt_ids

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
HARRY_PACK = next(p for p in load_packs([KNOWLEDGE]) if p.id == HARRY)


def evaluate(client: TestClient, facts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/evaluate", json={"facts": facts, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {prompt["id"]: prompt for prompt in answer["prompts"]}


def lp(rule: str) -> str:
    return f"{HARRY}/{rule}"


def test_the_answer_names_the_evaluation_and_the_knowledge(client: TestClient) -> None:
    response = client.post("/v1/evaluate", json={"facts": {}})
    assert response.status_code == 200
    answer = response.json()
    assert UUID.match(answer["evaluation_id"])
    assert answer["knowledge"] == [
        {"pack": HARRY, "version": HARRY_PACK.version, "digest": HARRY_PACK.digest}
    ]
    assert answer["prompts"] == []
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_every_prompt_is_complete_and_quotes_its_learning_point_word_for_word(client: TestClient) -> None:
    answer = evaluate(
        client,
        {
            **HARRY_PRE_BIRTH,
            "health_procedure": {"serious_procedure_proposed": True, "parents_deciding": True},
            "professional_disagreement": {"disagrees_with_decision": True, "remains_concerned": True},
            "parents": [{**HARRY_PRE_BIRTH["parents"][0], "capacity_doubt": True}],
            "important_decision_pending": True,
        },
    )
    source_words = normalise_quote_text(HARRY_PACK.source_text)
    learning_points = {point.number: point.quote for point in HARRY_PACK.spec.learning_points}
    assert {p["learning_point"] for p in answer["prompts"]} == set(range(1, 8))
    for prompt in answer["prompts"]:
        assert prompt["id"].startswith(f"{HARRY}/")
        assert prompt["kind"] in {"ask", "check", "consider", "escalate", "inform"}
        assert prompt["indicator"] in {"info", "warning", "critical"}
        assert 0 < len(prompt["summary"]) <= 140
        assert prompt["detail"] and prompt["reason"]
        assert "{records}" not in prompt["reason"] + prompt["detail"]
        source = prompt["source"]
        assert source["learning_point"] == prompt["learning_point"]
        assert source["quote"] == learning_points[prompt["learning_point"]]
        assert normalise_quote_text(source["quote"]) in source_words
        assert prompt["because"], prompt["id"]
        for fact in prompt["because"]:
            assert isinstance(fact["value"], (bool, int, str, type(None)))


def test_prompts_are_ordered_by_indicator_then_learning_point_then_id(client: TestClient) -> None:
    answer = evaluate(
        client,
        {
            **HARRY_PRE_BIRTH,
            "professional_disagreement": {"disagrees_with_decision": True, "remains_concerned": True},
        },
    )
    order = {"critical": 0, "warning": 1, "info": 2}
    keys = [(order[p["indicator"]], p["learning_point"], p["id"]) for p in answer["prompts"]]
    assert keys == sorted(keys)
    assert [p["indicator"] for p in answer["prompts"]][:3] == ["warning"] * 3


def test_the_same_facts_give_the_same_prompts_every_time(client: TestClient) -> None:
    answers = [evaluate(client, HARRY_PRE_BIRTH) for _ in range(5)]
    assert all(a["prompts"] == answers[0]["prompts"] for a in answers)
    assert len({a["evaluation_id"] for a in answers}) == 5


# --- Unknown is not false -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "rule", "shown"),
    [
        # "not true" conditions fire for false and for unknown alike
        ({"health_procedure": {"serious_procedure_proposed": True}}, "lp1-inform-local-professionals", True),
        (
            {"health_procedure": {"serious_procedure_proposed": True, "local_professionals_informed": None}},
            "lp1-inform-local-professionals",
            True,
        ),
        (
            {"health_procedure": {"serious_procedure_proposed": True, "local_professionals_informed": False}},
            "lp1-inform-local-professionals",
            True,
        ),
        (
            {"health_procedure": {"serious_procedure_proposed": True, "local_professionals_informed": True}},
            "lp1-inform-local-professionals",
            False,
        ),
        # a fact that must be true never fires when it is unknown
        (
            {"health_procedure": {"local_professionals_informed": False}},
            "lp1-inform-local-professionals",
            False,
        ),
        (
            {"health_procedure": {"serious_procedure_proposed": None, "local_professionals_informed": False}},
            "lp1-inform-local-professionals",
            False,
        ),
        # LP4 asks only about what is unknown: a "no" answer is an answer
        (
            {
                "child": {"unborn": True},
                "parents": [
                    {
                        "role": "mother",
                        "attended_special_school": False,
                        "additional_help_at_school": False,
                        "childhood_medication": False,
                        "childhood_camhs_contact": False,
                    }
                ],
            },
            "lp4-ask-parent-childhood",
            False,
        ),
        (
            {
                "child": {"unborn": True},
                "parents": [
                    {
                        "role": "mother",
                        "attended_special_school": False,
                        "additional_help_at_school": False,
                        "childhood_medication": False,
                        "childhood_camhs_contact": None,
                    }
                ],
            },
            "lp4-ask-parent-childhood",
            True,
        ),
        # an unknown risk indicator is not counted as present, nor treated as absent evidence
        (
            {"child": {"unborn": True}, "parents": [{"care_leaver": None}]},
            "lp6-pre-birth-risk-assessment",
            False,
        ),
        (
            {"child": {"unborn": True}, "parents": [{"care_leaver": True}]},
            "lp6-pre-birth-risk-assessment",
            True,
        ),
    ],
)
def test_unknown_is_not_false(client: TestClient, facts: dict, rule: str, shown: bool) -> None:
    assert (lp(rule) in prompt_ids(evaluate(client, facts))) is shown


def test_because_records_an_unknown_fact_as_null(client: TestClient) -> None:
    answer = evaluate(client, {"health_procedure": {"serious_procedure_proposed": True}})
    because = by_id(answer)[lp("lp1-inform-local-professionals")]["because"]
    assert because == [
        {"path": "health_procedure.serious_procedure_proposed", "value": True},
        {"path": "health_procedure.local_professionals_informed", "value": None},
    ]


# --- Several parents ------------------------------------------------------------------------


def test_two_parents_lp4_names_each_parent_and_only_their_open_questions(client: TestClient) -> None:
    answer = evaluate(
        client,
        {
            "child": {"child_protection_plan": True},
            "parents": [
                {
                    "role": "mother",
                    "attended_special_school": True,
                    "additional_help_at_school": False,
                    "childhood_medication": False,
                },
                {
                    "role": "father",
                    "attended_special_school": False,
                    "additional_help_at_school": False,
                    "childhood_medication": False,
                    "childhood_camhs_contact": False,
                },
            ],
        },
    )
    prompt = by_id(answer)[lp("lp4-ask-parent-childhood")]
    assert "the mother (had contact with Child and Adolescent Mental Health Services" in prompt["reason"]
    assert "father" not in prompt["reason"]
    assert "special school" not in prompt["reason"]
    assert {"path": "parents[0].childhood_camhs_contact", "value": None} in prompt["because"]
    assert not any(fact["path"].startswith("parents[1]") for fact in prompt["because"])


def test_three_parents_risk_indicators_are_counted_across_all_of_them(client: TestClient) -> None:
    facts = {
        "child": {"unborn": True},
        "parents": [
            {"role": "mother", "family_support": "adequate"},
            {"role": "father", "care_leaver": False},
            {"role": "carer", "mental_health_history": True},
        ],
    }
    first = prompt_ids(evaluate(client, facts))
    assert lp("lp6-pre-birth-risk-assessment") in first
    assert lp("lp6-request-pre-birth-social-work-assessment") not in first

    facts["parents"][0]["family_support"] = "none"
    answer = evaluate(client, facts)
    prompt = by_id(answer)[lp("lp6-request-pre-birth-social-work-assessment")]
    assert {"path": "risk_indicators", "value": 2} in prompt["because"]
    assert {"path": "parents[0].family_support", "value": "none"} in prompt["because"]
    assert {"path": "parents[2].mental_health_history", "value": True} in prompt["because"]


def test_capacity_doubt_for_one_of_three_parents_names_that_parent(client: TestClient) -> None:
    answer = evaluate(
        client,
        {
            "parents": [
                {"role": "mother", "capacity_doubt": False},
                {"role": "carer", "capacity_doubt": True, "capacity_formally_assessed": True},
                {"role": "carer", "capacity_doubt": True},
            ],
            "health_procedure": {"parents_deciding": True},
        },
    )
    prompt = by_id(answer)[lp("lp7-capacity-assessment")]
    assert "the carer (parent 3)" in prompt["reason"]
    assert "parent 2" not in prompt["reason"]
    assert "decision-specific" in prompt["detail"]


# --- The Harry timeline -----------------------------------------------------------------------


def test_harry_timeline_each_prompt_disappears_once_its_action_is_recorded(client: TestClient) -> None:
    # Pre-birth: the midwife completes the cause-for-concern form without what she learned.
    facts: dict[str, Any] = {
        "child": {"unborn": True},
        "parents": [dict(p) for p in HARRY_PRE_BIRTH["parents"]],
        "cause_for_concern": dict(HARRY_PRE_BIRTH["cause_for_concern"]),
    }
    shown = prompt_ids(evaluate(client, facts))
    assert lp("lp2-include-agency-information") in shown
    assert lp("lp6-request-pre-birth-social-work-assessment") in shown
    assert lp("lp6-pre-birth-risk-assessment") in shown
    assert lp("lp5-apparent-ability") in shown
    assert lp("lp4-ask-parent-childhood") in shown

    facts["cause_for_concern"]["information_from_other_agencies_included"] = True
    shown = prompt_ids(evaluate(client, facts))
    assert lp("lp2-include-agency-information") not in shown
    assert lp("lp2-share-all-known") in shown

    facts["pre_birth"] = {"social_work_assessment_requested": True}
    shown = prompt_ids(evaluate(client, facts))
    assert lp("lp6-request-pre-birth-social-work-assessment") not in shown
    facts["pre_birth"]["risk_assessment_completed"] = True
    assert lp("lp6-pre-birth-risk-assessment") not in prompt_ids(evaluate(client, facts))

    # Born; a practitioner disagrees with a decision and remains concerned.
    facts = {
        "child": {"unborn": False, "age_months": 2},
        "parents": facts["parents"],
        "professional_disagreement": {"disagrees_with_decision": True, "remains_concerned": True},
    }
    assert lp("lp3-escalate-disagreement") in prompt_ids(evaluate(client, facts))
    facts["professional_disagreement"]["escalated"] = True
    assert lp("lp3-escalate-disagreement") not in prompt_ids(evaluate(client, facts))

    # Three months: a child protection plan, and the parents must decide about an operation.
    facts = {
        "child": {"age_months": 3, "child_protection_plan": True},
        "parents": [{**p, "capacity_doubt": p["role"] == "mother"} for p in facts["parents"]],
        "health_procedure": {"serious_procedure_proposed": True, "parents_deciding": True},
        "important_decision_pending": True,
    }
    shown = prompt_ids(evaluate(client, facts))
    for rule in ("lp1-decision-support", "lp1-inform-local-professionals", "lp7-capacity-assessment"):
        assert lp(rule) in shown
    facts["health_procedure"]["parents_offered_support"] = True
    assert lp("lp1-decision-support") not in prompt_ids(evaluate(client, facts))
    facts["health_procedure"]["local_professionals_informed"] = True
    assert lp("lp1-inform-local-professionals") not in prompt_ids(evaluate(client, facts))
    facts["parents"][0]["capacity_formally_assessed"] = True
    shown = prompt_ids(evaluate(client, facts))
    assert lp("lp7-capacity-assessment") not in shown
    for parent in facts["parents"]:
        parent.update(
            attended_special_school=False,
            additional_help_at_school=False,
            childhood_medication=False,
            childhood_camhs_contact=False,
        )
    assert prompt_ids(evaluate(client, facts)) == [lp("lp5-apparent-ability")]


# --- Deployment configuration -------------------------------------------------------------------


def test_the_escalation_link_is_the_deployments_own_procedure(make_app) -> None:
    facts = {"professional_disagreement": {"disagrees_with_decision": True, "remains_concerned": True}}
    with TestClient(make_app()) as client:
        prompt = by_id(evaluate(client, facts))[lp("lp3-escalate-disagreement")]
        assert "links" not in prompt
    url = "https://partnership.example/procedures/resolving-professional-disagreements"
    with TestClient(make_app(link_settings={"escalation_procedure": url})) as client:
        prompt = by_id(evaluate(client, facts))[lp("lp3-escalate-disagreement")]
        assert prompt["links"] == [
            {"label": "Local procedure for resolving professional disagreements", "url": url}
        ]
