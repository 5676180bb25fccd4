"""The committed OpenAPI document is exactly what the app generates."""

from __future__ import annotations

import json

from service.cli.openapi import generated_openapi
from tests.conftest import REPO

COMMITTED = REPO / "openapi" / "openapi.json"


def test_the_committed_openapi_document_matches_the_app() -> None:
    assert COMMITTED.read_bytes() == generated_openapi(), "run `make openapi` and commit openapi/openapi.json"


def test_the_document_describes_every_field_and_the_problem_responses() -> None:
    document = json.loads(COMMITTED.read_text())
    evaluate = document["paths"]["/v1/evaluate"]["post"]
    assert {"200", "400", "413", "500", "503"} <= set(evaluate["responses"])
    assert "application/problem+json" in evaluate["responses"]["400"]["content"]
    schemas = document["components"]["schemas"]
    parent = next(schema for name, schema in schemas.items() if name.endswith("Parent"))
    for name, field in parent["properties"].items():
        assert field.get("description"), f"Parent.{name} has no description"


def test_the_document_says_requests_take_no_unknown_fields_and_no_negative_age() -> None:
    schemas = json.loads(COMMITTED.read_text())["components"]["schemas"]
    for name in ("EvaluationRequest", "Facts", "Child", "Parent", "FeedbackRequest"):
        assert schemas[name]["additionalProperties"] is False, name
    age = schemas["Child"]["properties"]["age_months"]
    assert (age["minimum"], age["maximum"]) == (0, 216)
