"""Test issuers with real keys made in the test run, their JWK Sets and issuers files, and a
local HTTP server for JWK Sets served by URL."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

API_AUDIENCE = "api://safeguarding-guidance"
API_ISSUER = "https://idp.council.test"
CDS_ISSUER = "https://ehr.trust.test"
PUBLIC_URL = "https://guidance.test"


@cache
def rsa_key(name: str = "rsa") -> rsa.RSAPrivateKey:
    """An RSA key per name, made once per test run (they take a moment each)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@cache
def ec_key(name: str = "ec") -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


class Signer:
    """A key with its ``kid``, signing tokens for one issuer."""

    def __init__(
        self,
        key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey,
        kid: str,
        issuer: str,
        *,
        declare_alg: bool = True,
    ) -> None:
        self.key = key
        self.kid = kid
        self.issuer = issuer
        self.algorithm = "RS256" if isinstance(key, rsa.RSAPrivateKey) else "ES256"
        self.declare_alg = declare_alg

    def jwk(self) -> dict[str, Any]:
        maker = RSAAlgorithm if isinstance(self.key, rsa.RSAPrivateKey) else ECAlgorithm
        public: dict[str, Any] = maker.to_jwk(self.key.public_key(), as_dict=True)
        public.update(kid=self.kid, use="sig")
        if self.declare_alg:
            public["alg"] = self.algorithm
        return public

    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def claims(self, lifetime: int = 300, **claims: Any) -> dict[str, Any]:
        now = int(time.time())
        base: dict[str, Any] = {
            "iss": self.issuer,
            "aud": API_AUDIENCE,
            "azp": "case-system-a",
            "iat": now,
            "exp": now + lifetime,
        }
        base.update(claims)
        return {k: v for k, v in base.items() if v is not None}  # None: leave the claim out

    def token(
        self, *, algorithm: str | None = None, headers: dict[str, Any] | None = None, **claims: Any
    ) -> str:
        return jwt.encode(
            self.claims(**claims),
            self.key,
            algorithm=algorithm or self.algorithm,
            headers={"kid": self.kid, **(headers or {})},
        )


def jwks(*signers: Signer) -> dict[str, Any]:
    return {"keys": [s.jwk() for s in signers]}


def write_jwks(path: Path, *signers: Signer) -> Path:
    path.write_text(json.dumps(jwks(*signers)))
    return path


def write_issuers(path: Path, *entries: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"issuers": list(entries)}, sort_keys=False))
    return path


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    """A token put together by hand (for forms no library will sign: ``alg: none``)."""
    parts = [json.dumps(header).encode(), json.dumps(claims).encode()]
    return ".".join([*(b64(p) for p in parts), b64(signature)])


class JwksServer:
    """JWK Sets served over HTTP on loopback; ``sets[path]`` is what each path answers, and
    ``fetches[path]`` counts the requests for it."""

    def __init__(self) -> None:
        self.sets: dict[str, dict[str, Any]] = {}
        self.fetches: dict[str, int] = {}
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                with server._lock:
                    server.fetches[self.path] = server.fetches.get(self.path, 0) + 1
                    body = server.sets.get(self.path)
                data = json.dumps(body).encode() if body is not None else b"{}"
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._http = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._http.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base_url + path

    @contextmanager
    def running(self) -> Iterator[JwksServer]:
        thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._http.shutdown()
            self._http.server_close()
            thread.join(5)
