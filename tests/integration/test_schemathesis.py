"""Schemathesis, with every check it has, against the running service and the committed
OpenAPI document: what the document says is what the service does.

Bounded for `make test` (a fixed seed and a number of examples per operation, about half a
minute); `SCHEMATHESIS_MAX_EXAMPLES` and `SCHEMATHESIS_SEED` widen or vary a run by hand.

The document declares the bearer scheme on every protected operation, so the service runs with
`GUIDANCE_AUTH=jwt` and Schemathesis sends a valid token (made here, with a key made here);
its authentication checks then send requests without it, or with a broken one, and expect 401.
CDS Hooks calls get a token each from an EHR issuer (tests/schemathesis_hooks.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.conftest import REPO
from tests.issuers import (
    API_AUDIENCE,
    API_ISSUER,
    CDS_ISSUER,
    PUBLIC_URL,
    Signer,
    ec_key,
    write_issuers,
    write_jwks,
)
from tests.server import running_server

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_schemathesis_with_all_checks_finds_nothing(tmp_path: Path) -> None:
    signer = Signer(ec_key(), "schemathesis", API_ISSUER)
    ehr = Signer(ec_key("ehr"), "ehr-schemathesis", CDS_ISSUER)
    write_jwks(tmp_path / "jwks.json", signer)
    write_jwks(tmp_path / "ehr-jwks.json", ehr)
    ehr_key = tmp_path / "ehr-key.pem"
    ehr_key.write_bytes(
        ehr.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    issuers = write_issuers(
        tmp_path / "issuers.yaml",
        {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_file": "jwks.json"},
        {"issuer": CDS_ISSUER, "jwks_file": "ehr-jwks.json", "cds_hooks": True},
    )
    env = {
        "GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log"),
        "GUIDANCE_AUTH": "jwt",
        "GUIDANCE_AUTH_ISSUERS": str(issuers),
        "GUIDANCE_PUBLIC_URL": PUBLIC_URL,
    }
    token = signer.token(azp="schemathesis", lifetime=1800)
    with running_server(env=env) as base_url:
        result = subprocess.run(
            [
                str(SCHEMATHESIS),
                "run",
                str(REPO / "openapi" / "openapi.json"),
                "--url",
                base_url,
                "--checks",
                "all",
                "--max-examples",
                os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "60"),
                "--seed",
                os.environ.get("SCHEMATHESIS_SEED", "2019"),
                "--workers",
                "1",
                "--continue-on-failure",
                "--no-color",
            ],
            cwd=REPO,
            env={
                **os.environ,
                "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks",
                "PYTHONPATH": str(REPO),
                "SCHEMATHESIS_API_TOKEN": token,
                "SCHEMATHESIS_CDS_KEY": str(ehr_key),
                "SCHEMATHESIS_CDS_ISSUER": CDS_ISSUER,
                "SCHEMATHESIS_PUBLIC_URL": PUBLIC_URL,
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "Warnings:" not in report, report
    assert "No issues found" in report, report
    paths = json.loads((REPO / "openapi" / "openapi.json").read_text())["paths"]
    operations = sum(len(item) for item in paths.values())
    assert f"{operations} selected / {operations} total" in report, report
