"""Authentication as `guidance serve` starts it: the choice of mode by address, the issuers file
checked before listening, refusals logged to standard error without the token; and
`guidance dev-token`, the test issuer for trying it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from litestar import Litestar
from litestar.testing import TestClient

from service.auth.issuers import load_issuers
from service.auth.tokens import TokenVerifier
from service.facts.examples import HARRY_PRE_BIRTH
from service.settings import ConfigurationError, Settings
from service.startup import check_can_serve
from tests.audit_file import audit_records
from tests.conftest import REPO
from tests.issuers import (
    API_AUDIENCE,
    API_ISSUER,
    CDS_ISSUER,
    Signer,
    ec_key,
    rsa_key,
    write_issuers,
    write_jwks,
)
from tests.server import free_port, running_server

EC = Signer(ec_key(), "ec-2026", API_ISSUER)
RSA = Signer(rsa_key(), "rsa-2026", API_ISSUER)


def serve(env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """`guidance serve` expected to refuse to start (it would otherwise run until the timeout)."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GUIDANCE_")}
    environment.update({"HOST": "127.0.0.1", "PORT": str(free_port()), **env})
    return subprocess.run(
        [sys.executable, "-m", "service.cli.main", "serve"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def one_json_line(text: str) -> dict[str, Any]:
    lines = text.splitlines()
    assert len(lines) == 1, text
    return json.loads(lines[0])


# ---------------------------------------------------------------------------------------------
# the mode, by address


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_unset_auth_beyond_loopback_refuses_to_start_with_one_json_line(host: str) -> None:
    result = serve({"HOST": host})
    assert result.returncode == 2
    line = one_json_line(result.stderr)
    assert line["event"] == "startup_failed" and line["setting"] == "GUIDANCE_AUTH"
    assert "GUIDANCE_AUTH=jwt" in line["error"] and "GUIDANCE_AUTH=off" in line["error"]
    assert result.stdout == ""


def test_auth_off_beyond_loopback_starts_warns_and_records_unauthenticated(tmp_path: Path) -> None:
    audit, stderr = tmp_path / "audit.log", tmp_path / "stderr"
    env = {"HOST": "0.0.0.0", "GUIDANCE_AUTH": "off", "GUIDANCE_AUDIT_FILE": str(audit)}
    with running_server(env=env, stderr=stderr) as base_url:
        response = httpx.post(f"{base_url}/v1/evaluate", json={"facts": HARRY_PRE_BIRTH})
    assert response.status_code == 200
    (record,) = audit_records(audit, "evaluation")
    assert record["client"] == "unauthenticated"
    lines = [json.loads(line) for line in stderr.read_text().splitlines()]
    (warning,) = [line for line in lines if line["event"] == "authentication_off"]
    assert warning["level"] == "warning" and warning["host"] == "0.0.0.0"


def test_auth_off_on_loopback_records_unauthenticated_and_unset_records_anonymous(
    make_app: Callable[..., Litestar], audit_file: Path
) -> None:
    for settings, client in (({"auth": "off"}, "unauthenticated"), ({}, "anonymous")):
        with TestClient(make_app(**settings)) as http:
            assert http.post("/v1/evaluate", json={"facts": {}}).status_code == 200
        assert audit_records(audit_file, "evaluation")[-1]["client"] == client


# ---------------------------------------------------------------------------------------------
# the issuers file, checked before listening


def _issuers_with(tmp_path: Path, entry: dict[str, Any]) -> Path:
    write_jwks(tmp_path / "jwks.json", EC)
    return write_issuers(tmp_path / "issuers.yaml", entry)


GOOD = {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_file": "jwks.json"}


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("unknown key", "unknown key `jwks`"),
        ("no JWKS source", "give exactly one JWKS source"),
        ("unreadable", "cannot read the issuers file"),
    ],
)
def test_a_bad_issuers_file_refuses_to_start_with_one_json_line(
    tmp_path: Path, case: str, words: str
) -> None:
    if case == "unknown key":
        path = _issuers_with(tmp_path, {**GOOD, "jwks": "jwks.json"})
    elif case == "no JWKS source":
        path = _issuers_with(tmp_path, {"issuer": API_ISSUER, "audience": API_AUDIENCE})
    else:
        path = tmp_path / "no-such-issuers.yaml"
    result = serve({"GUIDANCE_AUTH": "jwt", "GUIDANCE_AUTH_ISSUERS": str(path)})
    assert result.returncode == 2
    line = one_json_line(result.stderr)
    assert (line["event"], line["setting"]) == ("startup_failed", "GUIDANCE_AUTH_ISSUERS")
    assert words in line["error"], line


def _write_hmac_jwks(tmp_path: Path) -> None:
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}))


