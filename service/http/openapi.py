"""The OpenAPI document, saying exactly what the service enforces and sends.

Litestar generates the paths and the success responses from the handlers. The rest is stated
here, from the same types that enforce it: the request bodies come from msgspec's own JSON
Schema for the request structs (the library that decodes them, so ``additionalProperties:
false``, patterns, lengths and ranges are what it checks), plus the checks across fields the
structs make after decoding; the loaded prompt ids; and for every operation every status it
can answer with, each with its problem schema and the headers every response carries.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Litestar
from msgspec import Meta, Struct

from service.cds_hooks.cards import HOOK, OVERRIDE_REASONS
from service.cds_hooks.model import (
    CDS_CROSS_FIELD_RULES,
    CdsFeedbackRequest,
    CdsServiceRequest,
    OperationOutcome,
)
from service.facts.examples import HARRY_PRE_BIRTH
from service.facts.vocabulary import CROSS_FIELD_RULES
from service.guidance.requests import EvaluationRequest, FeedbackRequest
from service.http.authentication import PathKind, path_kind
from service.http.problems import PROBLEM_BASE
from service.settings import KIB, MAX_BODY_BYTES, MAX_HEAD_BYTES

PROBLEM_MEDIA_TYPE = "application/problem+json"
_REF = "#/components/schemas/{name}"


class FieldError(Struct, kw_only=True, omit_defaults=True):
    field: Annotated[
        str, Meta(description="JSON path of the offending field from the body's root; empty for the body.")
    ]
    message: str
    offset: Annotated[int | None, Meta(description="Byte offset, when the body is not JSON at all.")] = None


class ProblemDetails(Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details."""

    type: Annotated[str, Meta(examples=[PROBLEM_BASE + "invalid-field"])]
    title: Annotated[str, Meta(examples=["Invalid request"])]
    status: Annotated[int, Meta(examples=[400])]
    detail: Annotated[str, Meta(examples=["`facts.child.unbron`: unknown field `unbron`"])]
    field: Annotated[
        str | None, Meta(description="For 400: the first offending field.", examples=["facts.child.unbron"])
    ] = None
    offset: Annotated[int | None, Meta(description="For 400 on a body that is not JSON: where it fails.")] = (
        None
    )
    errors: Annotated[list[FieldError] | None, Meta(description="For 400: every offender found.")] = None
    reason: Annotated[str | None, Meta(description="For 503 from /ready: why, as a code.")] = None


_HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": {
        "description": "Names this exchange; the audit record of an evaluation or feedback carries it.",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    },
    "Cache-Control": {
        "description": "`no-store` on every answer: answers echo case facts.",
        "required": True,
        "schema": {"type": "string"},
    },
    "X-Content-Type-Options": {"required": True, "schema": {"type": "string", "enum": ["nosniff"]}},
    "Content-Security-Policy": {
        "description": "Lets a browser run nothing from an answer.",
        "required": False,
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "WWW-Authenticate": {
        "description": '`Bearer` (RFC 6750); `Bearer error="invalid_token"` when a token was sent '
        "and refused. Never why it was refused.",
        "required": True,
        "schema": {"type": "string", "pattern": "^Bearer"},
    },
}
_COMMON_HEADERS = ("X-Request-ID", "Cache-Control", "X-Content-Type-Options", "Content-Security-Policy")

