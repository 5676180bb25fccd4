"""CDS Hooks: discovery, a service call answered with cards, feedback; errors as OperationOutcomes.

Every card is checked against the spec's rules (CDS Hooks 2.0, with the 3.0 ballot's coded
override reasons): required fields, a summary under 140 characters, no null / "" / [] / {}
anywhere, UUIDs where the spec wants them.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.audit.summarize import summarize
from service.cds_hooks.cards import EXTENSION, HOOK
from service.cds_hooks.model import NON_ADHERENCE, OUR_REASONS
from service.facts.examples import HARRY_PRE_BIRTH
from service.settings import Settings
from tests.audit_file import audit_records
from tests.conftest import FIXTURE_PACKS, KNOWLEDGE, SEMANTICS_PACK

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REVERSE_DOMAIN = re.compile(r"^[a-z]+(\.[a-z0-9-]+)+$")


@pytest.fixture
def cds(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        knowledge_dirs=(KNOWLEDGE, FIXTURE_PACKS, SEMANTICS_PACK),
        audit_file=tmp_path / "audit.log",
        link_settings={"local_procedure": "https://partnership.example/local"},
    )
    with TestClient(create_app(settings)) as client:
        yield client


def call(client: TestClient, service: str, facts: dict[str, Any], **context: Any) -> Any:
    body = {"hook": HOOK, "hookInstance": str(uuid.uuid4()), "context": {"facts": facts, **context}}
    return client.post(f"/cds-services/{service}", json=body)


def cards_of(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return response.json()["cards"]


def empties(value: Any, where: str = "") -> list[str]:
    """Every place holding null, "", [] or {}: CDS Hooks JSON holds none of them."""
    if value is None or value == "" or value == [] or value == {}:
        return [where or "(the document)"]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in empties(item, f"{where}.{key}")]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in empties(item, f"{where}[{index}]")]
    return []


def check_card(card: dict[str, Any]) -> None:
    assert empties(card) == []
    assert UUID.match(card["uuid"])
    assert 0 < len(card["summary"]) < 140
    assert card["indicator"] in ("info", "warning", "critical")
    assert card["source"]["label"]
    topic = card["source"]["topic"]
    assert topic["system"].startswith("https://") and topic["code"]
    (suggestion,) = card["suggestions"]
    assert suggestion["label"] and UUID.match(suggestion["uuid"])
    assert card["selectionBehavior"] == "at-most-one"
    assert card["overrideReasons"]
    for reason in card["overrideReasons"]:
        assert reason["code"] and reason["display"] and reason["system"].startswith(("http://", "https://"))
    assert any(reason["system"] == NON_ADHERENCE for reason in card["overrideReasons"])
    for link in card.get("links", ()):
        assert link["label"] and link["url"].startswith("https://") and link["type"] == "absolute"
    extension = card["extension"][EXTENSION]
    assert extension["quote"] and extension["learning_point"] >= 1 and extension["reason"]
    for fact in extension.get("because", ()):
        assert "value" in fact or fact["known"] in (False, True)


def test_discovery_offers_one_service_per_loaded_pack(cds: TestClient) -> None:
    response = cds.get("/cds-services")
    assert response.status_code == 200
    services = response.json()["services"]
    assert sorted(service["id"] for service in services) == [
        "example-baby-sam-2024",
        "harry-2019",
        "semantics-test",
    ]
    for service in services:
        assert empties(service) == []
        assert service["hook"] == HOOK and REVERSE_DOMAIN.match(HOOK)
        assert service["title"] and service["description"] and service["version"]
        assert "facts" in service["usageRequirements"]


def test_a_harry_case_gets_the_same_prompts_as_cards_in_the_same_order(cds: TestClient) -> None:
    facts = {**HARRY_PRE_BIRTH, "important_decision_pending": True}
    cards = cards_of(call(cds, "harry-2019", facts, caseRef="CASE-0042"))
    rest = cds.post("/v1/evaluate", json={"facts": facts}).json()["prompts"]
    harry = [prompt for prompt in rest if prompt["id"].startswith("harry-2019/")]
    assert [f"harry-2019/{card['source']['topic']['code']}" for card in cards] == [p["id"] for p in harry]
    assert len(cards) >= 4
    for card, prompt in zip(cards, harry, strict=True):
        check_card(card)
        assert card["summary"] == prompt["summary"]
        assert card["indicator"] == prompt["indicator"]
        assert prompt["detail"] in card["detail"] and prompt["reason"] in card["detail"]
        assert card["extension"][EXTENSION]["quote"] == prompt["source"]["quote"]
    assert len({card["uuid"] for card in cards}) == len(cards)


def test_a_service_answers_from_its_own_pack_only(cds: TestClient) -> None:
    facts = {"child": {"unborn": True}, "parents": [{"care_leaver": True, "family_support": "none"}]}
    cards = cards_of(call(cds, "semantics-test", facts))
    assert {card["source"]["topic"]["system"] for card in cards} == {
        "https://safeguarding-guidance.example/packs/semantics-test"
    }
    assert [card["source"]["topic"]["code"] for card in cards] == [
        "consider-combined-factors",
        "check-not-yet-done",
        "ask-open-schooling",
    ]


def test_unknown_facts_are_written_as_not_known_never_as_null(cds: TestClient) -> None:
    (card,) = cards_of(call(cds, "semantics-test", {"child": {"unborn": True}, "pre_birth": {}}))
    assert card["extension"][EXTENSION]["because"] == [
        {"path": "child.unborn", "value": True},
        {"path": "pre_birth.risk_assessment_completed", "known": False},
    ]


def test_links_are_absolute_and_no_guidance_is_the_empty_card_list(cds: TestClient) -> None:
    (card,) = cards_of(call(cds, "semantics-test", {"child": {"age_months": 3}}))
    assert card["links"] == [
        {"label": "Local procedure", "url": "https://partnership.example/local", "type": "absolute"},
        {"label": "National guidance", "url": "https://guidance.example/national", "type": "absolute"},
    ]
    assert cards_of(call(cds, "harry-2019", {})) == []


# --- errors -------------------------------------------------------------------------------------


def outcome(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert empties(body) == []
    return body["issue"]


def test_bad_facts_are_refused_by_the_same_strict_decoder_naming_each(cds: TestClient) -> None:
    issues = outcome(call(cds, "harry-2019", {"child": {"unborn": 0}, "parents": [{"role": "uncle"}]}), 400)
    assert [issue["expression"] for issue in issues] == [
        ["context.facts.child.unborn"],
        ["context.facts.parents[0].role"],
    ]
    assert {issue["code"] for issue in issues} == {"invalid"}
    rest = cds.post(
        "/v1/evaluate", json={"facts": {"child": {"unborn": 0}, "parents": [{"role": "uncle"}]}}
    ).json()
    assert [issue["diagnostics"] for issue in issues] == [error["message"] for error in rest["errors"]]


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"hook": "patient-view", "hookInstance": str(uuid.uuid4()), "context": {"facts": {}}}, ["hook"]),
        ({"hook": HOOK, "hookInstance": "not-a-uuid", "context": {"facts": {}}}, ["hookInstance"]),
        ({"hook": HOOK, "hookInstance": str(uuid.uuid4()), "context": {}}, ["context.facts"]),
        ({"hook": HOOK, "hookInstance": str(uuid.uuid4()), "context": {"facts": {}, "x": 1}}, ["context.x"]),
        ({"hook": HOOK, "context": {"facts": {}}}, ["hookInstance"]),
    ],
)
def test_a_malformed_call_is_an_operation_outcome_naming_the_field(
    cds: TestClient, body: dict[str, Any], where: list[str]
) -> None:
    (issue,) = outcome(cds.post("/cds-services/harry-2019", json=body), 400)
    assert issue["expression"] == where


def test_an_unknown_service_and_a_body_not_sent_as_json(cds: TestClient) -> None:
    (issue,) = outcome(call(cds, "no-such-pack", {}), 404)
    assert issue["code"] == "not-found"
    (issue,) = outcome(
        cds.post("/cds-services/harry-2019", content=b"{}", headers={"content-type": "text/plain"}), 415
    )
    assert issue["code"] == "not-supported"


# --- feedback -----------------------------------------------------------------------------------


def test_feedback_is_recorded_against_its_card_and_the_comment_never(cds: TestClient, tmp_path: Path) -> None:
    cards = cards_of(call(cds, "harry-2019", HARRY_PRE_BIRTH))
    accepted, overridden = cards[0], cards[1]
    feedback = {
        "feedback": [
            {
                "card": accepted["uuid"],
                "outcome": "accepted",
                "acceptedSuggestions": [{"id": accepted["suggestions"][0]["uuid"]}],
                "outcomeTimestamp": "2026-11-26T09:30:00Z",
            },
            {
                "card": overridden["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": overridden["overrideReasons"][1], "userComment": "Zq7Comment"},
                "outcomeTimestamp": "2026-11-26T09:31:00.123Z",
            },
        ]
    }
    for _ in range(2):  # the same feedback again is harmless
        response = cds.post("/cds-services/harry-2019/feedback", json=feedback)
        assert response.status_code == 200, response.text
        assert response.content == b""
    records = audit_records(tmp_path / "audit.log")
    (evaluation,) = [r for r in records if r["event"] == "evaluation"]
    assert [fired["card"] for fired in evaluation["fired"]] == [card["uuid"] for card in cards]
    assert [pack["id"] for pack in evaluation["packs"]] == ["harry-2019"]  # the service's own pack only
    feedback_records = [r for r in records if r["event"] == "card_feedback"]
    assert [(r["card"], r["outcome"], r.get("override_reason")) for r in feedback_records] == 2 * [
        (accepted["uuid"], "accepted", None),
        (overridden["uuid"], "already_done", "already-done"),
    ]
    assert [r["comment_given"] for r in feedback_records] == [False, True, False, True]
    assert b"Zq7Comment" not in (tmp_path / "audit.log").read_bytes()
    (pack,) = summarize([tmp_path / "audit.log"])["packs"]
    counted = {rule["rule"]: rule["feedback"] for rule in pack["rules"]}
    first, second = (f"harry-2019/{card['source']['topic']['code']}" for card in (accepted, overridden))
    assert counted[first]["accepted"] == 1 and sum(counted[first].values()) == 1  # repeated: counted once
    assert counted[second]["already_done"] == 1 and sum(counted[second].values()) == 1


@pytest.mark.parametrize(
    "item",
    [
        {"card": "not-a-uuid", "outcome": "accepted", "outcomeTimestamp": "2026-11-26T09:30:00Z"},
        {"card": str(uuid.uuid4()), "outcome": "ignored", "outcomeTimestamp": "2026-11-26T09:30:00Z"},
        {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "yesterday"},
        {"card": str(uuid.uuid4()), "outcome": "accepted", "outcomeTimestamp": "2026-11-26T09:30:00Z\n"},
        {
            "card": str(uuid.uuid4()),
            "outcome": "accepted",
            "overrideReason": {"reason": {"code": "cds-not-applicable"}},
            "outcomeTimestamp": "2026-11-26T09:30:00Z",
        },
    ],
)
def test_malformed_feedback_is_refused_and_nothing_is_recorded(
    cds: TestClient, tmp_path: Path, item: dict[str, Any]
) -> None:
    before = audit_records(tmp_path / "audit.log")
    outcome(cds.post("/cds-services/harry-2019/feedback", json={"feedback": [item]}), 400)
    assert audit_records(tmp_path / "audit.log") == before


@pytest.mark.parametrize(
    "reason",
    [
        {"code": "Zq7 the family said the father has left", "system": OUR_REASONS},  # a caller's text
        {"code": "already-done", "system": "http://elsewhere.example"},  # our code, another system
        {"code": "already-done"},  # no system: not the coding offered
    ],
)
def test_an_override_reason_not_offered_is_refused_and_never_recorded(
    cds: TestClient, tmp_path: Path, reason: dict[str, str]
) -> None:
    """The reason's code goes into the audit trail: only the codings the cards offer are taken."""
    before = audit_records(tmp_path / "audit.log")
    item = {
        "card": str(uuid.uuid4()),
        "outcome": "overridden",
        "overrideReason": {"reason": reason},
        "outcomeTimestamp": "2026-11-26T09:30:00Z",
    }
    (issue,) = outcome(cds.post("/cds-services/harry-2019/feedback", json={"feedback": [item]}), 400)
    assert "overrideReason" in issue["expression"][0] and "overrideReasons" in issue["diagnostics"]
    assert audit_records(tmp_path / "audit.log") == before
    assert b"Zq7" not in (tmp_path / "audit.log").read_bytes()
