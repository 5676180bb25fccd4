"""``POST /v1/evaluate`` and ``POST /v1/feedback``."""

from __future__ import annotations

import time

import msgspec
from litestar import Controller, MediaType, Request, Response, post
from litestar.exceptions import HTTPException

from service.audit.sinks import AuditWriteError
from service.auth.callers import caller_of
from service.guidance.answers import EvaluationResponse, FeedbackReceipt
from service.guidance.decoding import StrictDecoder
from service.guidance.requests import EvaluationRequest, FeedbackRequest
from service.http.bodies import read_json
from service.http.headers import request_id_of
from service.http.problems import audit_unavailable, invalid_field
from service.http.state import guidance_of, knowledge_refs

EVALUATION_REQUEST = StrictDecoder(EvaluationRequest)
FEEDBACK_REQUEST = StrictDecoder(FeedbackRequest)
# The answer is encoded here, once, straight to bytes: the same JSON Litestar would write for
# the struct, without its generic serialisation step.
_encode_response = msgspec.json.Encoder().encode


class EvaluationController(Controller):
    path = "/v1"
    tags = ["Guidance"]

    @post(
        "/evaluate",
        status_code=200,
        summary="Prompts for the facts of a case",
        description=(
            "Send what is known about a case; get back the prompts its facts call for, each "
            "with the learning point it comes from and the facts that made it appear. "
            "A fact left out or sent as null is *not known*, which is never the same as false. "
            "The same facts and knowledge always give the same prompts in the same order."
        ),
    )
    async def evaluate(self, request: Request) -> Response[EvaluationResponse]:
        state = request.app.state
        metrics, tracing = state.metrics, state.tracing
        try:
            data = await read_json(request, EVALUATION_REQUEST)
        except HTTPException:
            metrics.refused_bad_input("rest")
            raise
        guidance = guidance_of(request)
        caller = caller_of(request.scope)
        started = time.perf_counter()
        try:
            evaluation = guidance.evaluate(
                data.facts,
                case_ref=data.case_ref,
                request_id=request_id_of(request.scope),
                client=caller.client,
                tenant=caller.tenant,
                trace_id=tracing.trace_id() if tracing is not None else None,
            )
        except AuditWriteError as error:
            metrics.refused_audit("rest", error.reason)
            raise audit_unavailable(request) from None
        metrics.answered("rest", evaluation.prompts, time.perf_counter() - started)
        if tracing is not None:
            tracing.evaluated(evaluation.evaluation_id)
        body = EvaluationResponse(
            evaluation_id=evaluation.evaluation_id,
            knowledge=knowledge_refs(request),
            prompts=evaluation.prompts,
        )
        # Bytes encoded here, by msgspec, not by Litestar: Response's type wants the Struct.
        return Response(_encode_response(body), media_type=MediaType.JSON)  # type: ignore[arg-type]

    @post(
        "/feedback",
        status_code=202,
        summary="Record what the practitioner did with a prompt",
        description=(
            "Idempotent: the same feedback sent twice is harmless. The comment is for the "
            "caller's own records; it is never stored or logged, the audit trail only notes "
            "that one was given. Maps onto CDS Hooks feedback: `accepted` is accepted, the "
            "other outcomes are override reasons."
        ),
    )
    async def feedback(self, request: Request) -> Response[FeedbackReceipt]:
        data = await read_json(request, FEEDBACK_REQUEST)
        guidance = guidance_of(request)
        if data.prompt_id not in guidance.evaluator.rules_by_id:
            raise invalid_field("prompt_id", "no loaded pack has a prompt with this id")
        caller = caller_of(request.scope)
        try:
            guidance.audit.feedback(
                evaluation_id=data.evaluation_id,
                prompt_id=data.prompt_id,
                outcome=data.outcome,
                request_id=request_id_of(request.scope),
                client=caller.client,
                tenant=caller.tenant,
                comment_given=bool(data.comment),
            )
        except AuditWriteError as error:
            request.app.state.metrics.audit_failed(error.reason)
            raise audit_unavailable(request) from None
        request.app.state.metrics.feedback("rest", data.outcome)
        receipt = FeedbackReceipt(
            evaluation_id=data.evaluation_id, prompt_id=data.prompt_id, outcome=data.outcome
        )
        return Response(receipt, status_code=202)
