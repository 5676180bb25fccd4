"""Bad input gets RFC 9457 problem details naming the field, and the service stays up."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["type"].startswith("https://")
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"facts": {"child": {"unborn": "yes"}}}, "facts.child.unborn"),
        ({"facts": {"child": {"age_months": -1}}}, "facts.child.age_months"),
        ({"facts": {"child": {"age_months": 217}}}, "facts.child.age_months"),
        ({"facts": {"child": {"age_months": 3.5}}}, "facts.child.age_months"),
        ({"facts": {"parents": [{"role": "uncle"}]}}, "facts.parents[0].role"),
        ({"facts": {"parents": [{}, {"family_support": "lots"}]}}, "facts.parents[1].family_support"),
        ({"facts": {"parents": [{}] * 7}}, "facts.parents"),
        ({"facts": {"assessment_factors": ["4B", "99Z"]}}, "facts.assessment_factors[1]"),
        ({"facts": {"assessment_factors": ["21", "4B"]}}, "facts.assessment_factors"),
        ({"facts": {"assessment_factors": ["4B", "4B"]}}, "facts.assessment_factors"),
        ({"facts": {"assessment_factors": "4B"}}, "facts.assessment_factors"),
        ({"facts": {"child": {"unbron": True}}}, "facts.child.unbron"),
        ({"facts": {"parents": [{"carer_leaver": True}]}}, "facts.parents[0].carer_leaver"),
        ({"facts": {"important_decision": True}}, "facts.important_decision"),
        ({"facts": {}, "case_reference": "x"}, "case_reference"),
        ({"facts": {}, "case_ref": 42}, "case_ref"),
        ({"facts": {}, "case_ref": "x" * 129}, "case_ref"),
        ({"facts": []}, "facts"),
        ({}, "facts"),
        ({"facts": {}, "case_ref": None, "x": 1}, "x"),
        ([], ""),
    ],
)
def test_invalid_facts_are_rejected_naming_the_field(client: TestClient, body: Any, field: str) -> None:
    problem = assert_problem(client.post("/v1/evaluate", json=body), 400)
    assert problem["field"] == field
    assert problem["errors"][0]["field"] == field
    if field:
        assert f"`{field}`" in problem["detail"]


def test_a_missing_facts_object_is_named(client: TestClient) -> None:
    problem = assert_problem(client.post("/v1/evaluate", json={"case_ref": "A1"}), 400)
    assert problem["field"] == "facts"
    assert problem["detail"] == "`facts`: this field is required"


def test_an_empty_body_is_explained(client: TestClient) -> None:
    response = client.post("/v1/evaluate", content=b"", headers={"content-type": "application/json"})
    assert "request body is empty" in assert_problem(response, 400)["detail"]


@pytest.mark.parametrize("raw", [b"{", b"not json", b'{"facts": {}} trailing', b""])
def test_invalid_json_is_a_400(client: TestClient, raw: bytes) -> None:
    response = client.post("/v1/evaluate", content=raw, headers={"content-type": "application/json"})
    assert_problem(response, 400)


def test_a_body_over_64_kib_is_a_413(client: TestClient) -> None:
    body = b'{"facts": {}, "case_ref": "' + b"x" * (64 * 1024) + b'"}'
    response = client.post("/v1/evaluate", content=body, headers={"content-type": "application/json"})
    assert_problem(response, 413)


def test_unknown_paths_and_methods(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing-here"), 404)
    assert_problem(client.get("/v1/evaluate"), 405)
    assert_problem(client.delete("/v1/rules"), 405)
    assert_problem(client.get("/v1/rules/harry-2019/no-such-rule"), 404)


def test_an_internal_error_is_a_500_without_internals_and_the_service_stays_up(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    guidance = client.app.state.guidance

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internal detail /srv/path")

    # A fault injected below the HTTP layer: everything else is the real app.
    monkeypatch.setattr(guidance.evaluator, "evaluate", broken)
    response = client.post("/v1/evaluate", json={"facts": {}})
    problem = assert_problem(response, 500)
    assert "secret" not in response.text and "RuntimeError" not in response.text
    assert "Traceback" not in response.text
    assert problem["title"] == "Internal Server Error"
    monkeypatch.undo()
    assert client.post("/v1/evaluate", json={"facts": {}}).status_code == 200


def test_the_service_keeps_answering_after_every_kind_of_bad_input(client: TestClient) -> None:
    for body in (b"{", b'{"facts": {"child": {"unbron": true}}}', b"[]", b"x" * 70_000):
        client.post("/v1/evaluate", content=body, headers={"content-type": "application/json"})
    assert client.get("/health").json() == {"status": "ok"}
    assert client.post("/v1/evaluate", json={"facts": {"child": {"unborn": True}}}).status_code == 200
