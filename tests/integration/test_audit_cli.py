"""``guidance audit verify|summarize|show`` on logs that the real app wrote, driven over HTTP."""

from __future__ import annotations

import random
import re
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_args

import msgspec
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.audit.chain import seal
from service.audit.summarize import OUTCOMES
from service.facts.examples import HARRY_PRE_BIRTH
from service.guidance.requests import Outcome
from service.settings import Settings
from service.testing.synthetic import random_facts
from tests.audit_file import audit_records
from tests.conftest import REPO

REST_OUTCOMES: tuple[str, ...] = get_args(Outcome)  # what POST /v1/feedback accepts
PACK = "harry-2019"


def guidance(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )


@dataclass
class Generated:
    """A log written by the real app, and what the test itself sent and was answered."""

    path: Path
    responses: list[dict[str, Any]]
    packs: list[dict[str, Any]]
    final_outcome: dict[tuple[str, str], tuple[str, bool]] = field(default_factory=dict)
    repeated: int = 0
    not_shown: int = 0
    not_found: int = 0
    harry: dict[str, Any] = field(default_factory=dict)
    harry_comment_prompt: str = ""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Generated:
    path = tmp_path_factory.mktemp("audit") / "audit.log"
    rng = random.Random(7)
    with TestClient(create_app(Settings(audit_file=path, audit_key=b"cli-key"))) as client:
        packs = client.get("/v1/packs").json()
        log = Generated(path, [], packs)

        def feedback(evaluation_id: str, prompt_id: str, outcome: str, comment: str | None = None) -> None:
            body = {"evaluation_id": evaluation_id, "prompt_id": prompt_id, "outcome": outcome}
            if comment:
                body["comment"] = comment
            assert client.post("/v1/feedback", json=body).status_code == 202

        harry = client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH, "case_ref": "H-1"}).json()
        log.responses.append(harry)
        log.harry = harry
        for n in range(50):
            response = client.post("/v1/evaluate", json={"facts": random_facts(rng), "case_ref": f"C-{n}"})
            assert response.status_code == 200
            log.responses.append(response.json())
        for response in log.responses:
            for prompt in response["prompts"]:
                if rng.random() < 0.5:
                    continue
                outcome = rng.choice(REST_OUTCOMES)
                comment = "see case notes" if rng.random() < 0.3 else None
                feedback(response["evaluation_id"], prompt["id"], outcome, comment)
                log.final_outcome[(response["evaluation_id"], prompt["id"])] = (outcome, bool(comment))
        # The same feedback again: harmless. Then a change of mind: the latest counts.
        (first_key, first), *_ = log.final_outcome.items()
        feedback(*first_key, first[0], "see case notes" if first[1] else None)
        log.repeated += 1
        changed_key = list(log.final_outcome)[1]
        new_outcome = next(o for o in REST_OUTCOMES if o != log.final_outcome[changed_key][0])
        feedback(*changed_key, new_outcome)
        log.final_outcome[changed_key] = (new_outcome, False)
        log.repeated += 1
        # Feedback the log cannot match: a prompt its evaluation did not show; an unknown evaluation.
        shown = {p["id"] for p in harry["prompts"]}
        other_rule = next(r["id"] for r in client.get("/v1/rules").json() if r["id"] not in shown)
        feedback(harry["evaluation_id"], other_rule, "accepted")
        log.not_shown += 1
        feedback(str(uuid.uuid4()), other_rule, "disagree")
        log.not_found += 1
        log.harry_comment_prompt = harry["prompts"][0]["id"]
        log.repeated += (harry["evaluation_id"], log.harry_comment_prompt) in log.final_outcome
        feedback(harry["evaluation_id"], log.harry_comment_prompt, "already_done", "done last week")
        log.final_outcome[(harry["evaluation_id"], log.harry_comment_prompt)] = ("already_done", True)
    return log


