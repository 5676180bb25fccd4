"""``GET /v1/status`` over HTTP against the real app: what it runs, and the audit trail's state
through a failure (its folder removed, so the file cannot be created again) and the recovery
``GET /ready`` brings; the metrics count the refusal. It names no secret."""

from __future__ import annotations

import shutil
from pathlib import Path

from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service import __version__
from service.app import create_app
from service.facts.examples import HARRY_PRE_BIRTH
from service.packs.loader import load_packs
from service.settings import Settings
from tests.conftest import KNOWLEDGE

KEY = b"status-test-key-0123456789"


def counters(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = client.get("/metrics").text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name in ("guidance_evaluations_total", "guidance_audit_write_failures_total")
    }


def test_status_follows_an_audit_failure_and_its_recovery(tmp_path: Path) -> None:
    folder = tmp_path / "audit"
    folder.mkdir()
    settings = Settings(audit_file=folder / "audit.log", audit_key=KEY, rate_limit=("minute", 600))
    with TestClient(create_app(settings)) as client:
        assert client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH}).status_code == 200
        before = client.get("/v1/status").json()
        assert before["service"] == "safeguarding-guidance" and before["version"] == __version__
        assert [(p["id"], p["version"], p["digest"]) for p in before["packs"]] == [
            (p.id, p.version, p.digest) for p in load_packs([KNOWLEDGE])
        ]
        audit = before["audit"]
        assert (audit["kind"], audit["file"], audit["state"], audit["seq"]) == (
            "file",
            str(folder / "audit.log"),
            "available",
            1,  # chain_start, then the evaluation
        )
        assert audit["last_failure"] is None and audit["key_set"] is True
        assert before["limits"]["rate_limit"] == "600/minute"
        assert before["limits"]["max_concurrent_requests"] == settings.max_concurrent_requests
        assert before["uptime_seconds"] >= 0
        counted = counters(client)

        shutil.rmtree(folder)  # the file goes, and cannot be created again where it was
        refused = client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH})
        assert refused.status_code == 503
        failing = client.get("/v1/status").json()["audit"]
        assert (failing["state"], failing["refused"]) == ("unavailable", 1)
        assert failing["last_failure"]["reason"] == "audit-file-missing"
        assert failing["unavailable_since"] and failing["last_failure"]["at"].endswith("Z")
        after = counters(client)
        refused_audit = ("guidance_evaluations_total", (("api", "rest"), ("outcome", "refused-audit")))
        missing = ("guidance_audit_write_failures_total", (("reason", "audit-file-missing"),))
        assert after[refused_audit] - counted[refused_audit] == 1
        assert after[missing] - counted[missing] == 1

        folder.mkdir()
        assert client.get("/ready").status_code == 200  # reopens the file, writes what is owed
        recovered = client.get("/v1/status").json()["audit"]
        assert recovered["state"] == "available" and recovered["refused"] == 0
        assert recovered["last_failure"] == failing["last_failure"]  # kept after recovery
        assert recovered["chain"] != audit["chain"]  # a new chain in the new file
        assert recovered["seq"] == 1  # its chain_start and the audit_resumed record
        assert client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH}).status_code == 200
        assert client.get("/v1/status").json()["audit"]["seq"] == 2
        body = client.get("/v1/status").text
    assert KEY.decode() not in body


def test_status_is_in_the_openapi_document(client: TestClient) -> None:
    document = client.get("/schema/openapi.json").json()
    operation = document["paths"]["/v1/status"]["get"]
    assert operation["security"] == [{"bearer": []}]
    assert "/metrics" not in document["paths"]
