"""``guidance dev-token``: a test issuer for trying authentication on this machine.

The first run makes an EC P-256 key in ``.dev/`` (git-ignored) and writes the matching public
``jwks.json`` and an ``issuers.yaml`` that trusts it, as two issuers: one for the API and one
CDS Hooks client. Every run signs a fresh token and prints it alone on standard output (so
``TOKEN=$(guidance dev-token)`` works); how to start the server with it goes to standard error.

Never for a deployment: the key sits unprotected in a file and anyone with it is trusted.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

DEV_ISSUER = "http://127.0.0.1/dev-issuer"
DEV_CDS_HOOKS_ISSUER = "http://127.0.0.1/dev-cds-hooks-client"
DEV_AUDIENCE = "api://safeguarding-guidance"
DEV_PUBLIC_URL = "http://127.0.0.1:8000"
KEY_FILE = "dev-key.pem"
JWKS_FILE = "jwks.json"
ISSUERS_FILE = "issuers.yaml"
MAX_LIFETIME = 3600


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "dev-token",
        help="a signed token from a local test issuer (writes .dev/ once), for trying authentication",
        description="Print a bearer token signed by a test issuer whose key lives in DIR (made on first "
        "use), and, on standard error, how to start the server trusting it. For local development only.",
    )
    parser.add_argument("--dir", type=Path, default=Path(".dev"), help="where the key and files live")
    parser.add_argument(
        "--client",
        default="dev-client",
        help="the token's client (azp; a CDS Hooks token has none: its issuer is the client)",
    )
    parser.add_argument("--audience", default=DEV_AUDIENCE, help="the token's aud, for /v1")
    parser.add_argument(
        "--cds-hooks-url",
        metavar="URL",
        help="make a CDS Hooks token: aud is this exact URL (e.g. http://127.0.0.1:8000/cds-services), "
        "from the CDS Hooks issuer, with a fresh jti",
    )
    parser.add_argument("--tenant", help="a tenant claim")
    parser.add_argument("--lifetime", type=int, default=900, help="seconds, at most 3600 (default 900)")


def dev_token(args: argparse.Namespace) -> int:
    if not 1 <= args.lifetime <= MAX_LIFETIME:
        print("guidance dev-token: --lifetime must be from 1 to 3600 seconds", file=sys.stderr)
        return 2
    folder: Path = args.dir
    key, kid, made = _key(folder)
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": DEV_ISSUER,
        "aud": args.audience,
        "azp": args.client,
        "iat": now,
        "exp": now + args.lifetime,
        "jti": os.urandom(16).hex(),
    }
    if args.cds_hooks_url:  # as a CDS client sends it: no client claim, the issuer is the client
        claims["iss"] = DEV_CDS_HOOKS_ISSUER
        claims["aud"] = args.cds_hooks_url
        del claims["azp"]
    if args.tenant:
        claims["tenant"] = args.tenant
    token = jwt.encode(claims, key, algorithm="ES256", headers={"kid": kid})
    issuers = folder / ISSUERS_FILE
    print(token)
    if made:
        print(
            f"Made a test issuer key in {folder}/ ({KEY_FILE}, {JWKS_FILE}); {issuers} trusts it:\n\n"
            + issuers.read_text(),
            file=sys.stderr,
        )
    print(
        "Start the server trusting it (from the repository's folder):\n\n"
        f"  GUIDANCE_AUTH=jwt GUIDANCE_AUTH_ISSUERS={issuers} "
        f"GUIDANCE_PUBLIC_URL={DEV_PUBLIC_URL} make run\n\n"
        f"and call it with a token (this one lasts {_duration(args.lifetime)}):\n\n"
        "  TOKEN=$(.venv/bin/guidance dev-token)\n"
        '  curl -s -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000/v1/packs',
        file=sys.stderr,
    )
    return 0


def _key(folder: Path) -> tuple[ec.EllipticCurvePrivateKey, str, bool]:
    """The test issuer's key, made (with its JWK Set and issuers file) the first time."""
    path = folder / KEY_FILE
    made = not path.exists()
    if made:
        folder.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(pem)
    else:
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, ec.EllipticCurvePrivateKey):
            raise SystemExit(f"guidance dev-token: {path} is not an EC key; remove {folder}/ to start afresh")
        key = loaded
    public = ECAlgorithm.to_jwk(key.public_key(), as_dict=True)
    kid = _thumbprint(public)
    jwks = {"keys": [{**public, "kid": kid, "use": "sig", "alg": "ES256"}]}
    if made or not (folder / JWKS_FILE).exists():
        (folder / JWKS_FILE).write_text(json.dumps(jwks, indent=2) + "\n")
    if made or not (folder / ISSUERS_FILE).exists():
        _write_issuers(folder / ISSUERS_FILE)
    return key, kid, made


def _write_issuers(path: Path) -> None:
    path.write_text(
        "# Written by `guidance dev-token`: a test issuer for this machine only.\n"
        "issuers:\n"
        f"  - issuer: {DEV_ISSUER}\n"
        f"    audience: {DEV_AUDIENCE}\n"
        f"    jwks_file: {JWKS_FILE}\n"
        f"  - issuer: {DEV_CDS_HOOKS_ISSUER}\n"
        f"    jwks_file: {JWKS_FILE}\n"
        "    cds_hooks: true\n"
    )


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _thumbprint(jwk: dict[str, str]) -> str:
    """RFC 7638: SHA-256 over the required members in lexical order, base64url."""
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    digest = hashlib.sha256(json.dumps(required, separators=(",", ":"), sort_keys=True).encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
