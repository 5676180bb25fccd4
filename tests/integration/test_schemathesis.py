"""Schemathesis, with every check it has, against the running service and the committed
OpenAPI document: what the document says is what the service does.

Bounded for `make test` (a fixed seed and a number of examples per operation, about half a
minute); `SCHEMATHESIS_MAX_EXAMPLES` and `SCHEMATHESIS_SEED` widen or vary a run by hand.

The document declares the bearer scheme on every protected operation, so the service runs with
`GUIDANCE_AUTH=jwt` and Schemathesis sends a valid token (made here, with a key made here);
its authentication checks then send requests without it, or with a broken one, and expect 401.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.issuers import API_AUDIENCE, API_ISSUER, Signer, ec_key, write_issuers, write_jwks
from tests.server import running_server

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_schemathesis_with_all_checks_finds_nothing(tmp_path: Path) -> None:
    signer = Signer(ec_key(), "schemathesis", API_ISSUER)
    write_jwks(tmp_path / "jwks.json", signer)
    issuers = write_issuers(
        tmp_path / "issuers.yaml", {"issuer": API_ISSUER, "audience": API_AUDIENCE, "jwks_file": "jwks.json"}
    )
    env = {
        "GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log"),
        "GUIDANCE_AUTH": "jwt",
        "GUIDANCE_AUTH_ISSUERS": str(issuers),
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
                "--header",
                f"Authorization: Bearer {token}",
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
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=300,
        )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "Warnings:" not in report, report
    assert " passed" in report and "7 selected / 7 total" in report, report
