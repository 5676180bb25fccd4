"""The `guidance` command: check, evaluate (the API's own path) and rules."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from litestar.testing import TestClient

from service.facts.examples import HARRY_PRE_BIRTH
from tests.conftest import FIXTURE_PACKS, KNOWLEDGE, REPO, SEMANTICS_PACK

HARRY_DIR = KNOWLEDGE / "harry-2019"


def guidance(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_passes_on_the_fixture_packs_with_full_coverage() -> None:
    # The shipped packs' scenarios run once per `make test`, through the API (test_scenarios.py).
    result = guidance("check", str(FIXTURE_PACKS), str(SEMANTICS_PACK))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK: 2 packs checked" in result.stdout
    assert result.stdout.count("coverage: 100%") == 2


@pytest.mark.parametrize(
    "facts_file_content",
    [
        {"facts": HARRY_PRE_BIRTH, "case_ref": "CASE-1"},
        {**HARRY_PRE_BIRTH, "important_decision_pending": True},
        {},
    ],
)
def test_cli_evaluate_gives_exactly_the_apis_prompts(
    client: TestClient, tmp_path: Path, facts_file_content: dict
) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps(facts_file_content))
    result = guidance("evaluate", str(facts_file), "--json")
    assert result.returncode == 0, result.stderr
    from_cli = json.loads(result.stdout)

    body = facts_file_content if "facts" in facts_file_content else {"facts": facts_file_content}
    from_api = client.post("/v1/evaluate", json=body).json()
    assert from_cli["prompts"] == from_api["prompts"]
    assert from_cli["knowledge"] == from_api["knowledge"]


def test_cli_evaluate_prints_readable_text(tmp_path: Path) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps({"child": {"unborn": True}, "parents": [{"capacity_doubt": True}]}))
    result = guidance("evaluate", str(facts_file), "--knowledge", str(SEMANTICS_PACK))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("3 prompts from semantics-test 0.1.0")
    assert "[WARNING] check · learning point 2 · semantics-test/check-not-yet-done" in result.stdout
    assert "Why: This is a pre-birth case and the assessment is not recorded as done." in result.stdout


def test_cli_evaluate_rejects_a_bad_facts_file_naming_the_field(tmp_path: Path) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps({"child": {"unbron": True}}))
    result = guidance("evaluate", str(facts_file))
    assert result.returncode == 2
    # The API's own words: the same strict decoder reads the file.
    assert "`facts.child.unbron`: unknown field `unbron`" in result.stderr


def test_cli_evaluate_can_use_one_pack_of_several(tmp_path: Path) -> None:
    facts_file = tmp_path / "facts.json"
    facts_file.write_text(json.dumps({"child": {"unborn": True}, "assessment_factors": ["5B"]}))
    result = guidance(
        "evaluate", str(facts_file), "--json", "--knowledge", str(KNOWLEDGE),
        "--knowledge", str(FIXTURE_PACKS), "--pack", "example-baby-sam-2024",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert [k["pack"] for k in answer["knowledge"]] == ["example-baby-sam-2024"]
    assert [p["id"] for p in answer["prompts"]] == ["example-baby-sam-2024/check-understanding"]


def test_rules_prints_a_table_with_conditions_in_words() -> None:
    result = guidance("rules", "--knowledge", str(SEMANTICS_PACK))
    assert result.returncode == 0, result.stderr
    assert "semantics-test 0.1.0" in result.stdout
    assert "consider-combined-factors" in result.stdout
    assert "factors ≥ 2" in result.stdout


# --- A broken pack fails the check, naming the file and the problem --------------------------


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    target = tmp_path / "semantics-test"
    shutil.copytree(SEMANTICS_PACK, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def failing_check(pack_dir: Path) -> str:
    result = guidance("check", str(pack_dir))
    assert result.returncode == 1, result.stdout
    return result.stdout + result.stderr


def test_a_copy_of_the_pack_passes(pack_copy: Path) -> None:
    assert guidance("check", str(pack_copy)).returncode == 0


def test_bad_yaml_syntax_is_reported_with_file_and_line(pack_copy: Path) -> None:
    edit(pack_copy / "rules.yaml", "    kind: consider\n", "    kind: [consider\n")
    output = failing_check(pack_copy)
    assert f"{pack_copy / 'rules.yaml'}:" in output
    assert "not valid YAML" in output


def test_an_unknown_fact_path_is_reported_with_rule_and_suggestion(pack_copy: Path) -> None:
    edit(pack_copy / "rules.yaml", "- child.unborn\n", "- child.unbron\n")
    output = failing_check(pack_copy)
    assert f"{pack_copy / 'rules.yaml'}:" in output
    assert "rule check-not-yet-done" in output
    assert "`child.unbron` is not a fact" in output and "Did you mean `child.unborn`?" in output


def test_a_duplicate_rule_id_is_reported(pack_copy: Path) -> None:
    edit(pack_copy / "rules.yaml", "- id: doubt-named-parent", "- id: check-not-yet-done")
    output = failing_check(pack_copy)
    assert "rule check-not-yet-done: this id is used by another rule" in output


def test_an_altered_quote_is_reported(pack_copy: Path) -> None:
    edit(pack_copy / "pack.yaml", "take particular care", "take some care")
    output = failing_check(pack_copy)
    assert f"{pack_copy / 'pack.yaml'}:" in output
    assert "the quote of learning point 3 is not word for word in source.txt" in output


def test_a_missing_learning_point_is_reported(pack_copy: Path) -> None:
    text = (pack_copy / "pack.yaml").read_text()
    start = text.index("  - number: 2\n")
    end = text.index("  - number: 3\n")
    (pack_copy / "pack.yaml").write_text(text[:start] + text[end:])
    output = failing_check(pack_copy)
    assert "the source has a learning point 2 that `learning_points` does not list" in output


def test_a_learning_point_no_rule_cites_is_reported(pack_copy: Path) -> None:
    edit(pack_copy / "rules.yaml", "    learning_point: 1\n", "    learning_point: 2\n")
    output = failing_check(pack_copy)
    assert "learning point 1 is cited by no rule" in output


def test_a_wrong_type_in_a_rule_is_reported_with_its_line(pack_copy: Path) -> None:
    edit(pack_copy / "rules.yaml", "    kind: inform\n", "    kind: shout\n")
    output = failing_check(pack_copy)
    rules_lines = (pack_copy / "rules.yaml").read_text().splitlines()
    line = next(i for i, text in enumerate(rules_lines, 1) if "kind: shout" in text)
    assert f"{pack_copy / 'rules.yaml'}:{line}: rule inform-young-child:" in output


def test_a_summary_of_140_characters_or_more_is_reported(pack_copy: Path) -> None:
    edit(
        pack_copy / "rules.yaml",
        "    summary: Several known factors combine.",
        "    summary: " + "Please do note " * 12 + "that several known factors combine.",
    )
    output = failing_check(pack_copy)
    assert "summary is" in output and "keep it to 139" in output


def test_a_threshold_out_of_range_is_reported(pack_copy: Path) -> None:
    edit(pack_copy / "rules.yaml", "when: factors >= 2", "when: factors >= 99")
    output = failing_check(pack_copy)
    assert "`factors` runs from 0 to" in output


def test_a_failing_scenario_is_reported(pack_copy: Path) -> None:
    edit(pack_copy / "scenarios.yaml", "does_not_show: [doubt-named-parent]", "shows: [doubt-named-parent]")
    output = failing_check(pack_copy)
    assert "scenario capacity-assessed" in output
    assert "expected doubt-named-parent to show; it did not" in output


def test_a_fact_a_scenario_expects_cited_is_reported(pack_copy: Path) -> None:
    edit(
        pack_copy / "scenarios.yaml",
        "    shows: [doubt-named-parent]\n",
        "    shows: [doubt-named-parent]\n"
        "    because:\n"
        '      doubt-named-parent: [{path: "parents[0].capacity_doubt", value: false}]\n',
    )
    output = failing_check(pack_copy)
    assert "doubt-named-parent does not cite parents[0].capacity_doubt = false" in output


def test_a_rule_no_scenario_makes_fire_fails_the_coverage_check(pack_copy: Path) -> None:
    (pack_copy / "scenarios.yaml").write_text(
        "scenarios:\n"
        "  - name: nothing-known\n"
        "    description: Nothing is known.\n"
        "    facts: {}\n"
        "    does_not_show: [check-not-yet-done]\n"
    )
    output = failing_check(pack_copy)
    assert "check-not-yet-done: no scenario makes it fire" in output
    assert "doubt-named-parent: no scenario proves it silent" in output
    assert "coverage: 0%" in output
