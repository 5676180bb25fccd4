"""``/cds-services``: the guidance as CDS Hooks services, one per loaded pack.

The same strict decoder reads the facts (in ``context.facts``), the same evaluation gives the
prompts (as cards, in the same order), the same audit trail records them before they are
answered. Errors on these endpoints are FHIR OperationOutcomes, as CDS Hooks 3.0 (STU) asks,
with the status they have on the REST API.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.exceptions import HTTPException
from litestar.params import PathParameter
from litestar.plugins.problem_details import ProblemDetailsException

from service.audit.sinks import AuditWriteError
from service.auth.callers import caller_of
from service.cds_hooks.cards import HOOK, card, override_outcome
from service.cds_hooks.model import (
    CdsDiscovery,
    CdsFeedbackRequest,
    CdsService,
    CdsServiceRequest,
    CdsServiceResponse,
    OperationOutcome,
    OutcomeIssue,
)
from service.guidance.decoding import StrictDecoder
from service.guidance.service import new_uuid4
from service.http.bodies import read_json
from service.http.headers import request_id_of
from service.http.problems import PROBLEM_EXCEPTIONS, as_problem, audit_unavailable, problem
from service.http.state import guidance_of
from service.packs.model import ID_PATTERN

FHIR_JSON = "application/fhir+json"
SERVICE_REQUEST = StrictDecoder(CdsServiceRequest)
FEEDBACK_REQUEST = StrictDecoder(CdsFeedbackRequest)
ServiceId = Annotated[str, PathParameter(pattern=ID_PATTERN, description="A CDS service: a pack's id.")]
_encode = msgspec.json.Encoder().encode
# FHIR issue types for the statuses these endpoints answer with.
_ISSUE_CODES = {
    400: "invalid",
    401: "login",
    403: "forbidden",
    404: "not-found",
    405: "not-supported",
    408: "timeout",
    413: "too-costly",
    415: "not-supported",
    429: "throttled",
    503: "transient",
}


def operation_outcome(request: Request, exc: Exception) -> Response[Any]:
    """Any refusal on these endpoints, as an OperationOutcome: what the REST API says in problem
    details (the detail, the fields at fault) said in FHIR's words, with the same status."""
    if not isinstance(exc, ProblemDetailsException):
        assert isinstance(exc, HTTPException)
        exc = as_problem(exc)
    status = exc.status_code
    extra = exc.extra if isinstance(exc.extra, dict) else {}
    code = _ISSUE_CODES.get(status, "exception")
    issues = [
        OutcomeIssue(
            severity="error",
            code=code,
            diagnostics=f"byte {error['offset']}: {error['message']}"
            if "offset" in error
            else error["message"],
            expression=[error["field"]] if error.get("field") else None,
        )
        for error in extra.get("errors") or ()
    ] or [OutcomeIssue(severity="error", code=code, diagnostics=exc.detail or None)]
    return Response(
        _encode(OperationOutcome(issue=issues)),
        status_code=status,
        media_type=FHIR_JSON,
        headers=exc.headers or None,
    )


def _service(pack: Any) -> CdsService:
    return CdsService(
        hook=HOOK,
        id=pack.id,
        title=pack.spec.title,
        description=(
            f"Prompts for the practitioner from the learning of {pack.spec.source.title} "
            f"({pack.spec.source.issued_by}). Send the case's facts in `context.facts`, in the "
            "vocabulary of POST /v1/evaluate; facts not known are left out."
        ),
        usageRequirements=(
            "Context: `facts` (required; the service's fact vocabulary, see its OpenAPI "
            "document) and `caseRef` (optional; only its keyed hash is recorded). "
            "No prefetch and no FHIR access are used."
        ),
        version=pack.version,
    )