def expected_rules(log: Generated, responses: list[dict[str, Any]] | None = None) -> dict[str, dict]:
    fired: Counter[str] = Counter()
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    comments: Counter[str] = Counter()
    learning_points: dict[str, int] = {}
    for response in log.responses if responses is None else responses:
        for prompt in response["prompts"]:
            fired[prompt["id"]] += 1
            learning_points[prompt["id"]] = prompt["learning_point"]
            given = log.final_outcome.get((response["evaluation_id"], prompt["id"]))
            if given:
                outcomes[prompt["id"]][given[0]] += 1
                comments[prompt["id"]] += given[1]
    return {
        rule: {
            "rule": rule,
            "learning_point": learning_points[rule],
            "fired": count,
            "feedback": {o: outcomes[rule][o] for o in OUTCOMES},
            "no_feedback": count - sum(outcomes[rule].values()),
            "comments_given": comments[rule],
        }
        for rule, count in fired.items()
    }


def summary_json(*args: str) -> dict[str, Any]:
    result = guidance("audit", "summarize", "--json", *args)
    assert result.returncode == 0, result.stderr
    return msgspec.json.decode(result.stdout)


def copy_lines(log: Generated, tmp_path: Path) -> tuple[Path, list[bytes]]:
    return tmp_path / "tampered.log", log.path.read_bytes().splitlines(keepends=True)


# ---------------------------------------------------------------------------------------------
# verify


def test_verify_passes_on_a_real_log(generated: Generated) -> None:
    result = guidance("audit", "verify", str(generated.path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{generated.path}: intact" in result.stdout
    assert result.stdout.rstrip().endswith("intact")
    assert "head " in result.stdout


def test_verify_as_json_for_tools(generated: Generated, tmp_path: Path) -> None:
    intact = guidance("audit", "verify", "--json", str(generated.path))
    assert intact.returncode == 0, intact.stderr
    assert msgspec.json.decode(intact.stdout)["intact"] is True
    tampered, lines = copy_lines(generated, tmp_path)
    del lines[10]
    tampered.write_bytes(b"".join(lines))
    broken = guidance("audit", "verify", "--json", str(tampered))
    assert broken.returncode == 1
    report = msgspec.json.decode(broken.stdout)
    assert report["intact"] is False
    assert report["files"][0]["broken"]["line"] == 11
    assert "deleted" in broken.stdout


def test_verify_fails_naming_the_line_of_a_deleted_record(generated: Generated, tmp_path: Path) -> None:
    tampered, lines = copy_lines(generated, tmp_path)
    del lines[10]
    tampered.write_bytes(b"".join(lines))
    result = guidance("audit", "verify", str(tampered))
    assert result.returncode == 1
    assert f"{tampered}:11: BROKEN (deleted)" in result.stdout


def test_verify_fails_naming_the_line_of_an_edited_record(generated: Generated, tmp_path: Path) -> None:
    tampered, lines = copy_lines(generated, tmp_path)
    edited = next(i for i, line in enumerate(lines) if b'"outcome":"' in line and i > 5)
    original = msgspec.json.decode(lines[edited])["outcome"]
    other = next(o for o in REST_OUTCOMES if o != original)
    lines[edited] = lines[edited].replace(f'"outcome":"{original}"'.encode(), f'"outcome":"{other}"'.encode())
    tampered.write_bytes(b"".join(lines))
    result = guidance("audit", "verify", str(tampered))
    assert result.returncode == 1
    assert f"{tampered}:{edited + 1}: BROKEN (edited)" in result.stdout


def test_verify_fails_naming_the_line_of_a_reordered_record(generated: Generated, tmp_path: Path) -> None:
    tampered, lines = copy_lines(generated, tmp_path)
    lines[20], lines[21] = lines[21], lines[20]
    tampered.write_bytes(b"".join(lines))
    result = guidance("audit", "verify", str(tampered))
    assert result.returncode == 1
    assert f"{tampered}:21: BROKEN (reordered)" in result.stdout
    assert "line 22" in result.stdout


def test_verify_checks_every_file_given(generated: Generated, tmp_path: Path) -> None:
    tampered, lines = copy_lines(generated, tmp_path)
    del lines[5]
    tampered.write_bytes(b"".join(lines))
    other = tmp_path / "other.log"
    with TestClient(create_app(Settings(audit_file=other))) as client:
        client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH})
    result = guidance("audit", "verify", str(other), str(tampered))
    assert result.returncode == 1
    assert f"{other}: intact" in result.stdout
    assert f"{tampered}:6: BROKEN (deleted)" in result.stdout


