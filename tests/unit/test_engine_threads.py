"""The engine's extension is not thread-safe and never releases the GIL: the adapter's lock is
what lets threads share one evaluator. Threads evaluating at once get the answers one thread
gets alone, and the evaluator goes on answering afterwards."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import msgspec

from service.evaluation.evaluator import Evaluator
from service.facts.vocabulary import Facts
from service.packs.loader import load_packs
from service.testing.synthetic import random_facts
from tests.conftest import SEMANTICS_PACK

THREADS = 8
ROUNDS = 3


def test_threads_sharing_one_evaluator_get_the_answers_of_one_thread_alone() -> None:
    evaluator = Evaluator(load_packs([SEMANTICS_PACK]))
    rng = random.Random(1024)
    cases = [msgspec.convert(random_facts(rng), type=Facts) for _ in range(300)]
    alone = [[p.id for p in evaluator.evaluate(case)] for case in cases]
    assert sum(1 for ids in alone if ids) > len(cases) // 4  # enough cases that show prompts
    start = threading.Barrier(THREADS)

    def evaluate_all(offset: int) -> list[tuple[int, list[str]]]:
        start.wait()  # all threads begin together, so their calls overlap
        order = [(offset + n) % len(cases) for n in range(len(cases) * ROUNDS)]
        return [(i, [p.id for p in evaluator.evaluate(cases[i])]) for i in order]

    with ThreadPoolExecutor(THREADS) as pool:
        answered = [pair for result in pool.map(evaluate_all, range(0, THREADS * 37, 37)) for pair in result]

    assert len(answered) == THREADS * ROUNDS * len(cases)
    assert [i for i, ids in answered if ids != alone[i]] == []
    assert [[p.id for p in evaluator.evaluate(case)] for case in cases] == alone
