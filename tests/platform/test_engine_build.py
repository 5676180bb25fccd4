"""The durable-rules engine this interpreter imports is the repository's patched build.

durable-rules 2.0.28 is built from its source distribution with
``patches/durable-rules-2.0.28-py313.patch`` (``tools/durable_rules_wheel.py``, run by ``make``),
because the release calls ``PyEval_CallObject``, which Python 3.13 removed. An unpatched wheel
still imports on 3.11 and 3.12, so these tests, not an import error, are what catch one. They
run on every Python ``make test`` uses.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import tomllib
from importlib.metadata import distribution
from pathlib import Path
from types import ModuleType

import durable_rules_engine
import pytest
from packaging.specifiers import SpecifierSet
from packaging.version import Version

from tests.conftest import REPO

PATCH = REPO / "patches" / "durable-rules-2.0.28-py313.patch"
MARKER = "2.0.28+guidance.1 patches/durable-rules-2.0.28-py313.patch"


def _tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "durable_rules_wheel", REPO / "tools" / "durable_rules_wheel.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_imported_engine_carries_the_patch_build_marker() -> None:
    assert getattr(durable_rules_engine, "build_marker", None) == MARKER, (
        f"{durable_rules_engine.__file__} is not the patched build; run `make clean` and `make`"
    )


def test_the_marker_is_the_one_the_repository_patch_adds() -> None:
    added = [
        line for line in PATCH.read_text().splitlines() if line.startswith("+") and "build_marker" in line
    ]
    assert added == [f'+        PyModule_AddStringConstant(m, "build_marker", "{MARKER}");']


def test_the_module_file_belongs_to_the_patched_distribution_pinned_as_2_0_28() -> None:
    dist = distribution("durable-rules")
    assert dist.version == _tool().PATCHED_VERSION
    (pin,) = [
        dep
        for dep in tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
        if dep.startswith("durable-rules")
    ]
    assert pin == "durable-rules==2.0.28"
    assert Version(dist.version) in SpecifierSet(pin.removeprefix("durable-rules"))
    installed = {Path(dist.locate_file(file)).resolve() for file in dist.files or ()}
    assert Path(durable_rules_engine.__file__).resolve() in installed


def test_the_extension_no_longer_references_the_call_python_3_13_removed() -> None:
    # Unpatched, the binary names PyEval_CallObjectWithKeywords (what the macro expands to
    # before 3.13) and fails to load on 3.13 for want of it.
    assert b"PyEval_CallObject" not in Path(durable_rules_engine.__file__).read_bytes()


def test_the_replaced_calls_still_reach_python_callbacks() -> None:
    """``start_action`` calls the idle-state and queued-messages callbacks, two of the five
    places where the patch put ``PyObject_CallObject``; a callback returns 0 for success."""
    name = f"build-probe-{sys.version_info.major}{sys.version_info.minor}"
    handle = durable_rules_engine.create_ruleset(name, json.dumps({"r": {"all": [{"m": {"kind": "probe"}}]}}))
    calls: list[tuple[str, ...]] = []

    def idle(ruleset: str) -> int:
        calls.append(("idle", ruleset))
        return 0

    def queued(ruleset: str, sid: str) -> int:
        calls.append(("queued", ruleset, sid))
        return 0

    durable_rules_engine.set_get_idle_state_callback(handle, idle)
    durable_rules_engine.set_get_queued_messages_callback(handle, queued)
    durable_rules_engine.assert_fact(handle, json.dumps({"sid": "s1", "kind": "probe"}))
    _state, message, _ = durable_rules_engine.start_action(handle)
    assert json.loads(message) == {"r": {"m": {"sid": "s1", "kind": "probe"}}}
    assert calls == [("idle", name), ("queued", name, "s1")]


def test_a_source_distribution_with_another_digest_is_deleted_and_nothing_is_built(tmp_path: Path) -> None:
    tool = _tool()
    tampered = tmp_path / "sdist" / tool.SDIST
    tampered.parent.mkdir()
    tampered.write_bytes(b"not the published durable_rules-2.0.28.tar.gz")
    with pytest.raises(SystemExit, match="SHA-256"):
        tool.build(tmp_path)
    assert not tampered.exists()
    assert not list(tmp_path.glob("wheels-*"))
