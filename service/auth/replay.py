"""The ``jti`` values this process has accepted, each kept until its token could no longer be
accepted anyway (its ``exp`` plus the clock skew allowed), so a CDS Hooks token is used once.

Per process: with several workers (or replicas) a replay sent to another process is not caught.
The one-hour bound on a token's lifetime bounds how long such a replay can work.
"""

from __future__ import annotations

import heapq
import threading
import time

MAX_REMEMBERED = 1_000_000  # beyond this many live jti values, refuse rather than forget


class ReplayCache:
    def __init__(self, max_remembered: int = MAX_REMEMBERED) -> None:
        self._until: dict[tuple[str, str], float] = {}
        self._expiries: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()
        self._max = max_remembered

    def first_use(self, issuer: str, jti: str, until: float) -> bool:
        """Record ``jti`` of ``issuer`` until ``until`` (epoch seconds); False when it was seen
        before, or when too many are remembered to take another (fail closed)."""
        now = time.time()
        key = (issuer, jti)
        with self._lock:
            while self._expiries and self._expiries[0][0] <= now:
                _, old = heapq.heappop(self._expiries)
                if self._until.get(old, now + 1) <= now:
                    del self._until[old]
            if key in self._until or len(self._until) >= self._max:
                return False
            self._until[key] = until
            heapq.heappush(self._expiries, (until, key))
            return True

    def __len__(self) -> int:
        return len(self._until)
