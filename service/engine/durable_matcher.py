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

from service.packs.conditions import to_durable
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
    """One compiled ruleset for every loaded pack; one short-lived session per evaluation."""

    def __init__(self, packs: Sequence[Pack]) -> None:
        self.rules: tuple[Rule, ...] = tuple(rule for pack in packs for rule in pack.rules)
        definition: dict[str, Any] = {}
        index = 0
        for pack_index, pack in enumerate(packs):
            resolve = {count.name: count_key(pack_index, count.name) for count in pack.counts}
            for rule in pack.rules:
                expression = {"$and": [{CASE_MARKER: 1}, to_durable(rule.condition, resolve)]}
                definition[f"r{index}"] = {"all": [{"m": expression}]}
                index += 1
        self.definition = definition
        self._lock = threading.Lock()
        self._sessions = itertools.count(1)
        self._encode = msgspec.json.Encoder().encode
        name = f"guidance-{next(_ruleset_numbers)}"
        self._handle = (
            engine.create_ruleset(name, msgspec.json.encode(definition).decode()) if definition else None
        )

    def match(self, fact: dict[str, Any]) -> list[int]:
        """Indexes into ``rules`` of every rule the fact matches, each once, in no set order.

        A rule quantifying over a list fires once per matching record; the repeats are dropped.

        ``fact`` is the case's known facts (no nulls: a null would count as present) plus the
        derived counts; it is not modified.
        """
        if self._handle is None:
            return []
        with self._lock:
            sid = str(next(self._sessions))
            payload = self._encode({**fact, CASE_MARKER: 1, "sid": sid}).decode()
            handle = self._handle
            try:
                result = engine.assert_fact(handle, payload)
                if result[0] == _NOT_HANDLED:  # no rule matched: the commonest answer
                    return []
                fired: list[int] = []
                started = engine.start_action_for_state(handle, result[1])
                message = started[1] if started else None
                while message:
                    fired.append(int(message[3 : message.index('"', 3)]))
                    message = engine.complete_and_start_action(handle, result[1])
                return list(dict.fromkeys(fired))
            finally:
                engine.delete_state(handle, sid)
