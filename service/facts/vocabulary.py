"""The fact vocabulary: the one place that defines what a caller may tell the service.

Every field is optional. Absent and ``null`` both mean "not known", which is never the same
as ``false``. Unknown fields are rejected so that a typo cannot silently drop a prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from msgspec import Meta, Struct

from service.facts.cin_codes import NO_FACTORS_IDENTIFIED, CinCode

MAX_PARENTS = 6

Role = Literal["mother", "father", "carer"]
FamilySupport = Literal["none", "limited", "adequate"]


def _yes_no(description: str) -> Meta:
    """What a yes/no fact means: its annotation is ``Annotated[bool | None, _yes_no(…)]``."""
    return Meta(description=description, examples=[True])


class _Facts(Struct, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    """Base for every fact group: closed to unknown fields, nulls left out when encoded."""


class Child(_Facts):
    """What is known about the child."""

    unborn: Annotated[bool | None, _yes_no("A pre-birth case.")] = None
    age_months: (
        Annotated[
            int,
            Meta(
                ge=0,
                le=216,
                description="The child's age in whole months, 0 to 216, written as an integer (3, not 3.0).",
                examples=[3],
            ),
        ]
        | None
    ) = None
    child_protection_plan: Annotated[
        bool | None, _yes_no("The child is subject to a child protection plan.")
    ] = None

    def __post_init__(self) -> None:
        if self.unborn is True and self.age_months is not None:
            # msgspec reports the place as this struct; the message names the field within it.
            raise ValueError(
                "`age_months`: an unborn child has no age in months; send `unborn: true` or "
                "`age_months`, not both"
            )


class Parent(_Facts):
    """One parent or carer: their role and what is known of their own childhood and needs."""

    role: Annotated[
        Role | None, Meta(description="Mother, father or another carer.", examples=["mother"])
    ] = None
    care_leaver: Annotated[bool | None, _yes_no("Spent time in care as a child.")] = None
    extensive_childhood_involvement_with_services: Annotated[
        bool | None, _yes_no("Had extensive involvement with professionals during their own childhood.")
    ] = None
    childhood_abuse_or_neglect: Annotated[
        bool | None, _yes_no("Experienced abuse or neglect as a child.")
    ] = None
    mental_health_history: Annotated[
        bool | None, _yes_no("Has a history of mental ill health, for example depression.")
    ] = None
    family_support: Annotated[
        FamilySupport | None,
        Meta(description="Positive support available from their own family.", examples=["limited"]),
    ] = None
    attended_special_school: Annotated[bool | None, _yes_no("Went to a special school.")] = None
    additional_help_at_school: Annotated[
        bool | None, _yes_no("Needed additional help at school for learning needs or behaviour.")
    ] = None
    childhood_medication: Annotated[bool | None, _yes_no("Was prescribed medication as a child.")] = None
    childhood_camhs_contact: Annotated[
        bool | None, _yes_no("Had contact with Child and Adolescent Mental Health Services as a child.")
    ] = None
    capacity_doubt: Annotated[
        bool | None, _yes_no("There are reasons to doubt this parent's mental capacity.")
    ] = None
    capacity_formally_assessed: Annotated[
        bool | None, _yes_no("A formal Mental Capacity Act 2005 assessment has been done for that decision.")
    ] = None


class PreBirth(_Facts):
    """For a pre-birth case: the assessments done or asked for."""

    risk_assessment_completed: Annotated[
        bool | None,
        _yes_no("An assessment of the risks and vulnerabilities in this pre-birth case is complete."),
    ] = None
    social_work_assessment_requested: Annotated[
        bool | None, _yes_no("A pre-birth social work assessment has been requested.")
    ] = None


class HealthProcedure(_Facts):
    """A serious health procedure proposed for the child, and the parents' decision about it."""

    serious_procedure_proposed: Annotated[
        bool | None, _yes_no("A serious health procedure is proposed for the child.")
    ] = None
    parents_deciding: Annotated[bool | None, _yes_no("The parents must decide whether to consent to it.")] = (
        None
    )
    parents_offered_support: Annotated[
        bool | None, _yes_no("The parents have been offered support with that decision.")
    ] = None
    local_professionals_informed: Annotated[
        bool | None,
        _yes_no("Professionals working locally with the family know about the specific health issue."),
    ] = None


class CauseForConcern(_Facts):
    """A cause-for-concern form the practitioner is completing."""

    completing_form: Annotated[
        bool | None, _yes_no("The practitioner is completing a cause-for-concern form now.")
    ] = None
    holds_information_from_other_agencies: Annotated[
        bool | None, _yes_no("The practitioner holds information that came from other agencies.")
    ] = None
    information_from_other_agencies_included: Annotated[
        bool | None, _yes_no("That information is included in the form.")
    ] = None


class ProfessionalDisagreement(_Facts):
    """The practitioner's disagreement with a decision made about the case."""

    disagrees_with_decision: Annotated[
        bool | None, _yes_no("The practitioner disagrees with a decision made about the case.")
    ] = None
    remains_concerned: Annotated[bool | None, _yes_no("The practitioner remains concerned.")] = None
    escalated: Annotated[bool | None, _yes_no("The disagreement has been escalated.")] = None
    resolved: Annotated[bool | None, _yes_no("The escalated disagreement has been resolved.")] = None


def _only_code_21_alone(codes: Sequence[str] | None) -> None:
    if codes is None:
        return
    if NO_FACTORS_IDENTIFIED in codes and len(codes) > 1:
        raise ValueError("code `21` (no factors identified) must be the only code")
    if len(set(codes)) != len(codes):
        raise ValueError("each code may appear only once")


class Facts(_Facts):
    """What the caller knows about the case. Leave out, or send null for, anything not known."""

    child: Child | None = None
    parents: (
        Annotated[
            list[Parent],
            Meta(
                max_length=MAX_PARENTS,
                description="Each parent or carer, at most six.",
                examples=[[{"role": "mother", "care_leaver": True, "family_support": "limited"}]],
            ),
        ]
        | None
    ) = None
    assessment_factors: (
        Annotated[
            list[CinCode],
            Meta(
                max_length=40,
                description=(
                    "Children in Need census factors identified at the end of assessment "
                    "(data item N00181). Each code at most once; code `21` may only stand alone."
                ),
                examples=[["4B", "3B"]],
                # What `_only_code_21_alone` checks, said in JSON Schema for the OpenAPI document.
                extra_json_schema={"uniqueItems": True, "not": {"contains": {"const": "21"}, "minItems": 2}},
            ),
        ]
        | None
    ) = None
    pre_birth: PreBirth | None = None
    health_procedure: HealthProcedure | None = None
    cause_for_concern: CauseForConcern | None = None
    professional_disagreement: ProfessionalDisagreement | None = None
    important_decision_pending: Annotated[bool | None, _yes_no("A parent faces an important decision.")] = (
        None
    )

    def __post_init__(self) -> None:
        try:
            _only_code_21_alone(self.assessment_factors)
        except ValueError as error:
            # msgspec reports the place as this struct; the message names the field within it.
            raise ValueError(f"`assessment_factors`: {error}") from None


# The checks the structs make across their fields after decoding, said in JSON Schema for the
# OpenAPI document (by component name), next to the code that makes them.
CROSS_FIELD_RULES: dict[str, dict[str, object]] = {
    "Child": {
        "not": {
            "required": ["unborn", "age_months"],
            "properties": {"unborn": {"const": True}, "age_months": {"type": "integer"}},
        },
    },
}
