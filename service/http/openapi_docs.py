"""How errors appear in the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

import msgspec.inspect as mi
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPI, Schema
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


def tighten_request_schemas(document: OpenAPI, request_types: tuple[type[Struct], ...]) -> None:
    """Say in the document what the request types enforce but Litestar leaves out: no unknown
    fields (``additionalProperties: false``) and a lower bound of 0 (it drops a falsy ``ge``)."""
    schemas = document.components.schemas or {}
    for struct in _structs_within(request_types):
        schema = schemas.get(struct.__name__)
        if schema is None:
            continue
        info = mi.type_info(struct)
        assert isinstance(info, mi.StructType)
        if info.forbid_unknown_fields:
            schema.additional_properties = False
        for field in info.fields:
            minimum = _lower_bound(field.type)
            property_schema = (schema.properties or {}).get(field.encode_name)
            if minimum == 0 and isinstance(property_schema, Schema) and property_schema.minimum is None:
                property_schema.minimum = 0


def _structs_within(roots: tuple[type[Struct], ...]) -> list[type[Struct]]:
    found: list[type[Struct]] = []
    pending = list(roots)
    while pending:
        struct = pending.pop()
        if struct in found:
            continue
        found.append(struct)
        info = mi.type_info(struct)
        assert isinstance(info, mi.StructType)
        for field in info.fields:
            nested = _nested_structs(field.type)
            if nested is not None:
                pending.append(nested)
    return found


def _nested_structs(t: mi.Type) -> type[Struct] | None:
    while True:
        if isinstance(t, mi.Metadata):
            t = t.type
        elif isinstance(t, mi.UnionType):
            (t,) = [x for x in t.types if not isinstance(x, mi.NoneType)]
        elif isinstance(t, mi.ListType):
            t = t.item_type
        elif isinstance(t, mi.StructType):
            return t.cls
        else:
            return None


def _lower_bound(t: mi.Type) -> int | None:
    while isinstance(t, (mi.Metadata, mi.UnionType)):
        t = (
            t.type
            if isinstance(t, mi.Metadata)
            else next(x for x in t.types if not isinstance(x, mi.NoneType))
        )
    return t.ge if isinstance(t, mi.IntType) else None
