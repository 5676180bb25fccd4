"""POST /v1/evaluate: the prompts, their provenance and explanation, and "unknown is not false".

Driven against the tests' own pack (tests/fixtures/semantics-pack), whose wording no knowledge
maintainer changes; what the Harry pack shows for which facts is its own scenarios' business.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from service.packs.loader import load_packs, normalise_quote_text
from tests.conftest import SEMANTICS_PACK, prompt_ids

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
PACK = load_packs([SEMANTICS_PACK])[0]
EVERY_RULE = {
    "child": {"unborn": True},
    "parents": [{"role": "mother", "care_leaver": True, "family_support": "none", "capacity_doubt": True}],
}


@pytest.fixture
def client(make_app: Any) -> Iterator[TestClient]:
    with TestClient(make_app(knowledge_dirs=(SEMANTICS_PACK,))) as test_client:
        yield test_client


def evaluate(client: TestClient, facts: dict[str, Any], **extra: Any) -> dict[str, Any]:
    response = client.post("/v1/evaluate", json={"facts": facts, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def by_id(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {prompt["id"]: prompt for prompt in answer["prompts"]}


def rule(local_id: str) -> str:
    return f"{PACK.id}/{local_id}"


def test_the_answer_names_the_evaluation_and_the_knowledge(client: TestClient) -> None:
    response = client.post("/v1/evaluate", json={"facts": {}})
    assert response.status_code == 200
    answer = response.json()
    assert UUID.match(answer["evaluation_id"])
    assert answer["knowledge"] == [{"pack": PACK.id, "version": PACK.version, "digest": PACK.digest}]
    assert answer["prompts"] == []
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


def test_every_prompt_is_complete_and_quotes_its_learning_point_word_for_word(client: TestClient) -> None:
    answer = evaluate(client, EVERY_RULE)
    source_words = normalise_quote_text(PACK.source_text)
    learning_points = {point.number: point.quote for point in PACK.spec.learning_points}
    assert {p["learning_point"] for p in answer["prompts"]} == set(learning_points)
    for prompt in answer["prompts"]:
        assert prompt["id"].startswith(f"{PACK.id}/")
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
    answer = evaluate(client, EVERY_RULE)
    order = {"critical": 0, "warning": 1, "info": 2}
    keys = [(order[p["indicator"]], p["learning_point"], p["id"]) for p in answer["prompts"]]
    assert keys == sorted(keys)
    assert [p["indicator"] for p in answer["prompts"]] == ["critical", "warning", "warning", "info"]


def test_the_same_facts_give_the_same_prompts_every_time(client: TestClient) -> None:
    answers = [evaluate(client, EVERY_RULE) for _ in range(5)]
    assert all(a["prompts"] == answers[0]["prompts"] for a in answers)
    assert len({a["evaluation_id"] for a in answers}) == 5


# --- Unknown is not false -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("facts", "local_id", "shown"),
    [
        # "not true" conditions fire for false and for unknown alike
        ({"child": {"unborn": True}}, "check-not-yet-done", True),
        (
            {"child": {"unborn": True}, "pre_birth": {"risk_assessment_completed": None}},
            "check-not-yet-done",
            True,
        ),
        (
            {"child": {"unborn": True}, "pre_birth": {"risk_assessment_completed": False}},
            "check-not-yet-done",
            True,
        ),
        (
            {"child": {"unborn": True}, "pre_birth": {"risk_assessment_completed": True}},
            "check-not-yet-done",
            False,
        ),
        # a fact that must be true never fires when it is unknown
        ({"pre_birth": {"risk_assessment_completed": False}}, "check-not-yet-done", False),
        (
            {"child": {"unborn": None}, "pre_birth": {"risk_assessment_completed": False}},
            "check-not-yet-done",
            False,
        ),
        # a comparison never holds for an unknown number
        ({"child": {"age_months": None}}, "inform-young-child", False),
        ({"child": {"age_months": 11}}, "inform-young-child", True),
        # "is unknown" asks about what is unknown: a "no" answer is an answer
        (
            {
                "child": {"unborn": True},
                "parents": [{"attended_special_school": False, "childhood_camhs_contact": False}],
            },
            "ask-open-schooling",
            False,
        ),
        (
            {
                "child": {"unborn": True},
                "parents": [{"attended_special_school": False, "childhood_camhs_contact": None}],
            },
            "ask-open-schooling",
            True,
        ),
        # an unknown factor is not counted as present, nor treated as absent evidence
        ({"parents": [{"care_leaver": None, "family_support": "none"}]}, "consider-combined-factors", False),
        ({"parents": [{"care_leaver": True, "family_support": "none"}]}, "consider-combined-factors", True),
    ],
)
def test_unknown_is_not_false(client: TestClient, facts: dict, local_id: str, shown: bool) -> None:
    assert (rule(local_id) in prompt_ids(evaluate(client, facts))) is shown


def test_because_records_an_unknown_fact_as_null(client: TestClient) -> None:
    answer = evaluate(client, {"child": {"unborn": True}})
    because = by_id(answer)[rule("check-not-yet-done")]["because"]
    assert because == [
        {"path": "child.unborn", "value": True},
        {"path": "pre_birth.risk_assessment_completed", "value": None},
    ]


# --- Several parents ------------------------------------------------------------------------


def test_two_parents_the_prompt_names_each_parent_and_only_their_open_questions(client: TestClient) -> None:
    answer = evaluate(
        client,
        {
            "child": {"child_protection_plan": True},
            "parents": [
                {"role": "mother", "attended_special_school": True},
                {"role": "father", "attended_special_school": False, "childhood_camhs_contact": False},
            ],
        },
    )
    prompt = by_id(answer)[rule("ask-open-schooling")]
    assert prompt["reason"] == (
        "These questions are still open: the mother (had contact with Child and Adolescent Mental Health "
        "Services as a child: not recorded)."
    )
    assert {"path": "parents[0].childhood_camhs_contact", "value": None} in prompt["because"]
    assert not any(fact["path"].startswith("parents[1]") for fact in prompt["because"])


def test_three_parents_a_count_adds_up_across_all_of_them(client: TestClient) -> None:
    facts: dict[str, Any] = {
        "parents": [
            {"role": "mother", "family_support": "adequate"},
            {"role": "father", "care_leaver": False},
            {"role": "carer", "care_leaver": True},
        ],
    }
    assert rule("consider-combined-factors") not in prompt_ids(evaluate(client, facts))
    facts["parents"][0]["family_support"] = "none"
    prompt = by_id(evaluate(client, facts))[rule("consider-combined-factors")]
    assert {"path": "factors", "value": 2} in prompt["because"]
    assert {"path": "parents[0].family_support", "value": "none"} in prompt["because"]
    assert {"path": "parents[2].care_leaver", "value": True} in prompt["because"]
    assert not any(fact["path"].startswith("parents[1]") for fact in prompt["because"])


def test_a_parent_is_named_by_role_and_by_place_when_two_share_a_role(client: TestClient) -> None:
    answer = evaluate(
        client,
        {
            "parents": [
                {"role": "mother", "capacity_doubt": False},
                {"role": "carer", "capacity_doubt": True, "capacity_formally_assessed": True},
                {"role": "carer", "capacity_doubt": True},
                {"capacity_doubt": True},
            ],
        },
    )
    reason = by_id(answer)[rule("doubt-named-parent")]["reason"]
    assert reason.startswith("Capacity in doubt, not formally assessed: the carer (parent 3) (")
    assert reason.endswith(
        " and parent 4 (there are reasons to doubt this parent's mental capacity: yes; a formal Mental "
        "Capacity Act 2005 assessment has been done for that decision: not recorded)."
    )
    assert "parent 2" not in reason


# --- Deployment configuration -------------------------------------------------------------------


def test_a_link_left_to_the_deployment_is_its_own_procedure(make_app: Any) -> None:
    facts = {"child": {"age_months": 3}}
    with TestClient(make_app(knowledge_dirs=(SEMANTICS_PACK,))) as client:
        prompt = by_id(evaluate(client, facts))[rule("inform-young-child")]
        assert prompt["links"] == [{"label": "National guidance", "url": "https://guidance.example/national"}]
    url = "https://partnership.example/procedures/local"
    with TestClient(
        make_app(knowledge_dirs=(SEMANTICS_PACK,), link_settings={"local_procedure": url})
    ) as client:
        prompt = by_id(evaluate(client, facts))[rule("inform-young-child")]
        assert prompt["links"] == [
            {"label": "Local procedure", "url": url},
            {"label": "National guidance", "url": "https://guidance.example/national"},
        ]
