"""The audit trail as the running service writes it: records, feedback, privacy, failure, workers."""

from __future__ import annotations

import hashlib
import hmac
import json
import random
import re
import socket
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.audit.chain import GENESIS
from service.audit.summarize import summarize
from service.audit.verify import verify_files
from service.facts.examples import HARRY_PRE_BIRTH
from service.settings import Settings
from service.testing.synthetic import random_facts
from tests.audit_file import audit_records
from tests.issuers import API_AUDIENCE, API_ISSUER, Signer, ec_key, write_issuers, write_jwks
from tests.server import running_server

KEY = b"test-audit-key-0123"
TS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def harry(client: TestClient, **extra: Any) -> httpx.Response:
    response = client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH, **extra})
    assert response.status_code == 200, response.text
    return response


# ---------------------------------------------------------------------------------------------
# records


def test_an_evaluation_record_holds_what_an_auditor_needs_and_no_more(
    client: TestClient, audit_file: Path
) -> None:
    response = harry(client, case_ref="CASE-0042")
    body = response.json()
    chain_start, record = audit_records(audit_file)
    packs = [
        {"id": p["id"], "version": p["version"], "digest": p["digest"]}
        for p in client.get("/v1/packs").json()
    ]

    assert set(record) == {
        "ts", "event", "evaluation_id", "request_id", "client", "case_ref_hash", "packs", "fired",
        "duration_ms", "chain", "seq", "prev", "hash",
    }  # fmt: skip
    assert TS.match(record["ts"])
    assert record["event"] == "evaluation"
    assert record["evaluation_id"] == body["evaluation_id"]
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert record["client"] == "anonymous"
    assert record["case_ref_hash"] == hmac.new(KEY, b"CASE-0042", hashlib.sha256).hexdigest()
    assert record["packs"] == packs == chain_start["packs"]
    assert record["fired"] == [
        {"rule": p["id"], "learning_point": p["learning_point"], "because": p["because"]}
        for p in body["prompts"]
    ]
    assert len(record["fired"]) >= 3
    assert isinstance(record["duration_ms"], float) and record["duration_ms"] >= 0
    assert (record["seq"], record["prev"], record["chain"]) == (1, chain_start["hash"], chain_start["chain"])
    assert HEX64.match(record["hash"])
    assert (chain_start["event"], chain_start["seq"], chain_start["prev"]) == ("chain_start", 0, GENESIS)
    assert set(chain_start["process"]) == {"pid", "host"} and TS.match(chain_start["ts"])
    assert verify_files([audit_file]).intact


def test_because_values_are_booleans_enums_numbers_and_codes_only(
    client: TestClient, audit_file: Path
) -> None:
    rng = random.Random(4)
    for _ in range(60):
        assert client.post("/v1/evaluate", json={"facts": random_facts(rng)}).status_code == 200
    values = [
        b["value"] for r in audit_records(audit_file, "evaluation") for f in r["fired"] for b in f["because"]
    ]
    assert values
    for value in values:
        if isinstance(value, str):
            assert value in {"mother", "father", "carer", "none", "limited", "adequate"}
        elif isinstance(value, list):
            assert all(re.fullmatch(r"\d{1,2}[A-F]?", code) for code in value)
        else:
            assert value is None or isinstance(value, bool | int)


def test_no_case_ref_leaves_no_case_ref_hash(client: TestClient, audit_file: Path) -> None:
    harry(client)
    (record,) = audit_records(audit_file, "evaluation")
    assert "case_ref_hash" not in record


def test_without_an_audit_key_there_is_no_trace_of_the_case_ref(tmp_path: Path) -> None:
    log = tmp_path / "audit.log"
    with TestClient(create_app(Settings(audit_file=log, audit_key=None))) as client:
        harry(client, case_ref="CASE-0042")
    (record,) = audit_records(log, "evaluation")
    assert "case_ref_hash" not in record
    assert b"CASE-0042" not in log.read_bytes()
    assert hashlib.sha256(b"CASE-0042").hexdigest().encode() not in log.read_bytes()


# ---------------------------------------------------------------------------------------------
# feedback


