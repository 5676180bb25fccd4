"""``GET /metrics`` over HTTP from a real server with two workers: after a known mix of
evaluations, bad input and feedback, sent on fresh connections so that both workers answer,
the counters are that mix; every label value comes from an allowed set; nothing the caller
wrote shows anywhere."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.cds_hooks.cards import HOOK
from service.facts.examples import HARRY_PRE_BIRTH
from service.observability.metrics import APIS, AUDIT_REASONS, EVALUATION_OUTCOMES, FEEDBACK_OUTCOMES
from service.observability.metrics_dir import prepare_metrics_dir
from service.packs.loader import load_packs
from service.settings import ConfigurationError
from tests.audit_file import records_so_far
from tests.conftest import KNOWLEDGE
from tests.server import running_server

CASE_REF = "CASE-Zq7Secret"
PACKS = load_packs([KNOWLEDGE])
RULES = {rule.id: (pack, rule) for pack in PACKS for rule in pack.rules}
# Every route of the app, as its template: what the HTTP series' `path` may be.
ROUTES = {
    "/v1/evaluate",
    "/v1/feedback",
    "/v1/status",
    "/v1/packs",
    "/v1/rules",
    "/v1/rules/{pack_id}/{rule_id}",
    "/cds-services",
    "/cds-services/{service_id}",
    "/cds-services/{service_id}/feedback",
    "/health",
    "/ready",
    "/metrics",
}


def allowed(label: str, value: str) -> bool:
    return {
        "api": lambda v: v in APIS,
        "outcome": lambda v: v in EVALUATION_OUTCOMES or v in FEEDBACK_OUTCOMES,
        "reason": lambda v: v in AUDIT_REASONS,
        "rule": lambda v: v in RULES,
        "pack": lambda v: v in {p.id for p in PACKS},
        "learning_point": lambda v: v in {str(r.learning_point) for _, r in RULES.values()},
        "version": lambda v: v in {p.version for p in PACKS},
        "digest": lambda v: v in {p.digest for p in PACKS},
        "method": lambda v: v in {"GET", "POST", "HEAD", "OPTIONS"},
        "path": lambda v: v in ROUTES,
        "status_code": lambda v: v.isdigit() and 100 <= int(v) < 600,
        "app_name": lambda v: v == "guidance",
        "le": lambda v: v == "+Inf" or float(v) > 0,
    }.get(label, lambda v: False)(value)


def scrape(base_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(f"{base_url}/metrics", timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")  # cleaned at start
    env = {"GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log"), "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    with running_server(workers=2, env=env) as base_url:
        yield base_url, tmp_path / "audit.log"


def test_two_workers_count_a_known_mix_with_labels_from_allowed_sets_only(server: tuple[str, Path]) -> None:
    server, audit = server
    shown: Counter[str] = Counter()
    answered: list[dict[str, Any]] = []
    # A new connection each, so either worker may answer; on until both have (each worker
    # writes its own chain), so the counts scraped are both workers' added up.
    while len(answered) < 6 or len({r["chain"] for r in records_so_far(audit, "evaluation")}) < 2:
        assert len(answered) < 200, "one worker answered every request"
        body = {"case_ref": f"{CASE_REF}-{len(answered)}", "facts": HARRY_PRE_BIRTH}
        response = httpx.post(f"{server}/v1/evaluate", json=body, timeout=30)
        assert response.status_code == 200, response.text
        answered.append(response.json())
        shown.update(p["id"] for p in response.json()["prompts"])
    bad = [
        httpx.post(f"{server}/v1/evaluate", json={"facts": {"child": {"Zq7Unknown": True}}}, timeout=30),
        httpx.post(
            f"{server}/v1/evaluate",
            content=b"{not json",
            timeout=30,
            headers={"content-type": "application/json"},
        ),
        httpx.post(
            f"{server}/v1/evaluate", content=b"{}", timeout=30, headers={"content-type": "text/plain"}
        ),
    ]
    assert [r.status_code for r in bad] == [400, 400, 415]
    cds = httpx.post(
        f"{server}/cds-services/harry-2019",
        json={"hook": HOOK, "hookInstance": str(uuid.uuid4()), "context": {"facts": HARRY_PRE_BIRTH}},
        timeout=30,
    )
    assert cds.status_code == 200, cds.text
    cards = cds.json()["cards"]
    shown.update(f"harry-2019/{card['source']['topic']['code']}" for card in cards)
    feedback = [("accepted", answered[0]), ("disagree", answered[1]), ("accepted", answered[2])]
    for outcome, evaluation in feedback:
        body = {
            "evaluation_id": evaluation["evaluation_id"],
            "prompt_id": evaluation["prompts"][0]["id"],
            "outcome": outcome,
        }
        assert httpx.post(f"{server}/v1/feedback", json=body, timeout=30).status_code == 202
    card_feedback = {
        "feedback": [
            {
                "card": cards[0]["uuid"],
                "outcome": "overridden",
                "overrideReason": {"reason": cards[0]["overrideReasons"][1]},
                "outcomeTimestamp": "2026-11-26T09:31:00Z",
            }
        ]
    }
    assert (
        httpx.post(f"{server}/cds-services/harry-2019/feedback", json=card_feedback, timeout=30).status_code
        == 200
    )

    samples = scrape(server)
    evaluations = len(answered)
    assert value(samples, "guidance_evaluations_total", api="rest", outcome="answered") == evaluations
    assert value(samples, "guidance_evaluations_total", api="rest", outcome="refused-bad-input") == 3
    assert value(samples, "guidance_evaluations_total", api="rest", outcome="refused-audit") == 0
    assert value(samples, "guidance_evaluations_total", api="cds-hooks", outcome="answered") == 1
    assert value(samples, "guidance_evaluation_duration_seconds_count", api="rest") == evaluations
    for rule_id, (pack, rule) in RULES.items():
        labels = {"pack": pack.id, "rule": rule_id, "learning_point": str(rule.learning_point)}
        assert value(samples, "guidance_prompts_shown_total", **labels) == shown[rule_id], rule_id
    assert value(samples, "guidance_feedback_total", api="rest", outcome="accepted") == 2
    assert value(samples, "guidance_feedback_total", api="rest", outcome="disagree") == 1
    assert value(samples, "guidance_feedback_total", api="cds-hooks", outcome="already_done") == 1
    for reason in AUDIT_REASONS:
        assert value(samples, "guidance_audit_write_failures_total", reason=reason) == 0
    for pack in PACKS:
        assert (
            value(
                samples,
                "guidance_knowledge_pack_info",
                pack=pack.id,
                version=pack.version,
                digest=pack.digest,
            )
            == 1
        )
    http = "guidance_http_requests_total"
    assert (
        value(samples, http, app_name="guidance", method="POST", path="/v1/evaluate", status_code="200")
        == evaluations
    )
    assert (
        value(samples, http, app_name="guidance", method="POST", path="/v1/evaluate", status_code="400") == 2
    )
    assert (
        value(samples, http, app_name="guidance", method="POST", path="/v1/evaluate", status_code="415") == 1
    )

    outside = [
        (name, label, text)
        for name, labels in samples
        if name.startswith("guidance_")
        for label, text in labels
        if not allowed(label, text)
    ]
    assert outside == []
    text = httpx.get(f"{server}/metrics", timeout=30).text
    assert "Zq7" not in text and CASE_REF not in text


def test_the_metrics_folder_is_emptied_of_an_earlier_runs_files(tmp_path: Path) -> None:
    (tmp_path / "counter_99.db").write_bytes(b"old")
    (tmp_path / "keep.txt").write_text("not ours")
    environ = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    assert prepare_metrics_dir(environ, workers=1) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]
    environ = {}
    assert prepare_metrics_dir(environ, workers=1) is None and environ == {}  # kept in memory
    made = prepare_metrics_dir(environ, workers=2)
    assert made is not None and made.is_dir() and environ["PROMETHEUS_MULTIPROC_DIR"] == str(made)
    made.rmdir()


def test_a_metrics_folder_the_service_cannot_use_is_refused_naming_why(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    spaced = tmp_path / "spaced "
    spaced.mkdir()
    # /proc/1 is a folder no user may create files in, root included.
    cases = [
        (str(a_file), "is not a folder"),
        (str(spaced), "white space at an end"),
        ("/proc/1", "cannot write"),
    ]
    for given, why in cases:
        with pytest.raises(ConfigurationError) as refused:
            prepare_metrics_dir({"PROMETHEUS_MULTIPROC_DIR": given}, workers=2)
        assert refused.value.setting == "PROMETHEUS_MULTIPROC_DIR" and why in refused.value.message
