"""Every error as RFC 9457 problem details (``application/problem+json``), naming the field."""

from __future__ import annotations

import re
import traceback
from typing import Any

import msgspec
import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from service.guidance.decoding import RequestRejected
from service.settings import KIB, MAX_BODY_BYTES

PROBLEM_BASE = "https://safeguarding-guidance.example/problems/"
_UNKNOWN_FIELD = re.compile(r"unknown field `([^`]+)`")
_MISSING_FIELD = re.compile(r"missing required field `([^`]+)`")
_NO_BODY = re.compile(r"^'\w+'$")  # Litestar's KeyError text when there is no body at all
_MSGSPEC_AT = re.compile(r" - at `\$\.?([^`]*)`$")
_NAMED_FIELD = re.compile(r"^`([a-z_]+)`: (.*)$")

log = structlog.get_logger("guidance.http")


def problem(status: int, slug: str, title: str, detail: str, **extra: Any) -> ProblemDetailsException:
    return ProblemDetailsException(
        status_code=status,
        type_=PROBLEM_BASE + slug,
        title=title,
        detail=detail,
        extra=extra or None,
    )


def audit_unavailable(request: Request) -> ProblemDetailsException:
    """503 for guidance or feedback whose audit record could not be written: nothing is
    answered without its record, and the caller is told when to try again."""
    error = problem(
        503,
        "audit-unavailable",
        "Audit trail unavailable",
        "The audit record could not be written, so no guidance is shown. Try again shortly.",
    )
    error.headers = {"Retry-After": str(request.app.state.audit_retry_after)}
    return error


def invalid_field(field: str, message: str) -> ProblemDetailsException:
    return problem(
        400,
        "invalid-field",
        "Invalid request",
        f"`{field}`: {message}" if field else message,
        field=field,
        errors=[{"field": field, "message": message}],
    )


def rejected_request(rejected: RequestRejected) -> ProblemDetailsException:
    """400 for a body the strict decoder refused: the first offender in ``detail`` and
    ``field`` (or ``offset``, when the body is not JSON), every offender in ``errors``."""
    first = rejected.problems[0]
    errors = [msgspec.structs.asdict(p) for p in rejected.problems]
    for error in errors:
        if error["offset"] is None:
            del error["offset"]
    if rejected.syntax:
        return problem(
            400, "invalid-json", "Invalid JSON", str(first), field="", offset=first.offset, errors=errors
        )
    return problem(400, "invalid-field", "Invalid request", str(first), field=first.field, errors=errors)


def _field_of(key: str, message: str) -> tuple[str, str]:
    """Litestar reports ``key`` (``data`` for the body root); unknown fields name the rest."""
    key = "" if key == "data" else key
    if _NO_BODY.match(message):
        return "", "the request body is empty; send a JSON object with `facts`"
    missing = _MISSING_FIELD.search(message)
    if missing:
        return (f"{key}.{missing.group(1)}" if key else missing.group(1)), "this field is required"
    unknown = _UNKNOWN_FIELD.search(message)
    if unknown:
        field = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
        return (
            field,
            f"unknown field `{unknown.group(1)}`; check its spelling against the vocabulary",
        )
    return key, message


def _from_validation(exc: ValidationException) -> ProblemDetailsException:
    extra = exc.extra if isinstance(exc.extra, list) else []
    if not extra:  # the body is not JSON at all
        return problem(400, "invalid-json", "Invalid JSON", str(exc.detail), field="", errors=[])
    errors = []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = _MSGSPEC_AT.sub("", str(item.get("message", "invalid value")))
        key = str(item.get("key") or "")
        named = _NAMED_FIELD.match(message)  # a check run after decoding names its field
        if named:
            key = f"{key}.{named.group(1)}" if key and key != "data" else named.group(1)
            message = named.group(2)
        field, message = _field_of(key, message)
        errors.append({"field": field, "message": message})
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return problem(
        400,
        "invalid-field",
        "Invalid request",
        f"`{first['field']}`: {first['message']}" if first["field"] else first["message"],
        field=first["field"],
        errors=errors,
    )


def _from_http(exc: HTTPException) -> ProblemDetailsException:
    if exc.status_code == 400 and str(exc.detail).startswith("JSON is malformed"):
        return problem(
            400,
            "invalid-json",
            "Invalid JSON",
            f"The body is not valid JSON: {exc.detail}",
            field="",
        )
    slug = {
        404: "not-found",
        405: "method-not-allowed",
        413: "request-too-large",
        415: "unsupported-media-type",
        429: "too-many-requests",
    }.get(exc.status_code, "http-error")
    detail = {
        404: "No such resource.",
        405: "This method is not allowed here.",
        413: f"The request body is larger than {MAX_BODY_BYTES // KIB} KiB.",
        429: "Too many requests from this client; try again after `Retry-After` seconds.",
    }.get(exc.status_code, str(exc.detail))
    headers = exc.headers
    if exc.status_code == 429:
        headers = {**(headers or {}), "Retry-After": _retry_after(headers or {})}
    return ProblemDetailsException(
        status_code=exc.status_code,
        type_=PROBLEM_BASE + slug,
        title=str(exc.detail),
        detail=detail,
        headers=headers,
    )


def _retry_after(headers: dict[str, str]) -> str:
    """Litestar's rate limit says when its window resets (``RateLimit-Reset``, seconds) but sends
    no ``Retry-After``; a client is owed one (RFC 6585), of at least a second."""
    reset = headers.get("RateLimit-Reset", "")
    return str(max(1, int(reset))) if reset.isdigit() else "60"


def internal_error(request: Request, exc: Exception) -> Response[Any]:
    # The traceback stays in the process log; the caller learns nothing of the internals.
    frame = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    log.error(
        "unhandled_error",
        path=request.url.path,
        error_type=type(exc).__name__,
        at=f"{frame.filename}:{frame.lineno}" if frame else None,
    )
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal-error",
        "Internal Server Error",
        "The service could not answer this request. It has been logged; please try again.",
    ).to_response(request)


problem_details_config = ProblemDetailsConfig(
    enable_for_all_http_exceptions=True,
    exception_to_problem_detail_map={
        ValidationException: _from_validation,
        NotFoundException: _from_http,
        MethodNotAllowedException: _from_http,
        HTTPException: _from_http,
    },
)

# Every exception type the plugin turns into problem details, and the turning itself, for a
# part of the API that answers in another format (CDS Hooks: FHIR OperationOutcomes).
PROBLEM_EXCEPTIONS: tuple[type[Exception], ...] = (
    ProblemDetailsException,
    *problem_details_config.exception_to_problem_detail_map,
)


def as_problem(exc: HTTPException) -> ProblemDetailsException:
    for kind in type(exc).__mro__:
        convert = problem_details_config.exception_to_problem_detail_map.get(kind)
        if convert is not None:
            return convert(exc)
    return _from_http(exc)
