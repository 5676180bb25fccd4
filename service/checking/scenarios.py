"""Running a pack's scenarios, and the rule coverage they give.

A scenario is facts in and prompt ids out: the ids it ``shows`` must appear and the ids it
``does_not_show`` must not. A rule is covered when some scenario makes it fire and some
scenario proves it silent.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.packs.loader import SCENARIOS_FILE, PackProblem
from service.packs.model import Pack


@dataclass
class ScenarioOutcome:
    name: str
    description: str
    shown: list[str]
    missing: list[str]  # expected to show, did not
    unexpected: list[str]  # expected not to show, did
    error: str | None = None

    @property
    def passed(self) -> bool:
        return not (self.missing or self.unexpected or self.error)


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
        shown = [p.id[len(prefix) :] for p in evaluator.evaluate(facts) if p.id.startswith(prefix)]
        # Coverage counts only what a scenario asserts and the evaluation bears out.
        report.fired.update(rule_id for rule_id in scenario.shows if rule_id in shown)
        report.proven_silent.update(rule_id for rule_id in scenario.does_not_show if rule_id not in shown)
        report.outcomes.append(
            ScenarioOutcome(
                name=scenario.name,
                description=scenario.description,
                shown=shown,
                missing=[r for r in scenario.shows if r not in shown],
                unexpected=[r for r in scenario.does_not_show if r in shown],
            )
        )
    return report