def test_verify_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = guidance("audit", "verify", str(tmp_path / "nowhere.log"))
    assert result.returncode == 2
    assert "nowhere.log" in result.stderr


# ---------------------------------------------------------------------------------------------
# summarize


def test_summarize_counts_match_what_the_test_sent(generated: Generated) -> None:
    summary = summary_json(str(generated.path))
    assert summary["evaluations"] == len(generated.responses)
    assert summary["evaluations_without_prompts"] == sum(1 for r in generated.responses if not r["prompts"])
    (pack,) = summary["packs"]
    (loaded,) = generated.packs
    assert (pack["pack"], pack["version"], pack["digest"]) == (
        loaded["id"],
        loaded["version"],
        loaded["digest"],
    )
    assert pack["evaluations"] == len(generated.responses)
    assert {r["rule"]: r for r in pack["rules"]} == expected_rules(generated)
    assert summary["feedback_unmatched"] == {
        "prompt_not_shown": generated.not_shown,
        "evaluation_not_found": generated.not_found,
    }
    assert summary["feedback_repeated"] == generated.repeated
    assert summary["unreadable_lines"] == 0


def test_summarize_prints_a_table_with_the_same_counts(generated: Generated) -> None:
    result = guidance("audit", "summarize", str(generated.path))
    assert result.returncode == 0, result.stderr
    (loaded,) = generated.packs
    assert f"{loaded['id']} version {loaded['version']} ({loaded['digest']})" in result.stdout
    header = next(line for line in result.stdout.splitlines() if line.strip().startswith("rule "))
    assert " ".join(header.split()[1:]) == (
        "LP fired accepted not applicable already done disagree overridden no feedback comments"
    )
    for rule, expected in expected_rules(generated).items():
        row = next(
            line for line in result.stdout.splitlines() if line.split()[:1] == [rule.partition("/")[2]]
        )
        numbers = [int(n) for n in row.split()[1:]]
        assert numbers == [
            expected["learning_point"],
            expected["fired"],
            *(expected["feedback"][o] for o in OUTCOMES),
            expected["no_feedback"],
            expected["comments_given"],
        ]


def test_summarize_filters_by_rule_and_pack(generated: Generated) -> None:
    expected = expected_rules(generated)
    rule = max(expected, key=lambda r: expected[r]["fired"])
    (pack,) = summary_json(str(generated.path), "--rule", rule)["packs"]
    assert pack["rules"] == [expected[rule]]
    (pack,) = summary_json(str(generated.path), "--rule", rule.partition("/")[2])["packs"]
    assert pack["rules"] == [expected[rule]]
    same = summary_json(str(generated.path), "--pack", PACK)
    assert {r["rule"]: r for r in same["packs"][0]["rules"]} == expected
    other = summary_json(str(generated.path), "--pack", "no-such-pack")
    assert (other["evaluations"], other["packs"]) == (0, [])