def test_feedback_is_accepted_and_recorded_without_its_comment(client: TestClient, audit_file: Path) -> None:
    body = harry(client).json()
    prompt = body["prompts"][0]["id"]
    comment = "Mother said she had help at school; follow up on Tuesday"
    sent = {"evaluation_id": body["evaluation_id"], "prompt_id": prompt, "outcome": "already_done"}
    response = client.post("/v1/feedback", json={**sent, "comment": comment})
    assert response.status_code == 202
    assert response.json() == sent
    (record,) = audit_records(audit_file, "feedback")
    assert {k: record[k] for k in sent} == sent
    assert record["comment_given"] is True
    assert record["client"] == "anonymous"
    assert record["request_id"] == response.headers["X-Request-ID"]
    assert "comment" not in record
    assert b"Tuesday" not in audit_file.read_bytes()
    assert verify_files([audit_file]).intact


def test_repeated_identical_feedback_is_harmless(client: TestClient, audit_file: Path) -> None:
    body = harry(client).json()
    sent = {
        "evaluation_id": body["evaluation_id"],
        "prompt_id": body["prompts"][1]["id"],
        "outcome": "accepted",
    }
    first = client.post("/v1/feedback", json=sent)
    second = client.post("/v1/feedback", json=sent)
    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json() == second.json()
    assert len(audit_records(audit_file, "feedback")) == 2  # both arrived, both recorded
    summary = summarize([audit_file])
    (rule,) = [r for r in summary["packs"][0]["rules"] if r["rule"] == sent["prompt_id"]]
    assert rule["feedback"]["accepted"] == 1  # and counted once
    assert summary["feedback_repeated"] == 1
    assert verify_files([audit_file]).intact


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"prompt_id": "harry-2019/no-such-rule"}, "prompt_id"),
        ({"prompt_id": "x" * 201}, "prompt_id"),
        ({"evaluation_id": "not-a-uuid"}, "evaluation_id"),
        ({"evaluation_id": "97E194CF-0DA3-49A7-9366-0E968382BFBF"}, "evaluation_id"),
        ({"outcome": "overridden"}, "outcome"),
        ({"comment": "x" * 2001}, "comment"),
        ({"verdict": "yes"}, "verdict"),
    ],
)
def test_bad_feedback_is_a_problem_naming_the_field_and_is_not_recorded(
    client: TestClient, audit_file: Path, change: dict[str, str], field: str
) -> None:
    body = harry(client).json()
    sent = {
        "evaluation_id": body["evaluation_id"],
        "prompt_id": body["prompts"][0]["id"],
        "outcome": "accepted",
    }
    response = client.post("/v1/feedback", json={**sent, **change})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["field"] == field
    assert audit_records(audit_file, "feedback") == []


def test_feedback_without_an_outcome_is_a_problem_naming_it(client: TestClient, audit_file: Path) -> None:
    body = harry(client).json()
    response = client.post(
        "/v1/feedback", json={"evaluation_id": body["evaluation_id"], "prompt_id": body["prompts"][0]["id"]}
    )
    assert response.status_code == 400
    assert response.json()["field"] == "outcome"
    assert audit_records(audit_file, "feedback") == []


# ---------------------------------------------------------------------------------------------
# no personal data beyond need

SENTINEL = "Zq7Sentinel4e1b"


