"""Concurrent clients against a real server of two worker processes: every answer is the one
serial evaluation gives, and the one audit file they share holds exactly the answered
evaluations, as whole hash chains, one per worker."""

from __future__ import annotations

import random
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec

from service.audit.verify import verify_files
from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.packs.loader import load_packs
from service.testing.synthetic import random_facts
from tests.audit_file import audit_records
from tests.conftest import KNOWLEDGE, REPO
from tests.server import running_server

CLIENTS = 8
REQUESTS_PER_CLIENT = 150


def test_eight_clients_and_two_workers_get_serial_answers_and_one_file_of_whole_chains(
    tmp_path: Path,
) -> None:
    audit = tmp_path / "audit.log"
    rng = random.Random(20190601)
    bodies = [random_facts(rng) for _ in range(200)]
    evaluator = Evaluator(load_packs([KNOWLEDGE]))
    expected = [msgspec.to_builtins(evaluator.evaluate(msgspec.convert(body, type=Facts))) for body in bodies]
    assert sum(1 for prompts in expected if prompts) > len(bodies) // 4

    def client_run(client_index: int) -> list[tuple[int, str, list]]:
        answers = []
        with httpx.Client(base_url=base_url, timeout=60) as http:
            for n in range(REQUESTS_PER_CLIENT):
                which = (client_index * 7919 + n) % len(bodies)
                response = http.post("/v1/evaluate", json={"facts": bodies[which]})
                assert response.status_code == 200, response.text
                answer = response.json()
                answers.append((which, answer["evaluation_id"], answer["prompts"]))
        return answers

    with (
        running_server(workers=2, env={"GUIDANCE_AUDIT_FILE": str(audit)}) as base_url,
        ThreadPoolExecutor(CLIENTS) as pool,
    ):
        answered = [item for result in pool.map(client_run, range(CLIENTS)) for item in result]
        assert httpx.get(f"{base_url}/health").status_code == 200

    assert len(answered) == CLIENTS * REQUESTS_PER_CLIENT
    assert [which for which, _, prompts in answered if prompts != expected[which]] == []

    written = audit_records(audit)
    assert Counter(r["event"] for r in written) == {"evaluation": len(answered), "chain_start": 2}
    starts = [r for r in written if r["event"] == "chain_start"]
    assert len({r["chain"] for r in starts}) == len({r["process"]["pid"] for r in starts}) == 2
    recorded = {r["evaluation_id"]: r for r in written if r["event"] == "evaluation"}
    assert sorted(recorded) == sorted(evaluation_id for _, evaluation_id, _ in answered)
    for _, evaluation_id, prompts in answered:  # each record names the prompts its answer showed
        assert [f["rule"] for f in recorded[evaluation_id]["fired"]] == [p["id"] for p in prompts]
    result = verify_files([audit])
    assert result.intact, result.files[0].broken
    assert sum(head.records for head in result.chains.values()) == len(written)
    cli = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "audit", "verify", str(audit)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert cli.returncode == 0, cli.stdout + cli.stderr
