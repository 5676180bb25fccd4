"""Schemathesis, with every check it has, against the running service and the committed
OpenAPI document: what the document says is what the service does.

Bounded for `make test` (a fixed seed and a number of examples per operation, about half a
minute); `SCHEMATHESIS_MAX_EXAMPLES` and `SCHEMATHESIS_SEED` widen or vary a run by hand.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO
from tests.server import running_server

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"


def test_schemathesis_with_all_checks_finds_nothing(tmp_path: Path) -> None:
    env = {"GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log")}
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
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(REPO)},
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