# name, status, description, extra headers
_PROBLEMS: dict[str, tuple[int, str, tuple[str, ...]]] = {
    "BadRequest": (
        400,
        "The body is not JSON, or is not a valid request: a wrong type (nothing is coerced), a value "
        "out of range, an unknown field, a key repeated in one object, invalid UTF-8. `field` "
        "(or `offset`) names the first offender and `errors` lists every one found.",
        (),
    ),
    "NotFound": (404, "No such resource.", ()),
    "MethodNotAllowed": (405, "This method is not allowed on this path.", ()),
    "RequestTimeout": (408, "The request's headers or body were not received in time.", ()),
    "PayloadTooLarge": (413, f"The body is larger than {MAX_BODY_BYTES // KIB} KiB.", ()),
    "UnsupportedMediaType": (415, "The body is not sent as JSON (`Content-Type: application/json`).", ()),
    "RequestHeadTooLarge": (
        431,
        f"The request line and headers are larger than {MAX_HEAD_BYTES // KIB} KiB.",
        (),
    ),
    "Unauthorized": (
        401,
        "No valid bearer token: none was sent, or the one sent was refused (only when the service "
        "runs with `GUIDANCE_AUTH=jwt`). The answer never says why; the service's log does.",
        ("WWW-Authenticate",),
    ),
    "TooManyRequests": (
        429,
        "This client has sent more requests than `GUIDANCE_RATE_LIMIT` allows (only when one is "
        "set); try again after `Retry-After` seconds.",
        ("Retry-After",),
    ),
    "InternalError": (500, "The service could not answer; no internals are disclosed.", ()),
    "Unavailable": (
        503,
        "Not answered, and nothing recorded: the service is overloaded, or the audit record "
        "could not be written (no guidance is ever given without its record). Try again after "
        "`Retry-After` seconds.",
        ("Retry-After",),
    ),
    "Overloaded": (
        503,
        "The service is overloaded; try again after `Retry-After` seconds.",
        ("Retry-After",),
    ),
    "NotReady": (
        503,
        "Not ready: the audit trail cannot take a record, or the engine does not answer. "
        "`reason` says which.",
        (),
    ),
}
_EVERY_OPERATION = ("RequestTimeout", "RequestHeadTooLarge", "InternalError")
_PROTECTED_OPERATION = ("Unauthorized", "TooManyRequests")  # every operation but health, ready, docs
BEARER = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "A JWT from an issuer the deployment trusts (`GUIDANCE_AUTH_ISSUERS`), signed with an "
    "asymmetric key, with the issuer's `aud` (under /cds-services: the exact URL called), `exp`, `iat`, "
    "a lifetime of at most an hour, and a client claim. Asked for when the service runs with "
    "`GUIDANCE_AUTH=jwt`.",
}
_OPERATION_PROBLEMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("post", "/v1/evaluate"): ("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Unavailable"),
    ("post", "/v1/feedback"): ("BadRequest", "PayloadTooLarge", "UnsupportedMediaType", "Unavailable"),
    ("get", "/v1/packs"): ("Overloaded",),
    ("get", "/v1/rules"): ("Overloaded",),
    ("get", "/v1/rules/{pack_id}/{rule_id}"): ("BadRequest", "NotFound", "Overloaded"),
    ("get", "/health"): (),
    ("get", "/ready"): ("NotReady",),
    ("get", "/v1/status"): ("Overloaded",),
    ("get", "/cds-services"): ("Overloaded",),
    ("post", "/cds-services/{service_id}"): (
        "BadRequest",
        "NotFound",
        "PayloadTooLarge",
        "UnsupportedMediaType",
        "Unavailable",
    ),
    ("post", "/cds-services/{service_id}/feedback"): (
        "BadRequest",
        "NotFound",
        "PayloadTooLarge",
        "UnsupportedMediaType",
        "Unavailable",
    ),
}
# Under /cds-services a refusal is a FHIR OperationOutcome (CDS Hooks 3.0), not problem details.
FHIR_MEDIA_TYPE = "application/fhir+json"

_REQUEST_EXAMPLES: dict[tuple[str, str], tuple[type[Struct], dict[str, Any]]] = {
    ("post", "/v1/evaluate"): (
        EvaluationRequest,
        {
            "harry-pre-birth": {
                "summary": "Pre-birth: both parents care leavers; the midwife completing the form",
                "value": {"case_ref": "CASE-0042", "facts": HARRY_PRE_BIRTH},
            }
        },
    ),
    ("post", "/cds-services/{service_id}"): (
        CdsServiceRequest,
        {
            "harry-pre-birth": {
                "summary": "The Harry pre-birth facts, from a maternity record",
                "value": {
                    "hook": HOOK,
                    "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                    "context": {"facts": HARRY_PRE_BIRTH, "caseRef": "CASE-0042"},
                },
            }
        },
    ),
    ("post", "/cds-services/{service_id}/feedback"): (
        CdsFeedbackRequest,
        {
            "overridden": {
                "summary": "A card set aside: already done",
                "value": {
                    "feedback": [
                        {
                            "card": "4f2b8c8e-3d1a-4d7e-9a6c-1b2f3e4d5c6a",
                            "outcome": "overridden",
                            "overrideReason": {"reason": msgspec.to_builtins(OVERRIDE_REASONS[1][0])},
                            "outcomeTimestamp": "2026-11-26T09:30:00Z",
                        }
                    ]
                },
            }
        },
    ),
    ("post", "/v1/feedback"): (
        FeedbackRequest,
        {
            "accepted": {
                "summary": "The practitioner took up a prompt",
                "value": {
                    "evaluation_id": "d6905d70-e5a5-461b-81a6-f74869561ca3",
                    "prompt_id": "harry-2019/lp7-capacity-assessment",
                    "outcome": "accepted",
                },
            }
        },
    ),
}


