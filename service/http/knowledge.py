"""``GET /v1/packs`` and ``GET /v1/rules``: the knowledge as loaded, for integrators to read."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from litestar import Controller, Request, get
from litestar.params import PathParameter

from service.conditions.words import describe
from service.http.problems import problem
from service.http.schemas import LinkView, PackView, RuleView
from service.http.state import guidance_of
from service.packs.model import ID_PATTERN, Pack, Rule


def rule_view(rule: Rule) -> RuleView:
    return RuleView(
        id=rule.id,
        pack=rule.pack_id,
        learning_point=rule.learning_point,
        kind=rule.kind,
        indicator=rule.indicator,
        summary=rule.summary,
        detail=rule.detail,
        reason=rule.reason,
        quote=rule.quote,
        condition=describe(rule.condition),
        links=[LinkView(label=link.label, url=link.url, setting=link.setting) for link in rule.links],
    )


def pack_view(pack: Pack, today: date) -> PackView:
    return PackView(
        id=pack.id,
        title=pack.spec.title,
        version=pack.version,
        digest=pack.digest,
        source=pack.spec.source.title,
        issued_by=pack.spec.source.issued_by,
        published=pack.spec.source.published,
        rules=len(pack.rules),
        review_by=pack.spec.review_by,
        review_overdue=pack.spec.review_overdue(today),
        source_url=pack.spec.source_url,
        licence=pack.spec.licence,
    )


PackId = Annotated[str, PathParameter(pattern=ID_PATTERN, description="A pack's id.")]
RuleId = Annotated[str, PathParameter(pattern=ID_PATTERN, description="A rule's id within its pack.")]


class KnowledgeController(Controller):
    path = "/v1"
    tags = ["Knowledge"]

    @get("/packs", summary="The knowledge packs loaded")
    async def packs(self, request: Request) -> list[PackView]:
        today = datetime.now(UTC).date()
        return [pack_view(pack, today) for pack in guidance_of(request).packs]

    @get("/rules", summary="Every rule of every loaded pack")
    async def rules(self, request: Request) -> list[RuleView]:
        return [rule_view(rule) for rule in guidance_of(request).evaluator.rules]

    @get(
        "/rules/{pack_id:str}/{rule_id:str}",
        summary="One rule, by its namespaced id",
    )
    async def rule(self, request: Request, pack_id: PackId, rule_id: RuleId) -> RuleView:
        rule = guidance_of(request).evaluator.rules_by_id.get(f"{pack_id}/{rule_id}")
        if rule is None:
            raise problem(404, "not-found", "Not Found", f"No rule `{pack_id}/{rule_id}` is loaded.")
        return rule_view(rule)
