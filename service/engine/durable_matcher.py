"""The durable_rules adapter: which rules match a case, asked of the Rete engine.

It talks to the extension module ``durable_rules_engine`` directly. The Python ``Host`` in
``durable.lang`` starts timer threads that race the caller and costs five times as much; the
extension module needs none of it. The extension is not thread-safe and never releases the
GIL, so every call goes through one lock: threads gain nothing from it and crash without it.

How conditions and facts are put to the engine is decided in :mod:`service.engine.compiler`.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

import durable_rules_engine as engine
import msgspec

from service.engine.compiler import Compiled, compile_packs, count_key, fact_encoder
from service.facts.vocabulary import Facts
from service.packs.model import Pack, Rule

__all__ = ["DurableMatcher", "count_key"]

_NOT_HANDLED = 1
# The one fact a session holds at a time. Naming it lets it be retracted by id alone, so the
# engine does not parse the whole fact a second time.
_FACT_ID = "case"
_ruleset_numbers = itertools.count(1)


class DurableMatcher:
    """One compiled ruleset for every loaded pack, and one session that each evaluation uses in
    turn: the case fact is asserted, the matches read, and the fact retracted again.

    Sessions are not created and deleted per evaluation: ``delete_state`` frees pointers the
    engine never initialised when a session fired no action (a crash seen here), and a
    ruleset holds at most 1,024 sessions.
    """

    def __init__(self, packs: Sequence[Pack]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rule for pack in packs for rule in pack.rules)
        self.compiled: Compiled = compile_packs(packs)
        # The packs' counts the engine needs, as keys of the engine fact, in the order
        # :meth:`match` takes their values.
        self.count_keys: tuple[str, ...] = self.compiled.counts
        self.definition: dict[str, Any] = self.compiled.definition()
        self._encode = fact_encoder(self.compiled)
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._new_session()
        name = f"guidance-{next(_ruleset_numbers)}"
        self._handle = (
            engine.create_ruleset(name, msgspec.json.encode(self.definition).decode())
            if self.definition
            else None
        )

    def _new_session(self) -> None:
        sid = f"case-{next(self._sessions)}"
        self._tail = f'"sid":"{sid}","id":"{_FACT_ID}"'
        self._retraction = "{" + self._tail + "}"

    def engine_fact(self, facts: Facts, counts: Sequence[int]) -> str:
        """The JSON the engine is given for the case (``counts`` in ``count_keys`` order)."""
        return self._encode(facts, counts, self._tail)

    def match(self, facts: Facts, counts: Sequence[int]) -> list[int]:
        """Indexes into ``rules`` of every rule the case matches, each once, in no set order.

        ``counts`` are the values of the packs' counts named by ``count_keys``, in that order.
        """
        if self._handle is None:
            return []
        with self._lock:
            handle = self._handle
            payload = self._encode(facts, counts, self._tail)
            try:
                result = engine.assert_fact(handle, payload)
                if result[0] == _NOT_HANDLED:
                    # No rule matched (the commonest answer): the engine stored nothing.
                    return []
                fired: list[int] = []
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
