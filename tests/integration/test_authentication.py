"""Caller authentication, with real RSA and EC keys made here, over HTTP: the real app with
``GUIDANCE_AUTH=jwt``, a JWK Set in a file and one served by a local HTTP server, and the
middleware under /cds-services on a throwaway route of a small app."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import msgspec
import pytest
from litestar import Litestar, Request, get, post
from litestar.testing import TestClient

from service.auth.callers import caller_of
from service.auth.issuers import load_issuers
from service.auth.mode import AuthMode
from service.auth.tokens import TokenVerifier
from service.facts.examples import HARRY_PRE_BIRTH
from service.http import authentication
from service.http.authentication import AuthenticationMiddleware
from tests.audit_file import audit_records
from tests.issuers import (
    API_AUDIENCE,
    API_ISSUER,
    CDS_ISSUER,
    PUBLIC_URL,
    JwksServer,
    Signer,
    ec_key,
    rsa_key,
    unsigned,
    write_issuers,
    write_jwks,
)

RSA = Signer(rsa_key(), "rsa-2026", API_ISSUER, declare_alg=False)  # RS256 or PS256
EC = Signer(ec_key(), "ec-2026", API_ISSUER)  # ES256, declared
STRANGER = Signer(ec_key("stranger"), "ec-2026", API_ISSUER)  # the same kid, a key nobody trusts
EHR = Signer(ec_key("ehr"), "ehr-1", CDS_ISSUER)
UNAUTHORIZED = {
    "status": 401,
    "type": "https://safeguarding-guidance.example/problems/unauthorized",
    "title": "Unauthorized",
    "detail": "A valid bearer token is required.",
}
OPERATION_OUTCOME = {"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "login"}]}


@pytest.fixture
def issuers_file(tmp_path: Path) -> Path:
    write_jwks(tmp_path / "idp-jwks.json", RSA, EC)
    write_jwks(tmp_path / "ehr-jwks.json", EHR)
    return write_issuers(
        tmp_path / "issuers.yaml",
        {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_file": "idp-jwks.json"},
        {"issuer": CDS_ISSUER, "jwks_file": str(tmp_path / "ehr-jwks.json"), "cds_hooks": True},
    )


@pytest.fixture
def jwt_client(make_app: Callable[..., Litestar], issuers_file: Path) -> Iterator[TestClient]:
    app = make_app(auth="jwt", auth_issuers=issuers_file, public_url=PUBLIC_URL)
    with TestClient(app) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """What the middleware hands its log for each refusal (in process; the JSON lines a running
    server writes to standard error are read in test_authentication_server.py)."""
    seen: list[dict[str, Any]] = []
    write = authentication._RefusalLog.write

    def recording(self: Any, **fields: Any) -> None:
        seen.append(fields)
        write(self, **fields)

    monkeypatch.setattr(authentication._RefusalLog, "write", recording)
    return seen


def assert_refused(response: Any, challenge: str = 'Bearer error="invalid_token"') -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == challenge
    assert response.json() == UNAUTHORIZED  # the same words whatever was wrong
    assert response.headers["x-request-id"]


# ---------------------------------------------------------------------------------------------
# accepted


@pytest.mark.parametrize(
    ("signer", "algorithm"),
    [(RSA, "RS256"), (RSA, "PS256"), (RSA, "RS512"), (EC, "ES256")],
)
def test_a_valid_token_is_answered_and_the_audit_names_its_client(
    jwt_client: TestClient, audit_file: Path, signer: Signer, algorithm: str
) -> None:
    token = signer.token(algorithm=algorithm, tenant="council-7")
    response = jwt_client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH}, headers=bearer(token))
    assert response.status_code == 200, response.text
    (record,) = audit_records(audit_file, "evaluation")
    assert record["client"] == "case-system-a"
    assert record["tenant"] == "council-7"
    sent = {
        "evaluation_id": response.json()["evaluation_id"],
        "prompt_id": response.json()["prompts"][0]["id"],
        "outcome": "accepted",
    }
    assert jwt_client.post("/v1/feedback", json=sent, headers=bearer(token)).status_code == 202
    (feedback,) = audit_records(audit_file, "feedback")
    assert (feedback["client"], feedback["tenant"]) == ("case-system-a", "council-7")
    assert token.encode() not in audit_file.read_bytes()


def test_without_a_tenant_claim_the_record_has_no_tenant(jwt_client: TestClient, audit_file: Path) -> None:
    response = jwt_client.post("/v1/evaluate", json={"facts": {}}, headers=bearer(EC.token()))
    assert response.status_code == 200
    (record,) = audit_records(audit_file, "evaluation")
    assert "tenant" not in record and record["client"] == "case-system-a"


@pytest.mark.parametrize(
    ("claims", "client"),
    [
        ({"azp": "from-azp", "client_id": "from-client-id", "sub": "from-sub"}, "from-azp"),
        ({"azp": None, "client_id": "from-client-id", "sub": "from-sub"}, "from-client-id"),
        ({"azp": None, "sub": "from-sub"}, "from-sub"),
    ],
)
def test_the_client_is_azp_then_client_id_then_sub(
    jwt_client: TestClient, audit_file: Path, claims: dict[str, Any], client: str
) -> None:
    response = jwt_client.post("/v1/evaluate", json={"facts": {}}, headers=bearer(EC.token(**claims)))
    assert response.status_code == 200
    assert audit_records(audit_file, "evaluation")[0]["client"] == client


def test_a_configured_client_claim_is_the_only_one_read(
    make_app: Callable[..., Litestar], tmp_path: Path
) -> None:
    write_jwks(tmp_path / "jwks.json", EC)
    issuers = write_issuers(
        tmp_path / "issuers.yaml",
        {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_file": "jwks.json", "client_claim": "appid"},
    )
    with TestClient(make_app(auth="jwt", auth_issuers=issuers)) as client:
        named = client.get("/v1/packs", headers=bearer(EC.token(appid="from-appid")))
        unnamed = client.get("/v1/packs", headers=bearer(EC.token()))  # azp only
    assert named.status_code == 200
    assert_refused(unnamed)


def test_health_ready_metrics_and_the_docs_need_no_token(jwt_client: TestClient) -> None:
    for path in ("/health", "/ready", "/metrics", "/schema", "/schema/openapi.json"):
        assert jwt_client.get(path).status_code == 200, path
    assert_refused(jwt_client.get("/v1/packs"), challenge="Bearer")
    assert_refused(jwt_client.get("/v1/status"), challenge="Bearer")
    assert jwt_client.get("/v1/status", headers=bearer(EC.token())).json()["authentication"] == "jwt"


# ---------------------------------------------------------------------------------------------
# refused


def _tampered() -> str:
    header, payload, signature = EC.token().split(".")
    claims = json.loads(jwt.utils.base64url_decode(payload))
    claims["azp"] = "someone-else"
    return ".".join([header, jwt.utils.base64url_encode(json.dumps(claims).encode()).decode(), signature])


def _hs256_with_the_public_key() -> str:
    # The classic confusion: the verifier's public key used as an HMAC secret. PyJWT will not
    # sign with a PEM as an HMAC key, so the token is put together by hand.
    import hashlib
    import hmac

    header = {"alg": "HS256", "typ": "JWT", "kid": RSA.kid}
    body = unsigned(header, RSA.claims())
    signing_input = body.rsplit(".", 1)[0]
    mac = hmac.new(RSA.public_pem(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{jwt.utils.base64url_encode(mac).decode()}"


def now() -> int:
    return int(time.time())


REFUSED: dict[str, tuple[Callable[[], dict[str, str]], str]] = {
    "missing": (lambda: {}, "no_token"),
    "not bearer": (lambda: {"Authorization": "Basic dXNlcjpwYXNz"}, "not_bearer"),
    "not a token": (lambda: bearer("not-a-jwt"), "malformed"),
    "expired": (lambda: bearer(EC.token(iat=now() - 900, exp=now() - 300)), "expired"),
    "issued in the future": (lambda: bearer(EC.token(iat=now() + 300, exp=now() + 900)), "not_yet_valid"),
    "not yet valid": (lambda: bearer(EC.token(nbf=now() + 300)), "not_yet_valid"),
    "wrong aud": (lambda: bearer(EC.token(aud="api://another-service")), "wrong_audience"),
    "no aud": (lambda: bearer(EC.token(aud=None)), "no_aud"),
    "wrong iss": (lambda: bearer(EC.token(iss="https://idp.elsewhere.test")), "unknown_issuer"),
    "unknown kid": (lambda: bearer(EC.token(headers={"kid": "ec-1999"})), "unknown_kid"),
    "no kid": (lambda: bearer(unsigned({"alg": "ES256"}, EC.claims(), b"x" * 64)), "no_kid"),
    "alg none": (
        lambda: bearer(unsigned({"alg": "none", "kid": EC.kid}, EC.claims())),
        "algorithm_not_allowed",
    ),
    "HS256 signed with the public key": (
        lambda: bearer(_hs256_with_the_public_key()),
        "algorithm_not_allowed",
    ),
    "tampered payload": (lambda: bearer(_tampered()), "bad_signature"),
    "signed by a stranger under a known kid": (lambda: bearer(STRANGER.token()), "bad_signature"),
    "an alg other than the key's declared one": (
        lambda: bearer(unsigned({"alg": "ES384", "kid": EC.kid}, EC.claims(), b"x" * 96)),
        "algorithm_not_for_key",
    ),
    "an EC alg naming an RSA key": (
        lambda: bearer(EC.token(headers={"kid": RSA.kid})),
        "algorithm_not_for_key",
    ),
    "lifetime over an hour": (lambda: bearer(EC.token(lifetime=3601 + 60)), "lifetime_too_long"),
    "no exp": (lambda: bearer(EC.token(exp=None)), "no_exp"),
    "no iat": (lambda: bearer(EC.token(iat=None)), "no_iat"),
    "no client claim": (lambda: bearer(EC.token(azp=None)), "no_client"),
    "client not text": (lambda: bearer(EC.token(azp=["a", "b"])), "no_client"),
    "tenant not text": (lambda: bearer(EC.token(tenant="line\nbreak")), "invalid_tenant"),
    "a CDS Hooks issuer on the API": (lambda: bearer(EHR.token()), "issuer_not_for_api"),
    "jku not on the allow-list": (
        lambda: bearer(EC.token(headers={"jku": "https://attacker.test/jwks.json"})),
        "jku_not_allowed",
    ),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_refused_token_gets_401_with_no_detail_and_the_reason_is_logged(
    jwt_client: TestClient, audit_file: Path, refusals: list[dict[str, Any]], case: str
) -> None:
    headers, reason = REFUSED[case]
    sent = headers()
    response = jwt_client.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH}, headers=sent)
    assert_refused(response, challenge="Bearer" if case == "missing" else 'Bearer error="invalid_token"')
    assert audit_records(audit_file, "evaluation") == []
    (line,) = refusals
    assert line["reason"] == reason
    assert line["path"] == "/v1/evaluate"
    assert set(line) <= {"reason", "issuer", "path"}


def test_a_refusal_logs_the_trusted_issuer_but_never_an_unknown_one(
    jwt_client: TestClient, refusals: list[dict[str, Any]]
) -> None:
    jwt_client.get("/v1/packs", headers=bearer(EC.token(aud="api://x")))
    jwt_client.get("/v1/packs", headers=bearer(EC.token(iss="https://made-up-issuer.test")))
    known, unknown = refusals
    assert known["issuer"] == API_ISSUER
    assert "issuer" not in unknown
    assert "made-up-issuer" not in json.dumps(unknown)


def test_a_rule_path_is_logged_as_its_route_not_as_sent(
    jwt_client: TestClient, refusals: list[dict[str, Any]]
) -> None:
    assert jwt_client.get("/v1/rules/caller-text/more-caller-text").status_code == 401
    (line,) = refusals
    assert line["path"] == "/v1/rules/{pack_id}/{rule_id}"


def test_two_authorization_headers_are_refused(jwt_client: TestClient) -> None:
    token = EC.token()
    response = jwt_client.get(
        "/v1/packs", headers=[("Authorization", f"Bearer {token}"), ("Authorization", f"Bearer {token}")]
    )
    assert_refused(response)


# ---------------------------------------------------------------------------------------------
# keys by URL: caching, rotation, jku


def test_a_jwks_url_is_cached_and_a_rotated_key_is_picked_up(
    make_app: Callable[..., Litestar], tmp_path: Path
) -> None:
    old = Signer(ec_key("rotation-old"), "2026-01", API_ISSUER)
    new = Signer(rsa_key("rotation-new"), "2026-02", API_ISSUER)
    jwks = JwksServer()
    jwks.sets["/jwks.json"] = {"keys": [old.jwk()]}
    issuers = write_issuers(
        tmp_path / "issuers.yaml",
        {
            "issuer": API_ISSUER,
            "audience": API_AUDIENCE,
            "jwks_url": jwks.url("/jwks.json"),
            "jwks_refresh_seconds": 1,
        },
    )
    with jwks.running(), TestClient(make_app(auth="jwt", auth_issuers=issuers)) as client:
        for _ in range(3):
            assert client.get("/v1/packs", headers=bearer(old.token())).status_code == 200
        assert jwks.fetches["/jwks.json"] == 1  # fetched once, then cached

        jwks.sets["/jwks.json"] = {"keys": [new.jwk()]}  # the issuer rotates its key
        for n in range(5):  # a burst of unknown kids refreshes the set at most once
            made_up = new.token(headers={"kid": f"made-up-{n}"})
            assert_refused(client.get("/v1/packs", headers=bearer(made_up)))
        assert jwks.fetches["/jwks.json"] <= 2
        time.sleep(1.1)  # the issuer's refresh interval
        assert client.get("/v1/packs", headers=bearer(new.token())).status_code == 200
        assert jwks.fetches["/jwks.json"] <= 3
        time.sleep(1.1)
        assert_refused(client.get("/v1/packs", headers=bearer(old.token())))  # rotated out
        assert jwks.fetches["/jwks.json"] <= 4


def test_an_unreachable_jwks_url_refuses_and_is_not_asked_again_at_once(
    make_app: Callable[..., Litestar], tmp_path: Path, refusals: list[dict[str, Any]]
) -> None:
    jwks = JwksServer()  # serves nothing at this path: 404
    issuers = write_issuers(
        tmp_path / "issuers.yaml",
        {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_url": jwks.url("/missing.json")},
    )
    with jwks.running(), TestClient(make_app(auth="jwt", auth_issuers=issuers)) as client:
        for _ in range(3):
            assert_refused(client.get("/v1/packs", headers=bearer(EC.token())))
    assert jwks.fetches["/missing.json"] == 1
    assert [line["reason"] for line in refusals] == ["keys_unavailable"] * 3


def test_a_jku_on_the_allow_list_is_honoured_and_one_off_it_is_not(
    make_app: Callable[..., Litestar], tmp_path: Path
) -> None:
    elsewhere = Signer(ec_key("jku"), "jku-1", API_ISSUER)
    jwks = JwksServer()
    jwks.sets["/allowed.json"] = {"keys": [elsewhere.jwk()]}
    jwks.sets["/not-allowed.json"] = {"keys": [elsewhere.jwk()]}
    write_jwks(tmp_path / "jwks.json", EC)
    issuers = write_issuers(
        tmp_path / "issuers.yaml",
        {
            "issuer": API_ISSUER,
            "audience": API_AUDIENCE,
            "jwks_file": "jwks.json",
            "jku_allowed": [jwks.url("/allowed.json")],
        },
    )
    with jwks.running(), TestClient(make_app(auth="jwt", auth_issuers=issuers)) as client:
        allowed = client.get(
            "/v1/packs", headers=bearer(elsewhere.token(headers={"jku": jwks.url("/allowed.json")}))
        )
        refused = client.get(
            "/v1/packs", headers=bearer(elsewhere.token(headers={"jku": jwks.url("/not-allowed.json")}))
        )
        without_jku = client.get("/v1/packs", headers=bearer(elsewhere.token()))  # not in the file
    assert allowed.status_code == 200
    assert_refused(refused)
    assert_refused(without_jku)
    assert "/not-allowed.json" not in jwks.fetches  # never fetched


# ---------------------------------------------------------------------------------------------
# CDS Hooks: the middleware on throwaway routes shaped like the CDS Hooks endpoints


@get("/cds-services", include_in_schema=False)
async def _discovery(request: Request) -> dict[str, Any]:
    return msgspec.structs.asdict(caller_of(request.scope))


@post("/cds-services/{service_id:str}", include_in_schema=False, status_code=200)
async def _service(request: Request) -> dict[str, Any]:
    return msgspec.structs.asdict(caller_of(request.scope))


@post("/cds-services/{service_id:str}/feedback", include_in_schema=False, status_code=200)
async def _feedback(request: Request) -> dict[str, Any]:
    return msgspec.structs.asdict(caller_of(request.scope))


@pytest.fixture
def cds_client(issuers_file: Path) -> Iterator[TestClient]:
    verifier = TokenVerifier(load_issuers(issuers_file))
    app = Litestar(
        route_handlers=[_discovery, _service, _feedback],
        middleware=[AuthenticationMiddleware(AuthMode.JWT, verifier, PUBLIC_URL)],
    )
    with TestClient(app) as client:
        yield client


def cds_token(url: str, **claims: Any) -> str:
    return EHR.token(aud=url, jti=claims.pop("jti", None) or f"jti-{time.monotonic_ns()}", **claims)


def assert_cds_refused(response: Any) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/fhir+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json() == OPERATION_OUTCOME


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/cds-services"),
        ("POST", "/cds-services/case-facts"),
        ("POST", "/cds-services/case-facts/feedback"),
    ],
)
def test_cds_hooks_tokens_name_the_exact_url_called(cds_client: TestClient, method: str, path: str) -> None:
    response = cds_client.request(
        method, path, headers=bearer(cds_token(PUBLIC_URL + path, tenant="trust-9"))
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"client": "case-system-a", "tenant": "trust-9", "issuer": CDS_ISSUER}
    others = {"/cds-services", "/cds-services/case-facts", "/cds-services/case-facts/feedback"} - {path}
    for other in sorted(others):
        assert_cds_refused(cds_client.request(method, path, headers=bearer(cds_token(PUBLIC_URL + other))))


@pytest.mark.parametrize(
    "audience",
    [
        PUBLIC_URL + "/cds-services/case-facts?x=1",
        PUBLIC_URL + "/cds-services/case-facts/",
        "http://guidance.test/cds-services/case-facts",
        [PUBLIC_URL + "/cds-services/case-facts"],  # CDS Hooks: one string, not a list
        API_AUDIENCE,
    ],
)
def test_a_cds_hooks_audience_other_than_the_exact_url_is_refused(
    cds_client: TestClient, audience: Any
) -> None:
    assert_cds_refused(cds_client.post("/cds-services/case-facts?x=1", headers=bearer(cds_token(audience))))


@pytest.mark.parametrize(
    ("called", "audience"),
    [
        ("/cds-services/case-facts/", "/cds-services/case-facts"),  # a slash added in the call
        ("/cds-services/case%2Dfacts", "/cds-services/case-facts"),  # a character written encoded
    ],
)
def test_the_audience_is_the_path_as_called_not_as_decoded(
    cds_client: TestClient, called: str, audience: str
) -> None:
    assert_cds_refused(cds_client.post(called, headers=bearer(cds_token(PUBLIC_URL + audience))))


def test_a_replayed_jti_is_refused(cds_client: TestClient, refusals: list[dict[str, Any]]) -> None:
    url = PUBLIC_URL + "/cds-services/case-facts"
    token = cds_token(url, jti="once-only")
    assert cds_client.post("/cds-services/case-facts", headers=bearer(token)).status_code == 200
    assert_cds_refused(cds_client.post("/cds-services/case-facts", headers=bearer(token)))
    again = cds_token(url, jti="once-only")  # a new token, the same jti
    assert_cds_refused(cds_client.post("/cds-services/case-facts", headers=bearer(again)))
    assert [line["reason"] for line in refusals] == ["replayed_jti"] * 2
    assert cds_client.post("/cds-services/case-facts", headers=bearer(cds_token(url))).status_code == 200


def test_a_cds_hooks_token_as_the_spec_has_it_names_its_issuer_as_the_client(cds_client: TestClient) -> None:
    """CDS Hooks tokens carry iss, aud, exp, iat, jti (and perhaps tenant): no sub, no azp."""
    token = cds_token(PUBLIC_URL + "/cds-services", azp=None)
    response = cds_client.get("/cds-services", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {"client": CDS_ISSUER, "tenant": None, "issuer": CDS_ISSUER}


def test_a_cds_hooks_token_needs_a_jti(cds_client: TestClient) -> None:
    token = EHR.token(aud=PUBLIC_URL + "/cds-services")
    assert_cds_refused(cds_client.get("/cds-services", headers=bearer(token)))


def test_an_api_issuer_cannot_call_cds_hooks(cds_client: TestClient, refusals: list[dict[str, Any]]) -> None:
    token = EC.token(aud=PUBLIC_URL + "/cds-services", jti="j-1")
    assert_cds_refused(cds_client.get("/cds-services", headers=bearer(token)))
    assert refusals[0]["reason"] == "issuer_not_for_cds_hooks"
    assert_cds_refused(cds_client.get("/cds-services"))


# ---------------------------------------------------------------------------------------------
# rate limit and CORS


def test_the_rate_limit_is_per_client(make_app: Callable[..., Litestar], issuers_file: Path) -> None:
    app = make_app(auth="jwt", auth_issuers=issuers_file, public_url=PUBLIC_URL, rate_limit=("minute", 3))
    a, b = bearer(EC.token(azp="client-a")), bearer(RSA.token(azp="client-b"))
    with TestClient(app) as client:
        assert [client.get("/v1/packs", headers=a).status_code for _ in range(3)] == [200] * 3
        limited = client.get("/v1/rules", headers=a)
        assert client.get("/v1/packs", headers=b).status_code == 200  # another client is not held back
        assert all(client.get("/health").status_code == 200 for _ in range(5))  # never limited
        assert client.get("/ready").status_code == 200
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.json()["type"].endswith("/too-many-requests")


def test_without_a_rate_limit_setting_there_is_none(client: TestClient) -> None:
    assert all(client.get("/v1/packs").status_code == 200 for _ in range(30))


ALLOWED_ORIGIN = "https://portal.council.test"


def preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/v1/evaluate",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


def test_cors_answers_a_preflight_from_an_allowed_origin_only(
    make_app: Callable[..., Litestar], issuers_file: Path
) -> None:
    app = make_app(
        auth="jwt", auth_issuers=issuers_file, public_url=PUBLIC_URL, cors_origins=(ALLOWED_ORIGIN,)
    )
    with TestClient(app) as client:
        allowed = preflight(client, ALLOWED_ORIGIN)
        other = preflight(client, "https://elsewhere.test")
        answered = client.get("/v1/packs", headers={"Origin": ALLOWED_ORIGIN, **bearer(EC.token())})
    assert allowed.status_code == 204
    assert allowed.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "access-control-allow-credentials" not in allowed.headers
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in allowed.headers["access-control-allow-headers"].split(",")
    }
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert "x-request-id" in answered.headers["access-control-expose-headers"].lower()


def test_cors_is_off_by_default(client: TestClient) -> None:
    response = preflight(client, ALLOWED_ORIGIN)
    assert "access-control-allow-origin" not in response.headers
    answered = client.get("/v1/packs", headers={"Origin": ALLOWED_ORIGIN})
    assert "access-control-allow-origin" not in answered.headers


def test_under_cds_hooks_the_rate_limit_answers_with_an_operation_outcome(
    make_app: Callable[..., Litestar], issuers_file: Path
) -> None:
    app = make_app(auth="jwt", auth_issuers=issuers_file, public_url=PUBLIC_URL, rate_limit=("minute", 2))
    url = PUBLIC_URL + "/cds-services"
    with TestClient(app) as client:
        answered = [client.get("/cds-services", headers=bearer(cds_token(url))).status_code for _ in range(2)]
        limited = client.get("/cds-services", headers=bearer(cds_token(url)))
    assert answered == [200, 200]
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/fhir+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    outcome = limited.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "throttled"
