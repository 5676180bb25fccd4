"""The guidance service as the API and the CLI see it: evaluate, record, answer."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime

from msgspec import Struct

from service.audit.trail import AuditTrail
from service.evaluation.evaluator import Evaluator
from service.evaluation.prompts import Prompt
from service.facts.vocabulary import Facts
from service.guidance.answers import KnowledgeRef, knowledge_refs
from service.ids import random_uuid4
from service.packs.model import Pack

new_uuid4 = random_uuid4  # ``str(uuid.uuid4())`` without the ``UUID`` object


class Evaluation(Struct, frozen=True):
    evaluation_id: str
    prompts: list[Prompt]
    card_ids: list[str] | None = None  # one per prompt, when answered as CDS Hooks cards


class Guidance:
    def __init__(self, packs: Sequence[Pack], audit: AuditTrail, link_settings: dict[str, str]) -> None:
        self.packs = tuple(packs)
        self.packs_by_id = {pack.id: pack for pack in self.packs}
        self.evaluator = Evaluator(self.packs, link_settings)
        self.audit = audit
        self._knowledge: tuple[int, list[KnowledgeRef]] | None = None

    def knowledge(self) -> list[KnowledgeRef]:
        """The packs an answer names; worked out again only when the (UTC) date changes, since a
        pack's review can fall overdue while the service runs."""
        day = int(time.time() // 86_400)  # the UTC date, as days since 1970: cheaper to read
        if self._knowledge is None or self._knowledge[0] != day:
            self._knowledge = (day, knowledge_refs(self.packs, datetime.now(UTC).date()))
        return self._knowledge[1]

    def evaluate(
        self,
        facts: Facts,
        *,
        case_ref: str | None,
        request_id: str,
        client: str,
        tenant: str | None = None,
        pack: str | None = None,
        as_cards: bool = False,
        trace_id: str | None = None,
    ) -> Evaluation:
        """Prompts for the case, recorded in the audit trail before they are returned: from every
        pack, or from ``pack`` alone (a CDS Hooks service is one pack). ``as_cards`` names a card
        for each prompt, in the record too, so that feedback on a card finds its prompt.
        ``trace_id``, when the request is traced, goes in the record: it leads to the trace.

        Raises ``AuditWriteError`` when the record cannot be written: no unaudited guidance.
        """
        started = time.perf_counter()
        prompts = self.evaluator.evaluate(facts)
        if pack is not None:
            prefix = pack + "/"
            prompts = [prompt for prompt in prompts if prompt.id.startswith(prefix)]
        card_ids = [new_uuid4() for _ in prompts] if as_cards else None
        evaluation_id = new_uuid4()
        self.audit.evaluation(
            evaluation_id=evaluation_id,
            request_id=request_id,
            client=client,
            tenant=tenant,
            case_ref=case_ref,
            prompts=prompts,
            duration_ms=(time.perf_counter() - started) * 1000,
            pack=pack,
            card_ids=card_ids,
            trace_id=trace_id,
        )
        return Evaluation(evaluation_id, prompts, card_ids)
