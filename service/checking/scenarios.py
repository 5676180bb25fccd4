"""Running a pack's scenarios, and the rule coverage they give.

A scenario is facts in and prompt ids out: the ids it ``shows`` must appear and the ids it
``does_not_show`` must not. A rule is covered when some scenario makes it fire and some
scenario proves it silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import msgspec

from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.packs.loader import SCENARIOS_FILE, PackProblem
from service.packs.model import Pack, ScenarioSpec


class ShownPrompt(NamedTuple):
    because: list[tuple[str, Any]]  # the facts the prompt cites, in order
    text: str  # its reason and detail


Shown = dict[str, ShownPrompt]  # local rule id -> what its prompt says


@dataclass
class ScenarioOutcome:
    name: str
    description: str
    shown: list[str]
    missing: list[str]  # expected to show, did not
    unexpected: list[str]  # expected not to show, did
    error: str | None = None
    wrong_because: list[str] = field(default_factory=list)  # what the cited facts lacked or had

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected or self.error or self.wrong_because)


def judge(scenario: ScenarioSpec, shown: Shown) -> ScenarioOutcome:
    """The scenario's expectations against what was shown (``shown`` in the order shown)."""
    wrong = []
    for rule_id, cited in scenario.because.items():
        prompt = shown.get(rule_id)
        for fact in cited:
            if prompt is not None and (fact.path, fact.value) not in prompt.because:
                wrong.append(f"{rule_id} does not cite {fact.path} = {_json(fact.value)}")
    for rule_id, prefixes in scenario.not_because.items():
        prompt = shown.get(rule_id)
        for path, _ in prompt.because if prompt else ():
            for prefix in prefixes:
                if path == prefix or path.startswith((prefix + ".", prefix + "[")):
                    wrong.append(f"{rule_id} cites {path}, under {prefix}")
    for rule_id, phrases in scenario.says.items():
        prompt = shown.get(rule_id)
        text = " ".join(prompt.text.split()) if prompt else ""  # line breaks in a pack's text are not words
        for phrase in phrases:
            if prompt is not None and " ".join(phrase.split()) not in text:
                wrong.append(f"{rule_id} does not say {_json(phrase)}")
    return ScenarioOutcome(
        name=scenario.name,
        description=scenario.description,
        shown=list(shown),
        missing=[r for r in scenario.shows if r not in shown],
        unexpected=[r for r in scenario.does_not_show if r in shown],
        wrong_because=wrong,
    )


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


@dataclass
class PackReport:
    pack: Pack
    outcomes: list[ScenarioOutcome] = field(default_factory=list)
    problems: list[PackProblem] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)  # local rule ids
    proven_silent: set[str] = field(default_factory=set)

    @property
    def never_fired(self) -> list[str]:
        return [r.local_id for r in self.pack.rules if r.local_id not in self.fired]

    @property
    def never_silent(self) -> list[str]:
        return [r.local_id for r in self.pack.rules if r.local_id not in self.proven_silent]

    @property
    def coverage(self) -> float:
        rules = self.pack.rules
        if not rules:
            return 1.0
        covered = sum(1 for r in rules if r.local_id in self.fired and r.local_id in self.proven_silent)
        return covered / len(rules)

    @property
    def passed(self) -> bool:
        return (
            not self.problems
            and all(o.passed for o in self.outcomes)
            and not self.never_fired
            and not self.never_silent
        )


def run_scenarios(pack: Pack, evaluator: Evaluator) -> PackReport:
    report = PackReport(pack)
    local_ids = {rule.local_id for rule in pack.rules}
    prefix = pack.id + "/"
    file = pack.directory / SCENARIOS_FILE
    if not pack.scenarios:
        report.problems.append(PackProblem(file, "the pack has no scenarios; add scenarios.yaml"))
    names: set[str] = set()
    for scenario in pack.scenarios:
        if scenario.name in names:
            report.problems.append(PackProblem(file, f"scenario `{scenario.name}` is named twice"))
        names.add(scenario.name)
        for rule_id in [*scenario.shows, *scenario.does_not_show]:
            if rule_id not in local_ids:
                report.problems.append(
                    PackProblem(
                        file,
                        f"scenario `{scenario.name}` names rule `{rule_id}`, which the pack lacks",
                    )
                )
        try:
            facts = msgspec.convert(scenario.facts, type=Facts, strict=True)
        except msgspec.ValidationError as error:
            report.outcomes.append(
                ScenarioOutcome(scenario.name, scenario.description, [], [], [], f"facts: {error}")
            )
            continue
        shown = {
            p.id[len(prefix) :]: ShownPrompt(
                [(b.path, b.value) for b in p.because], f"{p.reason}\n{p.detail}"
            )
            for p in evaluator.evaluate(facts)
            if p.id.startswith(prefix)
        }
        for rule_id in [*scenario.because, *scenario.not_because, *scenario.says]:
            if rule_id not in scenario.shows:
                report.problems.append(
                    PackProblem(
                        file, f"scenario `{scenario.name}` checks what `{rule_id}` cites; list it in `shows`"
                    )
                )
        # Coverage counts only what a scenario asserts and the evaluation bears out.
        report.fired.update(rule_id for rule_id in scenario.shows if rule_id in shown)
        report.proven_silent.update(rule_id for rule_id in scenario.does_not_show if rule_id not in shown)
        report.outcomes.append(judge(scenario, shown))
    return report
