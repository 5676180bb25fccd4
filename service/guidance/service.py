"""The guidance service as the API and the CLI see it: evaluate, record, answer."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from service.audit.trail import AuditTrail
from service.evaluation.evaluator import Evaluator
from service.evaluation.prompts import Prompt
from service.facts.vocabulary import Facts
from service.packs.model import Pack


def new_uuid4() -> str:
    """A random (version 4) UUID in its usual text form; ``str(uuid.uuid4())`` without the
    ``UUID`` object it builds on the way."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class Guidance:
    def __init__(self, packs: Sequence[Pack], audit: AuditTrail, link_settings: dict[str, str]) -> None:
        self.packs = tuple(packs)
        self.evaluator = Evaluator(self.packs, link_settings)
        self.audit = audit

    def evaluate(
        self,
        facts: Facts,
        *,
        case_ref: str | None,
        request_id: str,
        client: str,
        tenant: str | None = None,
    ) -> tuple[str, list[Prompt]]:
        """Prompts for the case, recorded in the audit trail before they are returned.

        Raises ``AuditWriteError`` when the record cannot be written: no unaudited guidance.
        """
        started = time.perf_counter()
        prompts = self.evaluator.evaluate(facts)
        evaluation_id = new_uuid4()
        self.audit.evaluation(
            evaluation_id=evaluation_id,
            request_id=request_id,
            client=client,
            tenant=tenant,
            case_ref=case_ref,
            prompts=prompts,
            duration_ms=(time.perf_counter() - started) * 1000,
        )
        return evaluation_id, prompts
