"""The benchmark keeps working: ``python -m bench --smoke`` runs end to end and prints its table.

Only that it runs: no timing is asserted here (CI machines are noisy and shared).
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

ROWS = (
    "POST /v1/evaluate vs bare Litestar POST",
    "Engine per evaluation, shipped packs",
    "-rule pack vs shipped",
    "Resident memory over",
    "Two workers vs one worker",
    "Throughput by worker processes",
    "p99 latency at half the maximum throughput",
    "Audit line per evaluation",
    "Overload: 256 connections, 1 worker",
)


def test_bench_smoke_run_prints_the_table() -> None:
    results = REPO / "bench" / "results" / "smoke.json"
    results.unlink(missing_ok=True)  # the file checked below is this run's, not an earlier one's
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "| # | measure | figure | target | ratio | result |" in done.stdout
    for row in ROWS:
        assert row in done.stdout, row
    assert results.is_file()
