"""How errors appear in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

from litestar.openapi.datastructures import ResponseSpec
from msgspec import Meta, Struct

from service.http.problems import PROBLEM_BASE

PROBLEM_MEDIA_TYPE = "application/problem+json"


class FieldError(Struct, kw_only=True):
    field: Annotated[str, Meta(description="Dotted path of the offending field; empty for the whole body.")]
    message: str


class ProblemDetails(Struct, kw_only=True, omit_defaults=True):
    """RFC 9457 problem details."""

    type: Annotated[str, Meta(examples=[PROBLEM_BASE + "invalid-field"])]
    title: Annotated[str, Meta(examples=["Invalid request"])]
    status: Annotated[int, Meta(examples=[400])]
    detail: Annotated[
        str, Meta(examples=["`facts.child.unbron`: unknown field `unbron`; check its spelling"])
    ]
    field: Annotated[
        str | None,
        Meta(description="For 400: the first offending field.", examples=["facts.child.unbron"]),
    ] = None
    errors: list[FieldError] | None = None


_DESCRIPTIONS = {
    400: "Invalid JSON, a wrong type, a value out of range, an unknown CIN code or an unknown field. "
    "`field` names it.",
    404: "No such resource.",
    405: "Method not allowed.",
    413: "The body is larger than 64 KiB.",
    503: "The audit record could not be written, so no guidance is given.",
    500: "The service could not answer; no internals are disclosed.",
}


def problem_responses(*statuses: int) -> dict[int, ResponseSpec]:
    return {
        status: ResponseSpec(
            data_container=ProblemDetails,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in (*statuses, 500)
    }
