"""The durable_rules adapter: which rules match a case, asked of the Rete engine.

It talks to the extension module ``durable_rules_engine`` directly. The Python ``Host`` in
``durable.lang`` starts timer threads that race the caller and costs five times as much; the
extension module needs none of it. The extension is not thread-safe and never releases the
GIL, so every call goes through one lock: threads gain nothing from it and crash without it.

How conditions and facts are put to the engine, and why the rules may be spread over several
rulesets, is decided in :mod:`service.engine.compiler`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

import durable_rules_engine as engine
import msgspec

from service.engine.alternatives import count_key
from service.engine.compiler import Compiled, compile_packs
from service.engine.fact_encoding import fact_encoder
from service.facts.vocabulary import Facts
from service.packs.model import Pack, Rule

__all__ = ["DurableMatcher", "count_key"]

_NOT_HANDLED = 1
# The one fact a session holds at a time. Naming it lets it be retracted by id alone, so the
# engine does not parse the whole fact a second time.
_FACT_ID = "case"
_ruleset_numbers = itertools.count(1)


class DurableMatcher:
    """The packs' rules compiled into durable rulesets ("shards"), each with one session that
    every evaluation uses in turn: the case fact is asserted, the matches read, and the fact
    retracted again.

    Sessions are not created and deleted per evaluation: ``delete_state`` frees pointers the
    engine never initialised when a session fired no action (a crash seen here), and a
    ruleset holds at most 1,024 sessions.
    """

    def __init__(self, packs: Sequence[Pack], shard_size: int = 1024) -> None:
        self.rules: tuple[Rule, ...] = tuple(rule for pack in packs for rule in pack.rules)
        self.compiled: Compiled = compile_packs(packs, shard_size)
        # The packs' counts the engine needs, as keys of the engine fact, in the order
        # :meth:`match` takes their values.
        self.count_keys: tuple[str, ...] = self.compiled.counts
        self.definitions: list[dict[str, Any]] = [shard.definition() for shard in self.compiled.shards]
        self._encode = fact_encoder(self.compiled)
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._new_session()
        self._handles = [
            engine.create_ruleset(f"guidance-{next(_ruleset_numbers)}", msgspec.json.encode(d).decode())
            for d in self.definitions
        ]

    def _new_session(self) -> None:
        sid = f"case-{next(self._sessions)}"
        self._tail = f'"sid":"{sid}","id":"{_FACT_ID}"'
        self._retraction = "{" + self._tail + "}"

    def match(self, facts: Facts, counts: Sequence[int]) -> list[int]:
        """Indexes into ``rules`` of every rule the case matches, each once, in no set order.

        ``counts`` are the values of the packs' counts named by ``count_keys``, in that order.
        """
        with self._lock:
            fired: list[int] = []
            try:
                payloads = self._encode(facts, counts, self._tail)
                for handle, payload in zip(self._handles, payloads, strict=True):
                    result = engine.assert_fact(handle, payload)
                    if result[0] == _NOT_HANDLED:
                        continue  # no rule of this ruleset matched; the engine stored nothing
                    state = result[1]
                    started = engine.start_action_for_state(handle, state)
                    message = started[1] if started else None
                    while message:  # '{"r<rule>_<alternative>":…'
                        fired.append(int(message[3 : message.index("_", 3)]))
                        message = engine.complete_and_start_action(handle, state)
                    engine.retract_fact(handle, self._retraction)
            except BaseException:
                # Whatever the engine kept for this session is suspect now: start a fresh one.
                self._new_session()
                raise
            return list(dict.fromkeys(fired))
