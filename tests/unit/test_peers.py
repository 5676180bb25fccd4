"""The peers suite (bench/peers) in seconds: the peer engines, run on rules generated from the
packs, agree with ours on every one of a few hundred cases; no timing.

It runs where the bench extra is installed (``make venv`` installs it). Where none of the extra
is installed the test says so and skips; where the extra is installed but a peer engine is
missing, it fails: a peer must never drop out of the comparison unnoticed.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from bench.inprocess import shipped_packs
from bench.peers import engines, suite
from service.packs.loader import load_packs
from tests.conftest import REPO

DISTRIBUTION = "safeguarding-guidance"
SEMANTICS_PACK = REPO / "tests" / "fixtures" / "semantics-pack"


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def bench_extra() -> list[str]:
    """The distributions the bench extra lists for this Python and platform."""
    listed = []
    for text in importlib.metadata.requires(DISTRIBUTION) or []:
        requirement = Requirement(text)
        marker = requirement.marker
        if marker is not None and marker.evaluate({"extra": "bench"}) and not marker.evaluate({"extra": ""}):
            listed.append(requirement.name)
    return listed


def test_every_peer_is_in_the_bench_extra() -> None:
    listed = {name.lower() for name in bench_extra()}
    assert {peer.distribution for peer in engines.PEERS} <= listed


def test_the_peers_agree_with_ours_on_every_case() -> None:
    extra = bench_extra()
    present = [name for name in extra if _installed(name)]
    if not present:
        pytest.skip("the bench extra is not installed here (make venv installs it): no peer to run")
    missing = [name for name in extra if not _installed(name)]
    assert missing == [], f"the bench extra is installed but not all of it: missing {missing}"
    for packs in (shipped_packs(), load_packs([Path(SEMANTICS_PACK)])):
        result = suite.run(packs, count=150, rounds=0)
        assert result["missing"] == []
        names = [row["engine"] for row in result["rows"]]
        assert len(names) > len(engines.ours(packs)), "no peer engine ran"
        for row in result["rows"]:
            assert row["agreed"] == row["cases"] == 150, row


def test_a_disagreement_stops_the_run_and_names_the_case() -> None:
    packs = shipped_packs()
    ours = engines.ours(packs)
    reference = ours[0]
    wrong = engines.Engine("drops every rule", "rule ids", reference.prepare, lambda facts: set(), ours=False)
    facts = suite.cases(200)
    with pytest.raises(suite.Disagreement, match="drops every rule disagrees") as raised:
        suite.check_agreement([reference, wrong], facts)
    assert "only ours: ['harry-2019/" in str(raised.value)