def _sentinel_requests(base_url: str, token: str = SENTINEL) -> dict[str, int]:
    """Send the sentinel everywhere a caller can put a string; return each request's status.
    ``token`` goes in ``Authorization: Bearer`` (the sentinel itself when no token is asked for)."""
    s = SENTINEL
    headers = {
        "X-Request-ID": s,
        "User-Agent": s,
        "Authorization": f"Bearer {token}",
        "Cookie": f"session={s}",
        "Referer": f"https://example.org/{s}",
        "X-Forwarded-For": s,
        f"X-{s}": s,
    }
    statuses: dict[str, int] = {}
    with httpx.Client(base_url=base_url, headers=headers, timeout=30) as http:

        def send(name: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
            response = http.request(method, url, **kwargs)
            statuses[name] = response.status_code
            return response

        evaluated = send(
            "evaluate", "POST", f"/v1/evaluate?{s}={s}", json={"facts": HARRY_PRE_BIRTH, "case_ref": s}
        )
        body = evaluated.json()
        good = {"evaluation_id": body["evaluation_id"], "prompt_id": body["prompts"][0]["id"]}
        send("feedback", "POST", f"/v1/feedback?q={s}", json={**good, "outcome": "disagree", "comment": s})
        send("feedback without comment", "POST", "/v1/feedback", json={**good, "outcome": "accepted"})
        bad_feedback = {
            "prompt_id": {**good, "prompt_id": s, "outcome": "accepted"},
            "prompt_id too long": {**good, "prompt_id": s * 20, "outcome": "accepted"},
            "evaluation_id": {**good, "evaluation_id": s, "outcome": "accepted"},
            "outcome": {**good, "outcome": s},
            "comment too long": {**good, "outcome": "accepted", "comment": s * 200},
            "comment not a string": {**good, "outcome": "accepted", "comment": [s]},
            "unknown field": {**good, "outcome": "accepted", s: s},
        }
        for name, payload in bad_feedback.items():
            send(f"feedback: {name}", "POST", "/v1/feedback", json=payload)
        bad_evaluations = {
            "case_ref too long": {"facts": {}, "case_ref": s * 20},
            "role": {"facts": {"parents": [{"role": s}]}, "case_ref": s},
            "family_support": {"facts": {"parents": [{"family_support": s}]}},
            "code": {"facts": {"assessment_factors": [s]}},
            "age as text": {"facts": {"child": {"age_months": s}}},
            "flag as text": {"facts": {"child": {"unborn": s}}},
            "unknown fact": {"facts": {"child": {s: True}}},
            "unknown group": {"facts": {s: {"a": 1}}},
            "unknown field": {"facts": {}, s: s},
            "facts as text": {"facts": s},
        }
        for name, payload in bad_evaluations.items():
            send(f"evaluate: {name}", "POST", "/v1/evaluate", json=payload)
        as_json = {"Content-Type": "application/json"}
        send(
            "malformed JSON", "POST", "/v1/evaluate", content=f'{{"case_ref": "{s}'.encode(), headers=as_json
        )
        send("not JSON", "POST", "/v1/evaluate", content=s.encode(), headers={"Content-Type": "text/plain"})
        send(
            "too large",
            "POST",
            "/v1/evaluate",
            content=(f'{{"case_ref": "{s}"' + " " * 70_000 + "}").encode(),
            headers=as_json,
        )
        send("no such path", "GET", f"/{s}/{s}?{s}={s}")
        send("no such rule", "GET", f"/v1/rules/{s}/{s}")
        send("rules with query", "GET", f"/v1/rules?pack={s}")
        send("wrong method", "DELETE", f"/v1/evaluate?{s}=1")
        send("health with query", "GET", f"/health?{s}={s}")
    with socket.create_connection(_address(base_url), timeout=10) as raw:
        raw.sendall(f"GET /{s} HTTP/1.1\r\nHost: {s}\r\n{s} no colon here\r\n\r\n".encode())
        statuses["malformed HTTP"] = int(raw.recv(1024).split(b" ", 2)[1] or 0)
    return statuses


def _address(base_url: str) -> tuple[str, int]:
    url = httpx.URL(base_url)
    return url.host, url.port or 80


def _sentinel_tokens(tmp_path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """The server's authentication settings, and tokens carrying the sentinel: one valid (the
    sentinel in claims the service does not record, and in its header), the rest refused."""
    s = SENTINEL
    signer = Signer(ec_key(), "sentinel-key", API_ISSUER)
    write_jwks(tmp_path / "jwks.json", signer)
    issuers = write_issuers(
        tmp_path / "issuers.yaml", {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_file": "jwks.json"}
    )
    env = {"GUIDANCE_AUTH": "jwt", "GUIDANCE_AUTH_ISSUERS": str(issuers)}
    claims = {"azp": "sentinel-check", "sub": s, "name": s, "jti": s, s: s}
    tokens = {
        "valid": signer.token(headers={"typ": s}, **claims),
        "the sentinel as the token": s,
        "sentinel claims, signed by a stranger": Signer(ec_key("stranger"), signer.kid, API_ISSUER).token(
            **claims
        ),
        "sentinel issuer": signer.token(**{**claims, "iss": f"https://{s}.test"}),
        "sentinel kid": signer.token(headers={"kid": s}, **claims),
        "sentinel audience": signer.token(**{**claims, "aud": s}),
        "sentinel as the client, refused": signer.token(**{**claims, "azp": s, "exp": 1_700_000_000}),
        "sentinel jku": signer.token(headers={"jku": f"https://{s}.test/jwks.json"}, **claims),
        "sentinel tenant, not text": signer.token(**{**claims, "tenant": f"{s}\n"}),
    }
    return env, tokens


@pytest.mark.parametrize("sink", ["stdout", "file", "file, with tokens"])
def test_a_sentinel_sent_in_every_string_field_reaches_no_output(tmp_path: Path, sink: str) -> None:
    stdout, stderr, audit = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "audit.log"
    env = {"GUIDANCE_AUDIT_KEY": KEY.decode()}
    if sink != "stdout":
        env["GUIDANCE_AUDIT_FILE"] = str(audit)
    tokens: dict[str, str] = {}
    if sink == "file, with tokens":
        auth, tokens = _sentinel_tokens(tmp_path)
        env.update(auth)
    with running_server(env=env, stdout=stdout, stderr=stderr) as base_url:
        statuses = _sentinel_requests(base_url, tokens.get("valid", SENTINEL))
        refused = {
            name: httpx.get(f"{base_url}/v1/packs", headers={"Authorization": f"Bearer {token}"}).status_code
            for name, token in tokens.items()
            if name != "valid"
        }
    log = stdout if sink == "stdout" else audit
    assert set(refused.values()) == ({401} if tokens else set()), refused

    # The requests went through: two evaluations and two feedback accepted, the rest refused.
    assert statuses.pop("evaluate") == 200
    assert statuses.pop("feedback") == statuses.pop("feedback without comment") == 202
    assert statuses.pop("too large") == 413
    assert statuses.pop("wrong method") == 405
    assert statuses.pop("not JSON") == 415
    assert statuses.pop("rules with query") == statuses.pop("health with query") == 200
    assert statuses.pop("no such path") == 404
    assert statuses.pop("no such rule") == 400  # not the shape of an id
    assert statuses.pop("malformed HTTP") == 400
    assert set(statuses.values()) == {400}, statuses

    # The outputs were captured: the audit records are there, the case reference only as its HMAC.
    evaluations, feedback = audit_records(log, "evaluation"), audit_records(log, "feedback")
    assert len(evaluations) == 1 and len(feedback) == 2
    assert evaluations[0]["case_ref_hash"] == hmac.new(KEY, SENTINEL.encode(), hashlib.sha256).hexdigest()
    assert [f["comment_given"] for f in feedback] == [True, False]
    assert stderr.read_bytes(), "the server's standard error was captured"
    assert verify_files([log]).intact
    if tokens:
        assert {r["client"] for r in evaluations + feedback} == {"sentinel-check"}
        logged = [json.loads(line) for line in stderr.read_text().splitlines()]
        assert len([line for line in logged if line["event"] == "token_refused"]) == len(refused)

    unkeyed = hashlib.sha256(SENTINEL.encode()).hexdigest().encode()
    for output in (stdout, stderr, audit):
        data = output.read_bytes() if output.exists() else b""
        assert SENTINEL.lower().encode() not in data.lower(), f"the sentinel reached {output.name}"
        assert unkeyed not in data, f"an unkeyed hash of the sentinel reached {output.name}"
        for token in tokens.values():
            for part in token.split("."):
                assert part.encode() not in data, f"part of a token reached {output.name}"


# ---------------------------------------------------------------------------------------------
# a sink that cannot write


def test_when_the_audit_cannot_be_written_no_guidance_is_shown_and_the_service_stays_up(
    tmp_path: Path,
) -> None:
    stderr = tmp_path / "stderr"
    env = {"GUIDANCE_AUDIT_FILE": "/dev/full"}
    with running_server(env=env, stderr=stderr, wait_for="/health") as base_url:  # never ready
        for _ in range(2):
            response = httpx.post(
                f"{base_url}/v1/evaluate", json={"facts": HARRY_PRE_BIRTH, "case_ref": "C-1"}
            )
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            problem = response.json()
            assert problem["type"].endswith("/audit-unavailable")
            assert problem["status"] == 503
            assert "prompts" not in problem and "evaluation_id" not in problem
            assert "harry-2019" not in response.text
        feedback = httpx.post(
            f"{base_url}/v1/feedback",
            json={
                "evaluation_id": str(uuid.uuid4()),
                "prompt_id": "harry-2019/lp5-apparent-ability",
                "outcome": "accepted",
            },
        )
        assert feedback.status_code == 503
        assert feedback.headers["content-type"].startswith("application/problem+json")
        assert httpx.get(f"{base_url}/health").status_code == 200
        assert httpx.get(f"{base_url}/v1/packs").status_code == 200
    log = stderr.read_text()
    assert "audit_write_failed" in log and "No space left on device" in log
    assert "C-1" not in log


def test_an_unwritable_sink_in_process_answers_503_without_prompts() -> None:
    with TestClient(create_app(Settings(audit_file=Path("/dev/full"), audit_key=KEY))) as client:
        response = client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH})
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "prompts" not in response.json()


# ---------------------------------------------------------------------------------------------
# several workers, one file
