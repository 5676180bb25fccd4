"""The committed OpenAPI document is exactly what the app generates, and says what it enforces."""

from __future__ import annotations

import json
from typing import Any

from service.cli.openapi import generated_openapi
from service.packs.loader import load_packs
from tests.conftest import KNOWLEDGE, REPO

COMMITTED = REPO / "openapi" / "openapi.json"


def document() -> dict[str, Any]:
    return json.loads(COMMITTED.read_text())


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        where = node["$ref"].removeprefix("#/").split("/")
        node = doc
        for part in where:
            node = node[part]
    return node


def test_the_committed_openapi_document_matches_the_app() -> None:
    assert COMMITTED.read_bytes() == generated_openapi(), "run `make openapi` and commit openapi/openapi.json"


def test_the_document_describes_every_field_and_the_problem_responses() -> None:
    doc = document()
    evaluate = doc["paths"]["/v1/evaluate"]["post"]
    assert {"200", "400", "408", "413", "415", "431", "500", "503"} <= set(evaluate["responses"])
    bad = resolve(doc, evaluate["responses"]["400"])
    assert "application/problem+json" in bad["content"]
    schemas = doc["components"]["schemas"]
    parent = schemas["Parent"]
    for name, field in parent["properties"].items():
        assert field.get("description"), f"Parent.{name} has no description"


def test_the_document_says_requests_take_no_unknown_fields_and_no_negative_age() -> None:
    schemas = document()["components"]["schemas"]
    for name in ("EvaluationRequest", "Facts", "Child", "Parent", "FeedbackRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    age = next(b for b in schemas["Child"]["properties"]["age_months"]["anyOf"] if b.get("type") == "integer")
    assert (age["minimum"], age["maximum"]) == (0, 216)


def test_the_document_states_the_checks_made_across_fields() -> None:
    schemas = document()["components"]["schemas"]
    codes = next(
        b for b in schemas["Facts"]["properties"]["assessment_factors"]["anyOf"] if b.get("type") == "array"
    )
    assert codes["uniqueItems"] is True
    assert codes["not"] == {"contains": {"const": "21"}, "minItems": 2}
    assert schemas["Child"]["not"]["required"] == ["unborn", "age_months"]
    feedback = schemas["FeedbackRequest"]["properties"]
    assert feedback["evaluation_id"]["pattern"].endswith("(?!\\n)$")
    assert feedback["prompt_id"]["enum"] == sorted(r.id for p in load_packs([KNOWLEDGE]) for r in p.rules)


def test_every_operation_has_its_errors_headers_and_a_request_example() -> None:
    doc = document()
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            assert "500" in operation["responses"], (method, path)
            for status, response in operation["responses"].items():
                headers = resolve(doc, response)["headers"]
                assert "X-Request-ID" in headers, (method, path, status)
                if status == "503" and path != "/ready":
                    assert "Retry-After" in headers, (method, path)
            if method == "post":
                body = operation["requestBody"]["content"]["application/json"]
                assert body["examples"] and body["schema"]["$ref"].startswith("#/components/schemas/")
    assert set(doc["components"]["responses"]) >= {"MethodNotAllowed", "RequestHeadTooLarge"}


def test_every_protected_operation_declares_the_bearer_scheme_and_its_401_and_429() -> None:
    doc = document()
    assert doc["components"]["securitySchemes"]["bearer"] | {"description": ""} == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "",
    }
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if path in ("/health", "/ready"):
                assert "security" not in operation and "401" not in operation["responses"], path
                continue
            assert operation["security"] == [{"bearer": []}], (method, path)
            unauthorized = resolve(doc, operation["responses"]["401"])
            assert "WWW-Authenticate" in unauthorized["headers"]
            error_type = (
                "application/fhir+json" if path.startswith("/cds-services") else "application/problem+json"
            )
            assert error_type in unauthorized["content"], (method, path)
            too_many = resolve(doc, operation["responses"]["429"])
            assert "Retry-After" in too_many["headers"]
            assert error_type in too_many["content"], (method, path)
    assert "security" not in doc  # per operation: health, readiness and the docs stay open
