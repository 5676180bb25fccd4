"""What a knowledge pack is: the files as written (``*Spec``) and the pack as loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from msgspec import Struct

from service.conditions.tree import Condition

Kind = Literal["ask", "check", "consider", "escalate", "inform"]
Indicator = Literal["info", "warning", "critical"]

SUMMARY_MAX_CHARS = 139  # CDS Hooks: a card's summary is *fewer than* 140 characters
ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,62}(?!\n)$"  # pack and rule ids: lower case, digits, hyphens
INDICATOR_ORDER: dict[str, int] = {"critical": 0, "warning": 1, "info": 2}


class _Spec(Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class SourceSpec(_Spec):
    title: str
    issued_by: str
    published: str
    file: str
    label: str


class LearningPointSpec(_Spec):
    number: int
    quote: str


class CountSpec(_Spec):
    description: str
    count: list[Any]


class PackSpec(_Spec):
    """``pack.yaml``: who published the learning, its learning points, shared definitions."""

    id: str
    title: str
    version: str
    source: SourceSpec
    learning_points: list[LearningPointSpec]
    terms: dict[str, Any] = {}
    counts: dict[str, CountSpec] = {}
    # Currency: when the pack must next be reviewed against practice and the law, where the
    # source is published, and on what terms the pack (and what it quotes) may be used.
    review_by: date | None = None
    source_url: str | None = None
    licence: str | None = None

    def review_overdue(self, today: date) -> bool:
        return self.review_by is not None and today > self.review_by


class LinkSpec(_Spec):
    label: str
    url: str | None = None
    setting: str | None = None  # a link each deployment configures (its own procedure)


class RuleSpec(_Spec):
    id: str
    learning_point: int
    kind: Kind
    indicator: Indicator
    summary: str
    detail: str
    reason: str
    when: Any
    quote: str | None = None
    links: list[LinkSpec] = []
    no_records: str | None = None  # what `{records}` reads when the prompt names no record


class RulesSpec(_Spec):
    rules: list[RuleSpec]


class CitedFactSpec(_Spec):
    path: str
    value: bool | int | str | None


class ScenarioSpec(_Spec):
    name: str
    description: str
    facts: dict[str, Any]
    shows: list[str] = []
    does_not_show: list[str] = []
    # For a rule the scenario shows: facts its prompt must cite (`because`), and paths under
    # which it must cite nothing (`not_because`, e.g. `parents[1]` for another parent).
    because: dict[str, list[CitedFactSpec]] = {}
    not_because: dict[str, list[str]] = {}
    # For a rule the scenario shows: words its prompt's reason or detail must contain.
    says: dict[str, list[str]] = {}


class ScenariosSpec(_Spec):
    scenarios: list[ScenarioSpec]


@dataclass(frozen=True, slots=True)
class Place:
    """Where something was written: a file and its line, for any stage to report."""

    file: Path
    line: int | None

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else str(self.file)


@dataclass(frozen=True, slots=True)
class Count:
    """A number the pack derives from the facts before rules see them (``risk_indicators``)."""

    name: str
    description: str
    parts: tuple[tuple[str | None, Condition], ...]  # (record list or None, condition)
    place: Place | None = None


@dataclass(frozen=True, slots=True)
class Rule:
    id: str  # namespaced: "<pack id>/<rule id>"
    local_id: str
    pack_id: str
    learning_point: int
    kind: Kind
    indicator: Indicator
    summary: str
    detail: str
    reason: str
    condition: Condition
    quote: str
    links: tuple[LinkSpec, ...]
    place: Place | None = None
    no_records: str | None = None

    @property
    def order(self) -> tuple[int, int, str]:
        return (INDICATOR_ORDER[self.indicator], self.learning_point, self.id)


@dataclass(frozen=True, slots=True)
class Pack:
    spec: PackSpec
    rules: tuple[Rule, ...]
    counts: tuple[Count, ...]
    digest: str
    directory: Path
    source_text: str
    scenarios: tuple[ScenarioSpec, ...] = field(default=())

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def version(self) -> str:
        return self.spec.version
