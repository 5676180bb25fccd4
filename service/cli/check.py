"""``guidance check``: validate every pack, run its scenarios, report rule coverage."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from service.checking.engine_fit import engine_refusals
from service.checking.scenarios import PackReport, run_scenarios
from service.evaluation.evaluator import Evaluator
from service.packs.loader import PackError, PackProblem, discover, load_pack
from service.settings import settings_from_env


def check(dirs: list[Path], *, strict: bool = False) -> int:
    roots = dirs or list(settings_from_env().knowledge_dirs)
    missing = [root for root in roots if not root.exists()]
    for root in missing:
        print(f"{root}: no such folder", file=sys.stderr)
    pack_dirs = discover(roots)
    if not pack_dirs and not missing:
        print(
            f"no pack found in {', '.join(map(str, roots))} (a pack is a folder with pack.yaml)",
            file=sys.stderr,
        )
        return 1
    failed = bool(missing)
    seen_ids: dict[str, Path] = {}
    for directory in pack_dirs:
        try:
            pack = load_pack(directory)
        except PackError as error:
            failed = True
            print(f"✗ {directory}")
            _print_problems(error.problems)
            continue
        refusals = engine_refusals(pack)
        if refusals:
            failed = True
            print(f"✗ {directory}")
            _print_problems(refusals)
            continue
        if pack.id in seen_ids:
            failed = True
            print(f"✗ {directory}: pack id `{pack.id}` is also used by {seen_ids[pack.id]}")
            continue
        seen_ids[pack.id] = directory
        report = run_scenarios(pack, Evaluator([pack]))
        failed |= not report.passed
        _print_report(report)
        review_by = pack.spec.review_by
        if review_by is not None and pack.spec.review_overdue(datetime.now(UTC).date()):
            failed |= strict
            mark = "✗" if strict else "!"
            print(
                f"  {mark} review overdue: the pack was due for review by {review_by.isoformat()}; review it "
                "against current practice and law, then set a new review_by"
            )
    print()
    print("FAILED" if failed else f"OK: {len(seen_ids)} pack{'s' if len(seen_ids) != 1 else ''} checked")
    return 1 if failed else 0


def _print_problems(problems: list[PackProblem]) -> None:
    for problem in problems:
        print(f"  {problem}")


def _print_report(report: PackReport) -> None:
    pack = report.pack
    mark = "✓" if report.passed else "✗"
    passed = sum(1 for o in report.outcomes if o.passed)
    print(f"{mark} {pack.id} {pack.version}  {pack.digest}")
    print(f"  {len(pack.rules)} rules, {passed}/{len(report.outcomes)} scenarios pass")
    _print_problems(report.problems)
    scenarios_file = pack.directory / "scenarios.yaml"
    for outcome in report.outcomes:
        if outcome.passed:
            continue
        print(f"  {scenarios_file}: scenario {outcome.name}: {outcome.description}")
        if outcome.error:
            print(f"    {outcome.error}")
        for rule_id in outcome.missing:
            print(
                f"    expected {rule_id} to show; it did not (shown: {', '.join(outcome.shown) or 'nothing'})"
            )
        for rule_id in outcome.unexpected:
            print(f"    expected {rule_id} not to show; it did")
        for complaint in outcome.wrong_because:
            print(f"    {complaint}")
    covered = round(report.coverage * 100)
    print(f"  coverage: {covered}% of rules both fire in a scenario and are proven silent in one")
    for rule_id in report.never_fired:
        print(f"    {rule_id}: no scenario makes it fire; add one listing it under `shows`")
    for rule_id in report.never_silent:
        print(f"    {rule_id}: no scenario proves it silent; add one listing it under `does_not_show`")
