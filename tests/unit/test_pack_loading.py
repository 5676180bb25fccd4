"""Loading packs: the digest, the vocabulary check and pack selection."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.checking.engine_fit import engine_refusals
from service.facts.paths import vocabulary
from service.packs.loader import PackError, load_pack, load_packs, pack_digest
from service.settings import ConfigurationError, Settings
from service.startup import check_can_serve
from tests.conftest import FIXTURE_PACKS, KNOWLEDGE, SEMANTICS_PACK


def test_the_digest_depends_only_on_content(tmp_path: Path) -> None:
    copy = tmp_path / "somewhere" / "else"
    shutil.copytree(SEMANTICS_PACK, copy)
    assert pack_digest(copy) == pack_digest(SEMANTICS_PACK)
    crlf = copy / "rules.yaml"
    crlf.write_bytes(crlf.read_bytes().replace(b"\n", b"\r\n"))
    assert pack_digest(copy) == pack_digest(SEMANTICS_PACK)
    crlf.write_bytes(crlf.read_bytes() + b"# a comment\r\n")
    assert pack_digest(copy) != pack_digest(SEMANTICS_PACK)


def test_the_vocabulary_is_derived_from_the_request_types() -> None:
    vocab = vocabulary()
    assert vocab.fields["child.unborn"].kind == "bool"
    assert vocab.fields["child.age_months"].maximum == 216
    assert vocab.fields["assessment_factors"].kind == "codes"
    assert "4B" in vocab.fields["assessment_factors"].values
    parents = vocab.record_lists["parents"]
    assert parents.max_items == 6
    assert parents.item_fields["family_support"].values == ("adequate", "limited", "none")


def test_selecting_an_unknown_pack_is_an_error() -> None:
    with pytest.raises(PackError, match="no pack with the id `no-such-pack`"):
        load_packs([KNOWLEDGE], only=["no-such-pack"])


def test_two_packs_with_one_id_are_refused(tmp_path: Path) -> None:
    shutil.copytree(SEMANTICS_PACK, tmp_path / "a")
    shutil.copytree(SEMANTICS_PACK, tmp_path / "b")
    with pytest.raises(PackError, match="pack id `semantics-test` is also used by"):
        load_packs([tmp_path])


def test_a_malformed_pack_stops_loading_naming_file_rule_and_field(tmp_path: Path) -> None:
    copy = tmp_path / "semantics-test"
    shutil.copytree(SEMANTICS_PACK, copy)
    rules = copy / "rules.yaml"
    rules.write_text(rules.read_text().replace("    indicator: warning\n", "    indicator: loud\n", 1))
    with pytest.raises(PackError) as raised:
        load_pack(copy)
    (problem,) = raised.value.problems
    assert problem.file == rules
    assert problem.rule == "check-not-yet-done"
    assert "indicator" in problem.message and problem.line


def test_fixture_packs_load() -> None:
    assert [p.id for p in load_packs([FIXTURE_PACKS])] == ["example-baby-sam-2024"]


def test_a_rule_too_large_for_the_engine_is_refused_naming_it(tmp_path: Path) -> None:
    copy = tmp_path / "semantics-test"
    shutil.copytree(SEMANTICS_PACK, copy)
    rules = copy / "rules.yaml"
    field_pairs = [
        ("care_leaver", "mental_health_history"),
        ("capacity_doubt", "childhood_medication"),
        ("attended_special_school", "additional_help_at_school"),
        ("childhood_camhs_contact", "childhood_abuse_or_neglect"),
    ]
    wide = "".join(f"        - some parents:\n            any: [{a}, {b}]\n" for a, b in field_pairs)
    original = rules.read_text()
    condition = "    when: factors >= 2\n"
    assert condition in original
    rules.write_text(original.replace(condition, f"    when:\n      all:\n{wide}"))
    (problem,) = engine_refusals(load_pack(copy))
    assert problem.rule == "consider-combined-factors"
    assert "split the rule" in problem.message
    assert problem.file == rules and problem.line
    # guidance serve refuses to start on it, naming the same rule and place
    with pytest.raises(ConfigurationError) as refused:
        check_can_serve(Settings.from_env({"GUIDANCE_KNOWLEDGE": str(tmp_path)}))
    assert refused.value.setting == "GUIDANCE_KNOWLEDGE" and str(problem) in refused.value.message


def test_a_key_given_twice_is_refused_naming_its_line(tmp_path: Path) -> None:
    copy = tmp_path / "semantics-test"
    shutil.copytree(SEMANTICS_PACK, copy)
    rules = copy / "rules.yaml"
    text = rules.read_text()
    # A second `indicator:` further down the same rule: YAML alone would keep it silently.
    rules.write_text(
        text.replace(
            "    detail: Do the assessment.\n", "    detail: Do the assessment.\n    indicator: info\n", 1
        )
    )
    second = (
        rules.read_text()
        .splitlines()
        .index("    indicator: info", text.splitlines().index("  - id: check-not-yet-done"))
    )
    with pytest.raises(PackError) as raised:
        load_pack(copy)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (rules, second + 1)
    assert "key `indicator` is given twice" in problem.message