def build_document(app: Litestar, prompt_ids: list[str], pack_ids: list[str]) -> dict[str, Any]:
    """The OpenAPI document of ``app``, as the service serves and commits it."""
    document: dict[str, Any] = msgspec.to_builtins(app.openapi_schema.to_schema())
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, request_schemas = msgspec.json.schema_components(
        [
            EvaluationRequest,
            FeedbackRequest,
            ProblemDetails,
            CdsServiceRequest,
            CdsFeedbackRequest,
            OperationOutcome,
        ],
        ref_template=_REF,
    )
    request_schemas["CdsServiceRequest"]["properties"]["hook"]["enum"] = [HOOK]
    # Only the override reasons the cards offer are taken (their code goes into the audit trail).
    request_schemas["OverrideReason"]["properties"]["reason"]["anyOf"] = [
        *(
            {
                "type": "object",
                "properties": {
                    "system": {"const": coding.system},
                    "code": {"const": coding.code},
                    "display": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                },
                "required": ["system", "code"],
            }
            for coding, _ in OVERRIDE_REASONS
        ),
        {"type": "null"},
    ]
    for path in ("/cds-services/{service_id}", "/cds-services/{service_id}/feedback"):
        for parameter in document["paths"][path]["post"]["parameters"]:
            parameter["schema"]["enum"] = sorted(pack_ids)
    for name, rules in {**CROSS_FIELD_RULES, **CDS_CROSS_FIELD_RULES}.items():
        request_schemas[name].update(rules)
    # Feedback is acknowledged with an empty 200, as CDS Hooks has it.
    document["paths"]["/cds-services/{service_id}/feedback"]["post"]["responses"]["200"] = {
        "description": "Recorded (an empty body)."
    }
    if prompt_ids:
        request_schemas["FeedbackRequest"]["properties"]["prompt_id"]["enum"] = sorted(prompt_ids)
        pack_id, _, rule_id = sorted(prompt_ids)[0].partition("/")
        for parameter in document["paths"]["/v1/rules/{pack_id}/{rule_id}"]["get"]["parameters"]:
            parameter["example"] = {"pack_id": pack_id, "rule_id": rule_id}[parameter["name"]]
    schemas.update(request_schemas)
    components["headers"] = _HEADERS
    components["securitySchemes"] = {"bearer": BEARER}
    components["responses"] = {
        **{
            name: _problem_response(description, extra) for name, (_, description, extra) in _PROBLEMS.items()
        },
        **{
            "Cds" + name: _outcome_response(description, extra)
            for name, (_, description, extra) in _PROBLEMS.items()
        },
    }
    for (method, path), expected in _OPERATION_PROBLEMS.items():
        operation = document["paths"][path][method]
        responses = operation["responses"]
        for response in responses.values():
            response["headers"] = _header_refs(())
        kind = path_kind(path)
        protected = () if kind is PathKind.OPEN else _PROTECTED_OPERATION
        prefix = "Cds" if kind is PathKind.CDS_HOOKS else ""
        for name in (*expected, *protected, *_EVERY_OPERATION):
            responses[str(_PROBLEMS[name][0])] = {"$ref": f"#/components/responses/{prefix}{name}"}
        if kind is not PathKind.OPEN:
            operation["security"] = [{"bearer": []}]
        if (method, path) in _REQUEST_EXAMPLES:
            struct, examples = _REQUEST_EXAMPLES[(method, path)]
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": _REF.format(name=struct.__name__)},
                        "examples": examples,
                    }
                },
            }
    unlisted = {
        (method, path)
        for path, item in document["paths"].items()
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    } - set(_OPERATION_PROBLEMS)
    assert not unlisted, f"state the errors of every operation: {sorted(unlisted)}"
    return document


def _header_refs(extra: tuple[str, ...]) -> dict[str, Any]:
    return {name: {"$ref": f"#/components/headers/{name}"} for name in (*_COMMON_HEADERS, *extra)}


def _problem_response(description: str, extra: tuple[str, ...]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _header_refs(extra),
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": _REF.format(name="ProblemDetails")}}},
    }


def _outcome_response(description: str, extra: tuple[str, ...]) -> dict[str, Any]:
    return {
        "description": description,
        "headers": _header_refs(extra),
        "content": {FHIR_MEDIA_TYPE: {"schema": {"$ref": _REF.format(name="OperationOutcome")}}},
    }


def encode_document(document: dict[str, Any]) -> bytes:
    """The committed form: keys sorted, two-space indents, a final newline."""
    return msgspec.json.format(msgspec.json.encode(document, order="sorted"), indent=2) + b"\n"