def test_summarize_filters_by_time(generated: Generated) -> None:
    times = {r["evaluation_id"]: r["ts"] for r in audit_records(generated.path, "evaluation")}
    middle = sorted(times.values())[len(times) // 2]
    later = [r for r in generated.responses if times[r["evaluation_id"]] >= middle]
    earlier = [r for r in generated.responses if times[r["evaluation_id"]] < middle]

    since = summary_json(str(generated.path), "--since", middle)
    assert since["evaluations"] == len(later)
    assert {r["rule"]: r for p in since["packs"] for r in p["rules"]} == expected_rules(generated, later)
    until = summary_json(str(generated.path), "--until", middle)
    assert until["evaluations"] == len(earlier)
    assert {r["rule"]: r for p in until["packs"] for r in p["rules"]} == expected_rules(generated, earlier)

    day = middle[:10]
    assert summary_json(str(generated.path), "--since", day)["evaluations"] == len(generated.responses)
    assert summary_json(str(generated.path), "--until", day)["evaluations"] == 0
    assert summary_json(str(generated.path), "--since", "2999-01-01T00:00:00+01:00")["evaluations"] == 0
    shifted = middle[:-1] + "+00:00"  # the same moment, written with an offset
    assert summary_json(str(generated.path), "--since", shifted)["evaluations"] == len(later)


@pytest.mark.parametrize("bound", ["yesterday", "2026-13-01", "2026-01-01T10:00:00", "2026-01-01 10:00"])
def test_summarize_rejects_a_time_that_is_not_rfc_3339(generated: Generated, bound: str) -> None:
    result = guidance("audit", "summarize", str(generated.path), "--since", bound)
    assert result.returncode == 2
    assert bound in result.stderr


# ---------------------------------------------------------------------------------------------
# show


def test_show_tells_an_evaluation_in_words(generated: Generated) -> None:
    harry = generated.harry
    result = guidance("audit", "show", harry["evaluation_id"], str(generated.path))
    assert result.returncode == 0, result.stderr
    text = result.stdout
    record = next(
        msgspec.json.decode(line)
        for line in generated.path.read_bytes().splitlines()
        if harry["evaluation_id"].encode() in line and b'"event":"evaluation"' in line
    )
    assert f"When:       {record['ts'].replace('T', ' ').replace('Z', ' UTC')}" in text
    (knowledge,) = harry["knowledge"]
    assert f"{knowledge['pack']} version {knowledge['version']} ({knowledge['digest']})" in text
    assert f"{len(harry['prompts'])} prompts shown" in text
    for n, prompt in enumerate(harry["prompts"], start=1):
        assert f"{n}. {prompt['id']} (learning point {prompt['learning_point']})" in text
        assert f"Prompt: {prompt['summary']}" in text
    # The facts behind the first prompt, in the vocabulary's words.
    assert "The practitioner is completing a cause-for-concern form now: yes" in text
    assert "That information is included in the form: no" in text
    assert "parent 1: spent time in care as a child: yes" in text
    assert "already done at" in text and "with a comment" in text
    assert "done last week" not in text
    assert "the reference itself is never recorded" in text
    assert "Feedback about prompts this evaluation did not show:" in text
    assert not re.findall(r"\{[a-z_]+\}", text)  # no placeholder of a rule's sentence left unfilled


def test_show_as_json_for_tools(generated: Generated) -> None:
    harry = generated.harry
    result = guidance("audit", "show", "--json", harry["evaluation_id"], str(generated.path))
    assert result.returncode == 0, result.stderr
    view = msgspec.json.decode(result.stdout)
    assert view["evaluation_id"] == harry["evaluation_id"]
    assert [p["rule"] for p in view["prompts"]] == [p["id"] for p in harry["prompts"]]
    assert [[(b["path"], b["value"]) for b in p["because"]] for p in view["prompts"]] == [
        [(b["path"], b["value"]) for b in p["because"]] for p in harry["prompts"]
    ]
    first = view["prompts"][0]
    assert [(f["outcome"], f["comment_given"]) for f in first["feedback"]][-1] == ("already_done", True)
    assert view["knowledge"][0]["digest"] == harry["knowledge"][0]["digest"]
    assert len(view["other_feedback"]) == generated.not_shown


def test_show_of_an_unknown_evaluation_exits_1(generated: Generated) -> None:
    missing = str(uuid.uuid4())
    result = guidance("audit", "show", missing, str(generated.path))
    assert result.returncode == 1
    assert missing in result.stderr


def test_verify_reports_a_torn_line_an_edit_a_deletion_a_reordering_and_an_insertion_in_one_file(
    generated: Generated, tmp_path: Path
) -> None:
    tampered, lines = copy_lines(generated, tmp_path)
    # One process wrote this log, so it is one chain: line i + 1 holds seq i.
    assert [msgspec.json.decode(line)["seq"] for line in lines] == list(range(len(lines)))
    forged = msgspec.json.decode(lines[50])
    del forged["hash"]
    forged["client"] = "someone-else"
    forged_line, _ = seal(forged)
    tagged: list[tuple[str, bytes]] = []
    for seq, line in enumerate(lines):
        if seq == 20:
            continue  # deleted
        if seq == 30:
            tagged.append(("torn", line[:200] + b"\n"))  # a write that failed, then was made again
        if seq == 10:
            line = line.replace(b'"client":"anonymous"', b'"client":"anonymouz"')
        tagged.append((f"seq {seq}", line))
        if seq == 50:
            tagged.append(("inserted", forged_line))
    at = {tag: number for number, (tag, _) in enumerate(tagged, start=1)}
    swap = at["seq 40"] - 1
    tagged[swap], tagged[swap + 1] = tagged[swap + 1], tagged[swap]
    tampered.write_bytes(b"".join(line for _, line in tagged))
    expected = [
        (at["seq 10"], "edited"),
        (at["seq 21"], "deleted"),
        (at["torn"], "torn"),
        (at["seq 40"], "reordered"),  # seq 41 now stands here; seq 40 comes after it
        (at["inserted"], "inserted"),
    ]

    text = guidance("audit", "verify", str(tampered))
    assert text.returncode == 1
    for line, kind in expected:
        assert f"{tampered}:{line}: BROKEN ({kind})" in text.stdout
    assert "seq 21 follows seq 19" in text.stdout
    assert f"line {at['seq 41']}" in text.stdout  # where the reordered record is
    assert text.stdout.rstrip().endswith(
        "BROKEN: 5 problems (1 torn, 1 edited, 1 deleted, 1 reordered, 1 inserted)"
    )
    assert "head " in text.stdout  # chain heads are still printed, to be noted

    as_json = guidance("audit", "verify", "--json", str(tampered))
    assert as_json.returncode == 1
    report = msgspec.json.decode(as_json.stdout)
    assert report["intact"] is False
    assert [(p["line"], p["kind"]) for p in report["files"][0]["problems"]] == expected
    assert report["problems"] == {"torn": 1, "edited": 1, "deleted": 1, "reordered": 1, "inserted": 1}
    (chain,) = report["chains"]
    assert chain["problems"] == 5  # the torn fragment is long enough to name its chain too
    assert {p["chain"] for p in report["files"][0]["problems"]} == {chain["chain"]}


def test_summarize_and_show_read_past_blank_lines_resumed_trails_and_glued_records(
    generated: Generated, tmp_path: Path
) -> None:
    lines = generated.path.read_bytes().splitlines(keepends=True)
    harry = next(i for i, line in enumerate(lines) if generated.harry["evaluation_id"].encode() in line)
    resumed = {"event": "audit_resumed", "unavailable_since": "2026-01-01T00:00:00.000Z", "refused": 3}
    resumed_line, _ = seal(
        {**resumed, "reason": "audit-write-failed", "chain": "c" * 32, "seq": 1, "prev": "0"}
    )
    follows = {"chain": "c" * 32, "seq": 1, "hash": "0" * 64}
    start_line, _ = seal(
        {"event": "chain_start", "follows": follows, "chain": "d" * 32, "seq": 0, "prev": "0"}
    )
    changed = [
        *lines[:harry],
        b"\n",
        resumed_line,
        start_line,
        lines[harry - 1][:150] + lines[harry],  # Harry's record glued to a torn line
        *lines[harry + 1 :],
    ]
    log = tmp_path / "changed.log"
    log.write_bytes(b"".join(changed))
    original = summary_json(str(generated.path))
    summary = summary_json(str(log))
    assert summary["unreadable_lines"] == 1  # the fragment; not the blank line, not the new records
    assert {k: v for k, v in summary.items() if k not in ("files", "unreadable_lines")} == {
        k: v for k, v in original.items() if k not in ("files", "unreadable_lines")
    }
    shown = guidance("audit", "show", "--json", generated.harry["evaluation_id"], str(log))
    assert shown.returncode == 0, shown.stderr
    assert msgspec.json.decode(shown.stdout)["line"] == harry + 4  # the glued line