class CdsHooksController(Controller):
    path = "/cds-services"
    tags = ["CDS Hooks"]
    # Every exception type the problem-details plugin handles for the app, handled here instead.
    exception_handlers = dict.fromkeys(PROBLEM_EXCEPTIONS, operation_outcome)

    @get("/", summary="CDS Hooks discovery: one service per loaded pack")
    async def discovery(self, request: Request) -> CdsDiscovery:
        return CdsDiscovery(services=[_service(pack) for pack in guidance_of(request).packs])

    @post(
        "/{service_id:str}",
        status_code=200,
        summary="Cards for the facts of a case",
        description=(
            "The CDS Hooks service call: `context.facts` as for POST /v1/evaluate; the answer is a "
            "card per prompt, in the same order, each with a suggestion to accept and coded "
            "override reasons. Errors are FHIR OperationOutcomes."
        ),
    )
    async def call(self, request: Request, service_id: ServiceId) -> Response[CdsServiceResponse]:
        guidance = guidance_of(request)
        pack = guidance.packs_by_id.get(service_id)
        if pack is None:
            raise _no_such_service(service_id)
        state = request.app.state
        metrics, tracing = state.metrics, state.tracing
        try:
            data = await read_json(request, SERVICE_REQUEST)
            if data.hook != HOOK:
                raise _invalid("hook", f"this service answers the hook `{HOOK}`")
        except HTTPException:
            metrics.refused_bad_input("cds-hooks")
            raise
        caller = caller_of(request.scope)
        started = time.perf_counter()
        try:
            evaluation = guidance.evaluate(
                data.context.facts,
                case_ref=data.context.caseRef,
                request_id=request_id_of(request.scope),
                client=caller.client,
                tenant=caller.tenant,
                pack=pack.id,
                as_cards=True,
                trace_id=tracing.trace_id() if tracing is not None else None,
            )
        except AuditWriteError as error:
            metrics.refused_audit("cds-hooks", error.reason)
            raise audit_unavailable(request) from None
        metrics.answered("cds-hooks", evaluation.prompts, time.perf_counter() - started)
        if tracing is not None:
            tracing.evaluated(evaluation.evaluation_id, pack.id)
        assert evaluation.card_ids is not None
        cards = [
            card(prompt, pack, card_id, new_uuid4())
            for prompt, card_id in zip(evaluation.prompts, evaluation.card_ids, strict=True)
        ]
        # Bytes encoded here, by msgspec, not by Litestar: Response's type wants the Struct.
        return Response(_encode(CdsServiceResponse(cards=cards)), media_type=MediaType.JSON)  # type: ignore[arg-type]

    @post(
        "/{service_id:str}/feedback",
        status_code=200,
        summary="What the practitioner did with cards",
        description=(
            "CDS Hooks feedback: each item is recorded in the audit trail against its card, "
            "which the evaluation record names. Sending the same feedback again is harmless. "
            "`userComment` is never stored or logged."
        ),
    )
    async def feedback(self, request: Request, service_id: ServiceId) -> Response[bytes]:
        guidance = guidance_of(request)
        if service_id not in guidance.packs_by_id:
            raise _no_such_service(service_id)
        data = await read_json(request, FEEDBACK_REQUEST)
        caller = caller_of(request.scope)
        request_id = request_id_of(request.scope)
        metrics = request.app.state.metrics
        try:
            for item in data.feedback:
                reason = item.overrideReason.reason if item.overrideReason else None
                outcome = "accepted" if item.outcome == "accepted" else override_outcome(reason)
                guidance.audit.card_feedback(
                    card=item.card.lower(),
                    service=service_id,
                    outcome=outcome,
                    override_reason=reason.code if reason else None,
                    request_id=request_id,
                    client=caller.client,
                    tenant=caller.tenant,
                    comment_given=bool(item.overrideReason and item.overrideReason.userComment),
                )
                metrics.feedback("cds-hooks", outcome)
        except AuditWriteError as error:
            metrics.audit_failed(error.reason)
            raise audit_unavailable(request) from None
        return Response(b"", status_code=200, media_type=MediaType.TEXT)


def _no_such_service(service_id: str) -> ProblemDetailsException:
    return problem(404, "not-found", "Not Found", f"No CDS service `{service_id}`: no pack with that id.")


def _invalid(field: str, message: str) -> ProblemDetailsException:
    return problem(
        400,
        "invalid-field",
        "Invalid request",
        f"`{field}`: {message}",
        field=field,
        errors=[{"field": field, "message": message}],
    )
