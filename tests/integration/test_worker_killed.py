"""A worker killed under load: the other worker goes on answering, a new worker takes the dead
one's place with a chain of its own, and every answer given is in the audit trail, whole."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from service.facts.examples import HARRY_PRE_BIRTH
from tests.audit_file import audit_records, records_so_far
from tests.conftest import REPO
from tests.server import running_server


def test_a_killed_worker_is_replaced_and_no_answer_goes_unrecorded(tmp_path: Path) -> None:
    audit = tmp_path / "audit.log"
    answered: list[str] = []
    failed: list[str] = []
    wrong: list[str] = []  # answers other than 200: a thread's assert would go unseen
    stop = threading.Event()

    def keep_asking() -> None:
        with httpx.Client(base_url=base_url, timeout=10) as http:
            while not stop.is_set():
                try:
                    response = http.post("/v1/evaluate", json={"facts": HARRY_PRE_BIRTH})
                except httpx.TransportError as error:  # a request in flight on the killed worker
                    failed.append(type(error).__name__)
                    continue
                if response.status_code != 200:
                    wrong.append(f"{response.status_code} {response.text[:200]}")
                    continue
                answered.append(response.json()["evaluation_id"])

    with running_server(workers=2, env={"GUIDANCE_AUDIT_FILE": str(audit)}) as base_url:
        deadline = time.monotonic() + 20
        while len(records_so_far(audit, "chain_start")) < 2 and time.monotonic() < deadline:
            httpx.post(f"{base_url}/v1/evaluate", json={"facts": {}})  # each worker opens its chain
            time.sleep(0.05)
        first, second = records_so_far(audit, "chain_start")[:2]
        clients = [threading.Thread(target=keep_asking, daemon=True) for _ in range(4)]
        for client in clients:
            client.start()
        try:
            time.sleep(0.5)
            before = len(answered)
            os.kill(first["process"]["pid"], signal.SIGKILL)
            deadline = time.monotonic() + 30
            while len(records_so_far(audit, "chain_start")) < 3 and time.monotonic() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)  # answers from the new worker too
        finally:  # however the test ends, its clients stop
            stop.set()
            for client in clients:
                client.join(timeout=15)
        ready = httpx.get(f"{base_url}/ready")

    assert wrong == []
    assert before > 0 and len(answered) > before  # answering went on after the kill
    assert len(failed) <= 4  # at most the requests in flight on the killed worker
    starts = records_so_far(audit, "chain_start")
    assert len(starts) == 3
    assert starts[2]["process"]["pid"] not in (first["process"]["pid"], second["process"]["pid"])
    assert ready.status_code == 200
    recorded = {r["evaluation_id"] for r in audit_records(audit, "evaluation")}  # every line whole
    assert set(answered) <= recorded  # no answer without its record
    verify = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "audit", "verify", str(audit)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0, verify.stdout + verify.stderr
