"""The durable_rules adapter: which rules match a case, asked of the Rete engine.

It talks to the extension module ``durable_rules_engine`` directly. The Python ``Host`` in
``durable.lang`` starts timer threads that race the caller and costs five times as much; the
extension module needs none of it. The extension is not thread-safe and never releases the
GIL, so every call goes through one lock: threads gain nothing from it and crash without it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any

import durable_rules_engine as engine
import msgspec

from service.facts.paths import vocabulary
from service.packs.conditions import engine_record_key, to_durable
from service.packs.model import Pack, Rule

# The engine matches rules against its own session-state object as well as the facts: a rule
# whose condition only tests for absent fields fires on the state. Every rule therefore
# also requires this marker, which only the case fact carries.
CASE_MARKER = "guidance_case"
_NOT_HANDLED = 1
_ruleset_numbers = itertools.count(1)


def count_key(pack_index: int, name: str) -> str:
    """Where a pack's derived count sits in the fact given to the engine."""
    return f"count_{pack_index}_{name}"


class DurableMatcher:
    """One compiled ruleset for every loaded pack, and one session that each evaluation uses in
    turn: the case fact is asserted, the matches read, and the fact retracted again.

    Sessions are not created and deleted per evaluation: ``delete_state`` frees pointers the
    engine never initialised when a session fired no action (a crash seen here), and a
    ruleset holds at most 1,024 sessions.
    """

    def __init__(self, packs: Sequence[Pack]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rule for pack in packs for rule in pack.rules)
        self._record_lists = {name: rl.max_items for name, rl in vocabulary().record_lists.items()}
        self._record_keys = {
            name: [engine_record_key(name, i) for i in range(size)]
            for name, size in self._record_lists.items()
        }
        definition: dict[str, Any] = {}
        index = 0
        for pack_index, pack in enumerate(packs):
            resolve = {count.name: count_key(pack_index, count.name) for count in pack.counts}
            for rule in pack.rules:
                alternatives = to_durable(rule.condition, resolve, self._record_lists)
                for number, tests in enumerate(alternatives):
                    expression = {"$and": [{CASE_MARKER: 1}, *tests]}
                    definition[f"r{index}_{number}"] = {"all": [{"m": expression}]}
                index += 1
        self.definition = definition
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._sid = "case-0"
        self._encode = msgspec.json.Encoder().encode
        name = f"guidance-{next(_ruleset_numbers)}"
        self._handle = (
            engine.create_ruleset(name, msgspec.json.encode(definition).decode()) if definition else None
        )

    def _engine_fact(self, fact: dict[str, Any], sid: str) -> dict[str, Any]:
        engine_fact = {**fact, CASE_MARKER: 1, "sid": sid}
        for name, keys in self._record_keys.items():
            records = engine_fact.pop(name, None)
            if records:
                engine_fact.update(zip(keys, records, strict=False))
        return engine_fact

    def match(self, fact: dict[str, Any]) -> list[int]:
        """Indexes into ``rules`` of every rule the fact matches, each once, in no set order.

        ``fact`` is the case's known facts (no nulls: a null would count as present) plus the
        derived counts; it is not modified.
        """
        if self._handle is None:
            return []
        with self._lock:
            handle = self._handle
            payload = self._encode(self._engine_fact(fact, self._sid)).decode()
            try:
                result = engine.assert_fact(handle, payload)
                fired: list[int] = []
                if result[0] != _NOT_HANDLED:  # not handled (no rule matched) is the commonest answer
                    started = engine.start_action_for_state(handle, result[1])
                    message = started[1] if started else None
                    while message:  # '{"r<rule>_<alternative>":…'
                        fired.append(int(message[3 : message.index("_", 3)]))
                        message = engine.complete_and_start_action(handle, result[1])
                engine.retract_fact(handle, payload)
            except BaseException:
                # Whatever the engine kept for this session is suspect now: start a fresh one.
                self._sid = f"case-{next(self._sessions)}"
                raise
            return list(dict.fromkeys(fired))