def _write_private_jwks(tmp_path: Path) -> None:
    from jwt.algorithms import ECAlgorithm

    private = ECAlgorithm.to_jwk(ec_key(), as_dict=True)
    (tmp_path / "jwks.json").write_text(json.dumps({"keys": [{**private, "kid": "k"}]}))


@pytest.mark.parametrize(
    ("entry", "prepare", "words"),
    [
        ({**GOOD, "jwks_url": "https://idp.test/jwks"}, None, "give exactly one JWKS source"),
        ({**GOOD, "jwks_file": None, "jwks_url": "http://idp.test/jwks"}, None, "is not an https:// URL"),
        ({**GOOD, "jku_allowed": ["ftp://idp.test/k"]}, None, "is not an https:// URL"),
        ({**GOOD, "audience": None}, None, "could call nothing"),
        ({**GOOD, "cds_hooks": "yes"}, None, "Expected `bool`"),
        ({**GOOD, "jwks_file": "missing.json"}, None, "cannot read"),
        ({**GOOD}, lambda p: (p / "jwks.json").write_text("{not json"), "is not JSON"),
        ({**GOOD}, lambda p: (p / "jwks.json").write_text('{"keys": []}'), "holds no signing key"),
        ({**GOOD}, _write_hmac_jwks, "not an asymmetric key type"),
        ({**GOOD}, _write_private_jwks, "private key material"),
        ({**GOOD, "jwks_refresh_seconds": 0}, None, "Expected `float` >= 1"),
        ({**GOOD, "cds_hooks": True}, None, "set GUIDANCE_PUBLIC_URL"),
    ],
)
def test_the_issuers_file_is_checked_in_full_before_the_service_listens(
    tmp_path: Path, entry: dict[str, Any], prepare: Callable[[Path], Any] | None, words: str
) -> None:
    path = _issuers_with(tmp_path, {k: v for k, v in entry.items() if v is not None})
    if prepare is not None:
        prepare(tmp_path)
    settings = Settings(auth="jwt", auth_issuers=path)
    with pytest.raises(ConfigurationError) as refused:
        check_can_serve(settings)
    assert refused.value.setting in ("GUIDANCE_AUTH_ISSUERS", "GUIDANCE_PUBLIC_URL")
    assert words in refused.value.message


def test_a_problem_in_the_issuers_file_names_its_line(tmp_path: Path) -> None:
    write_jwks(tmp_path / "jwks.json", EC)
    path = tmp_path / "issuers.yaml"
    path.write_text(
        "issuers:\n"
        f"  - issuer: {API_ISSUER}\n"
        f"    audience: {API_AUDIENCE}\n"
        "    jwks_file: jwks.json\n"
        f"  - issuer: {CDS_ISSUER}\n"
        "    jwks_file: jwks.json\n"
        "    cds_hook: true\n"
    )
    with pytest.raises(ConfigurationError) as unknown:
        load_issuers(path)
    assert f"{path}, line 7: unknown key `cds_hook` (at `issuers[1].cds_hook`)" == unknown.value.message
    path.write_text(path.read_text().replace("cds_hook: true", f"audience: {API_AUDIENCE}\n    audience: x"))
    with pytest.raises(ConfigurationError) as twice:
        load_issuers(path)
    assert twice.value.message == f"{path}, line 8: key `audience` is given twice"


# ---------------------------------------------------------------------------------------------
# a running server: tokens checked, refusals logged without them


