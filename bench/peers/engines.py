"""The engines compared, each loaded with the same packs and asked the same cases.

Every engine answers one question per case: the ids of the rules that match. Each takes the
case in the form it is fastest with, made before the clock starts (``prepare``): ours the
decoded request structs, the peers the JSON text the API receives (zen-engine and both Rego
engines parse it in native code, faster than taking a Python dict). The ``ours, from JSON``
row adds our strict decoding, for a like-for-like reading against the peers.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec

from bench.inprocess import floor_function
from bench.peers import jdm, rego
from service.evaluation.evaluator import Evaluator

if TYPE_CHECKING:
    from zen import DecisionEvaluateOptions
from service.facts.vocabulary import Facts
from service.guidance.decoding import StrictDecoder
from service.packs.model import Pack

Case = dict[str, Any]  # the facts as the API takes them


@dataclass(frozen=True)
class Engine:
    name: str
    returns: str
    prepare: Callable[[Case], Any]  # the case in the form the engine takes, made before timing
    fired: Callable[[Any], set[str]]  # the ids of the rules that match
    ours: bool = False


@dataclass(frozen=True)
class Peer:
    """A peer engine from the bench extra: its module, its distribution, how to load it."""

    module: str  # what is imported
    distribution: str  # what the bench extra installs
    load: Callable[[Sequence[Pack]], list[Engine]]

    @property
    def installed(self) -> bool:
        return importlib.util.find_spec(self.module) is not None


def _json_text(case: Case) -> str:
    return json.dumps(case)


def ours(packs: Sequence[Pack]) -> list[Engine]:
    evaluator = Evaluator(packs)
    matcher, counts, ids = evaluator.matcher, evaluator.engine_counts, [r.id for r in evaluator.rules]
    floor = floor_function(packs)
    decode = StrictDecoder(Facts).decode

    def as_facts(case: Case) -> Facts:
        return msgspec.convert(case, Facts)

    def engine(facts: Facts) -> set[str]:
        return {ids[i] for i in matcher.match(facts, counts(facts))}

    return [
        Engine("ours: counts + durable_rules match", "rule ids", as_facts, engine, ours=True),
        Engine(
            "ours, from JSON: strict decode + counts + match",
            "rule ids",
            lambda case: msgspec.json.encode(case),
            lambda raw: engine(decode(raw)),
            ours=True,
        ),
        Engine(
            "ours: whole evaluation",
            "prompts with explanations",
            as_facts,
            lambda facts: {prompt.id for prompt in evaluator.evaluate(facts)},
            ours=True,
        ),
        Engine(
            "plain-Python floor (generated, no engine)",
            "rule ids",
            as_facts,
            lambda facts: {ids[i] for i in floor(facts)},
            ours=True,
        ),
    ]


def _zen(packs: Sequence[Pack]) -> list[Engine]:
    import zen

    # The static loader: the engine keeps each decision compiled. (ZenDecision.evaluate, from
    # create_decision, was about ten times slower per case here.)
    keys = [jdm_name(pack) for pack in packs]
    content = {key: jdm.decision(pack) for key, pack in zip(keys, packs, strict=True)}
    evaluate = zen.ZenEngine({"loader": {"type": "static", "content": content}}).evaluate
    traced: DecisionEvaluateOptions = {"trace": True}

    def fired(text: str, options: DecisionEvaluateOptions | None = None) -> set[str]:
        return {row["rule"] for key in keys for row in evaluate(key, text, options)["result"]}

    return [
        Engine("zen-engine: JDM decision table", "rule ids", _json_text, fired),
        Engine("zen-engine, trace on", "rule ids + trace", _json_text, lambda text: fired(text, traced)),
    ]


def _regorus(packs: Sequence[Pack]) -> list[Engine]:
    import regorus

    modules = [(f"{jdm_name(pack)}.rego", rego.module(pack)) for pack in packs]
    queries = [f"data.{rego.package_of(pack)}.{rego.QUERY_RULE}" for pack in packs]
    interpreter = regorus.Engine()
    for name, text in modules:
        interpreter.add_policy(name, text)

    def interpreted(text: str) -> set[str]:
        interpreter.set_input_json(text)
        return {rule for query in queries for rule in interpreter.eval_rule(query)}

    program = regorus.Program.compile_from_modules("{}", modules, queries)
    vm = regorus.Rvm()
    vm.load_program(program)

    def virtual_machine(text: str) -> set[str]:
        vm.set_input_json(text)
        return {rule for query in queries for rule in json.loads(vm.execute_entry_point(query))}

    return [
        Engine("regorus (Rust Rego interpreter)", "rule ids", _json_text, interpreted),
        Engine("regorus RVM (compiled Rego)", "rule ids", _json_text, virtual_machine),
    ]


def _regopy(packs: Sequence[Pack]) -> list[Engine]:
    import regopy

    builder = regopy.Interpreter()
    for pack in packs:
        builder.add_module(f"{jdm_name(pack)}.rego", rego.module(pack))
    query = " ; ".join(
        f"x{n} = data.{rego.package_of(pack)}.{rego.QUERY_RULE}" for n, pack in enumerate(packs)
    )
    names = [f"x{n}" for n in range(len(packs))]
    # Compiled once into a bundle; each case is a query of the bundle.
    entry_points = [f"{rego.package_of(p).replace('.', '/')}/{rego.QUERY_RULE}" for p in packs]
    bundle = builder.build(query, entry_points)
    interpreter = regopy.Interpreter()

    def fired(text: str) -> set[str]:
        interpreter.set_input_term(text)
        result = json.loads(str(interpreter.query_bundle(bundle)))
        return {rule for name in names for rule in result["bindings"][name]}

    return [Engine("rego-cpp (regopy, Microsoft's C++ Rego)", "rule ids", _json_text, fired)]


def jdm_name(pack: Pack) -> str:
    return rego.package_of(pack).replace(".", "_")


PEERS = (
    Peer("zen", "zen-engine", _zen),
    Peer("regorus", "gordon-to-regorus", _regorus),
    Peer("regopy", "regopy", _regopy),
)

# Not run here, and why: OPA's own engine has no in-process binding that installs on this
# machine's Pythons.
NOT_RUN = {
    "OPA (Go) in-process": (
        "opa-golib-python-bindings needs Python >= 3.14; the WebAssembly route (opa-py-wasm) "
        "needs a policy compiled by the `opa` command, which no reachable registry provides"
    ),
}
