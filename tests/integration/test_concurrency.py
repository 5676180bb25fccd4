"""Concurrent clients against a real server: no crash, no mixed-up answers."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import msgspec

from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.packs.loader import load_packs
from service.testing.synthetic import random_facts
from tests.conftest import KNOWLEDGE
from tests.server import running_server

CLIENTS = 8
REQUESTS_PER_CLIENT = 2_000


def test_eight_clients_get_the_same_answers_as_serial_evaluation(tmp_path: Path) -> None:
    rng = random.Random(20190601)
    bodies = [random_facts(rng) for _ in range(200)]
    evaluator = Evaluator(load_packs([KNOWLEDGE]))
    expected = [msgspec.to_builtins(evaluator.evaluate(msgspec.convert(body, type=Facts))) for body in bodies]

    def client_run(client_index: int) -> list[tuple[int, list]]:
        answers = []
        with httpx.Client(timeout=30) as http:
            for n in range(REQUESTS_PER_CLIENT):
                which = (client_index * 7919 + n) % len(bodies)
                response = http.post(f"{base_url}/v1/evaluate", json={"facts": bodies[which]})
                assert response.status_code == 200, response.text
                answers.append((which, response.json()["prompts"]))
        return answers

    with running_server(env={"GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log")}) as base_url:
        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(client_run, range(CLIENTS)))
        assert httpx.get(f"{base_url}/health").status_code == 200

    answered = [pair for result in results for pair in result]
    assert len(answered) == CLIENTS * REQUESTS_PER_CLIENT
    mismatches = [which for which, prompts in answered if prompts != expected[which]]
    assert mismatches == []