def test_a_running_server_answers_a_valid_token_and_logs_refusals_without_the_token(tmp_path: Path) -> None:
    write_jwks(tmp_path / "jwks.json", EC, RSA)
    issuers = write_issuers(tmp_path / "issuers.yaml", GOOD)
    audit, stdout, stderr = tmp_path / "audit.log", tmp_path / "stdout", tmp_path / "stderr"
    env = {"GUIDANCE_AUTH": "jwt", "GUIDANCE_AUTH_ISSUERS": str(issuers), "GUIDANCE_AUDIT_FILE": str(audit)}
    good = RSA.token(azp="case-system-b", tenant="council-3")
    bad = {
        "expired": EC.token(iat=1_700_000_000, exp=1_700_000_600),
        "wrong_audience": EC.token(aud="api://other"),
        "bad_signature": Signer(ec_key("stranger"), EC.kid, API_ISSUER).token(),
    }
    with (
        running_server(env=env, stdout=stdout, stderr=stderr) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        accepted = http.post(
            "/v1/evaluate", json={"facts": HARRY_PRE_BIRTH}, headers={"Authorization": f"Bearer {good}"}
        )
        refused = {
            reason: http.get("/v1/packs", headers={"Authorization": f"Bearer {token}"})
            for reason, token in bad.items()
        }
        assert http.get("/health").status_code == 200
    assert accepted.status_code == 200
    (record,) = audit_records(audit, "evaluation")
    assert (record["client"], record["tenant"]) == ("case-system-b", "council-3")
    assert {r.status_code for r in refused.values()} == {401}
    assert {r.text for r in refused.values()} == {refused["expired"].text}  # no word of why
    lines = [json.loads(line) for line in stderr.read_text().splitlines()]
    logged = [line for line in lines if line["event"] == "token_refused"]
    assert [line["reason"] for line in logged] == list(bad)
    assert all(line["issuer"] == API_ISSUER and line["path"] == "/v1/packs" for line in logged)
    for output in (stdout, stderr, audit):
        data = output.read_text()
        for token in (good, *bad.values()):
            for part in token.split("."):
                assert part not in data, f"part of a token reached {output.name}"


# ---------------------------------------------------------------------------------------------
# guidance dev-token


def test_dev_token_makes_an_issuer_once_and_its_tokens_are_accepted(
    tmp_path: Path, make_app: Callable[..., Litestar], audit_file: Path
) -> None:
    folder = tmp_path / ".dev"

    def dev_token(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "service.cli.main", "dev-token", "--dir", str(folder), *args]
        return subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)

    first = dev_token("--client", "newcomer", "--tenant", "dev-tenant")
    token = first.stdout.strip()
    assert first.stdout.count("\n") == 1 and token.count(".") == 2  # the token alone on stdout
    issuers = folder / "issuers.yaml"
    assert f"GUIDANCE_AUTH=jwt GUIDANCE_AUTH_ISSUERS={issuers} GUIDANCE_PUBLIC_URL=" in first.stderr
    assert "issuers:" in first.stderr  # the issuers file, printed once
    assert oct((folder / "dev-key.pem").stat().st_mode & 0o777) == "0o600"
    files = {name: (folder / name).read_bytes() for name in ("dev-key.pem", "jwks.json", "issuers.yaml")}

    second = dev_token()
    assert {name: (folder / name).read_bytes() for name in files} == files  # the same issuer
    assert "issuers:" not in second.stderr

    url = "http://127.0.0.1:8000/cds-services/case-facts"
    cds = dev_token("--cds-hooks-url", url).stdout.strip()
    app = make_app(auth="jwt", auth_issuers=issuers, public_url="http://127.0.0.1:8000")
    with TestClient(app) as client:
        for sent in (token, second.stdout.strip()):
            response = client.post(
                "/v1/evaluate", json={"facts": {}}, headers={"Authorization": f"Bearer {sent}"}
            )
            assert response.status_code == 200
    first_record, second_record = audit_records(audit_file, "evaluation")
    assert (first_record["client"], first_record["tenant"]) == ("newcomer", "dev-tenant")
    assert second_record["client"] == "dev-client" and "tenant" not in second_record
    caller = TokenVerifier(load_issuers(issuers)).verify(cds, url, cds_hooks=True)
    claims = jwt.decode(cds, options={"verify_signature": False})
    assert not {"azp", "sub", "client_id"} & set(claims)  # as a CDS client sends it
    assert caller.client == claims["iss"]  # so the issuer, the CDS client, is the client
