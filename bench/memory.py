"""Resident memory over many evaluations, in a process of its own.

``python -m bench.memory N`` evaluates the body mix N times through the whole evaluation
(engine, counts, prompts) after a warm-up, and prints resident memory before and after.
"""

from __future__ import annotations

import gc
import json
import os
import sys

from bench.inprocess import as_facts, request_bodies, shipped_packs
from service.evaluation.evaluator import Evaluator

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * _PAGE


def main() -> int:
    evaluations = int(sys.argv[1])
    facts = as_facts(request_bodies(1_000))
    evaluator = Evaluator(shipped_packs())
    evaluate = evaluator.evaluate
    for _ in range(max(20, evaluations // 50_000)):  # warm-up: caches and pools fill
        for item in facts:
            evaluate(item)
    gc.collect()
    before = rss_bytes()
    count = len(facts)
    for n in range(evaluations):
        evaluate(facts[n % count])
    gc.collect()
    after = rss_bytes()
    print(json.dumps({"evaluations": evaluations, "rss_before": before, "rss_after": after}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
