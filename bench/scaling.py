"""Throughput by number of worker processes, for the sizing rule (docs/operating.md, "Sizing").

1 worker, 2, ... up to one more than the machine has cores (at least 2): every configuration is
alive for the whole comparison and driven in rotating order, unpinned, by the same closed-loop
load generator, which shares the cores with them (so the last steps understate what more
workers give when the load comes from elsewhere).
"""

from __future__ import annotations

import contextlib
import os
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import server


def scaling_figures(rounds: int, folder: Path, measure: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """``measure(port)`` runs one closed-loop round against a server and returns its figures."""
    counts = list(range(1, max(2, os.cpu_count() or 1) + 2))
    results: dict[int, list[float]] = {n: [] for n in counts}
    errors = 0
    with contextlib.ExitStack() as stack:
        ports = {
            n: stack.enter_context(server("service", workers=n, audit_file=folder / f"audit-{n}w.log"))
            for n in counts
        }
        for round_number in range(rounds):
            shift = round_number % len(counts)
            for workers in counts[shift:] + counts[:shift]:
                result = measure(ports[workers])
                results[workers].append(result["rps"])
                errors += result["errors"] + result.get("shed", 0)
    return {"rps": {n: statistics.median(r) for n, r in results.items()}, "rounds": results, "errors": errors}
