"""The CDS Hooks documents this service reads and writes (CDS Hooks 2.0; 3.0 ballot where noted).

JSON in CDS Hooks holds no ``null``, ``""``, ``[]`` or ``{}``: every optional member here is
left out when it has nothing to say (``omit_defaults``), and nothing is ever an empty string or
collection (the card builder makes sure).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta, Struct

from service.facts.vocabulary import Facts
from service.guidance.decoding import name_pattern
from service.guidance.requests import CASE_REF_MAX, OPAQUE_TEXT_PATTERN

# A UUID as CDS Hooks writes one (any case), and nothing after it.
HOOK_INSTANCE_PATTERN = name_pattern(
    r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}(?!\n)$",
    "a UUID, such as d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
)
RFC3339_UTC = name_pattern(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)(?!\n)$",
    "an RFC 3339 time in UTC, such as 2026-11-26T09:30:00Z",
)


class _Document(Struct, kw_only=True, omit_defaults=True):
    pass


class _Closed(_Document, forbid_unknown_fields=True):
    pass


# --- discovery ----------------------------------------------------------------------------


class CdsService(_Document):
    hook: str
    id: str
    title: str
    description: str
    usageRequirements: str | None = None
    version: str | None = None  # CDS Hooks 3.0


class CdsDiscovery(_Document):
    services: list[CdsService]


# --- the service call -----------------------------------------------------------------------


class CdsContext(_Closed):
    """``context`` of this service's hook: the facts, in the service's own vocabulary."""

    facts: Annotated[Facts, Meta(description="What is known about the case, as for POST /v1/evaluate.")]
    caseRef: (
        Annotated[
            str,
            Meta(
                min_length=1,
                max_length=CASE_REF_MAX,
                pattern=OPAQUE_TEXT_PATTERN,
                description="Your own opaque reference for the case; only its keyed hash is recorded.",
            ),
        ]
        | None
    ) = None


class CdsServiceRequest(_Closed):
    hook: str
    hookInstance: Annotated[str, Meta(pattern=HOOK_INSTANCE_PATTERN)]
    context: CdsContext
    fhirServer: Annotated[str, Meta(max_length=2048)] | None = None
    fhirAuthorization: dict[str, Any] | None = None  # not used: no FHIR reads
    prefetch: dict[str, Any] | None = None  # not used: the facts come in the context
    extension: dict[str, Any] | None = None


class Coding(_Document):
    code: str
    system: str | None = None
    display: str | None = None


NON_ADHERENCE = "http://terminology.hl7.org/CodeSystem/non-adherence-reason-codes"
OUR_REASONS = "https://safeguarding-guidance.example/feedback-reasons"

# The CDS Hooks 3.0 non-adherence reasons a practitioner may give, with the service's own
# "already done", each mapped to the outcome the audit trail counts (REST feedback's outcomes).
OVERRIDE_REASONS: tuple[tuple[Coding, str], ...] = (
    (Coding(system=NON_ADHERENCE, code="cds-not-applicable", display="Not applicable to this case"),
     "not_applicable"),
    (Coding(system=OUR_REASONS, code="already-done", display="Already done"), "already_done"),
    (Coding(system=NON_ADHERENCE, code="recipient-disagrees-evidence", display="Disagree with the learning"),
     "disagree"),
    (Coding(system=NON_ADHERENCE, code="recipient-concerns-outcomes", display="Concerned about the outcome"),
     "disagree"),
    (Coding(system=NON_ADHERENCE, code="cds-suboptimal-context", display="Facts given were incomplete"),
     "not_applicable"),
    (Coding(system=NON_ADHERENCE, code="does-not-align-preferences", display="Not what the family wants"),
     "disagree"),
    (Coding(system=NON_ADHERENCE, code="not-convenient-feasible", display="Not possible now"),
     "not_applicable"),
)  # fmt: skip
OVERRIDE_OUTCOMES = {(coding.system, coding.code): outcome for coding, outcome in OVERRIDE_REASONS}


class CardSource(_Document):
    label: str
    url: str | None = None
    topic: Coding | None = None


class CardLink(_Document):
    label: str
    url: str
    type: Literal["absolute", "smart"]


class Suggestion(_Document):
    label: str
    uuid: str
    isRecommended: bool | None = None


class Card(_Document):
    uuid: str
    summary: str
    indicator: Literal["info", "warning", "critical"]
    source: CardSource
    detail: str | None = None
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[Coding] | None = None
    links: list[CardLink] | None = None
    extension: dict[str, Any] | None = None


class CdsServiceResponse(_Document):
    cards: list[Card]


# --- feedback -------------------------------------------------------------------------------


class AcceptedSuggestion(_Closed):
    id: Annotated[str, Meta(pattern=HOOK_INSTANCE_PATTERN)]


class OverrideReason(_Closed):
    reason: Coding | None = None
    userComment: Annotated[str, Meta(max_length=2000)] | None = None  # never recorded

    def __post_init__(self) -> None:
        # The code is written into the audit trail: only one this service offered, never a
        # caller's text.
        if self.reason is not None and (self.reason.system, self.reason.code) not in OVERRIDE_OUTCOMES:
            raise ValueError("`reason`: not one of the card's overrideReasons (system and code as offered)")


class CdsFeedbackItem(_Closed):
    card: Annotated[str, Meta(pattern=HOOK_INSTANCE_PATTERN)]
    outcome: Literal["accepted", "overridden"]
    outcomeTimestamp: Annotated[str, Meta(pattern=RFC3339_UTC)]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None

    def __post_init__(self) -> None:
        # CDS Hooks 3.0 wants `acceptedSuggestions` with `accepted`; 2.0 clients may leave it out.
        if self.outcome == "accepted" and self.overrideReason is not None:
            raise ValueError("`overrideReason`: only an overridden card has an override reason")


# The check CdsFeedbackItem makes across its fields, in JSON Schema for the OpenAPI document.
CDS_CROSS_FIELD_RULES: dict[str, dict[str, object]] = {
    "CdsFeedbackItem": {
        "not": {"required": ["outcome", "overrideReason"], "properties": {"outcome": {"const": "accepted"}}},
    },
}


class CdsFeedbackRequest(_Closed):
    feedback: Annotated[list[CdsFeedbackItem], Meta(min_length=1, max_length=100)]


# --- errors ---------------------------------------------------------------------------------


class OutcomeIssue(_Document):
    severity: Literal["fatal", "error", "warning", "information"]
    code: str  # FHIR issue type: invalid, not-found, security, login, transient, exception …
    diagnostics: str | None = None
    expression: list[str] | None = None


class OperationOutcome(_Document, tag_field="resourceType", tag="OperationOutcome"):
    """A FHIR OperationOutcome: how CDS Hooks 3.0 (STU) says non-2xx answers carry their reasons."""

    issue: list[OutcomeIssue]
