"""Every scenario stored beside every pack, evaluated through the HTTP API."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from service.packs.loader import load_packs
from tests.conftest import FIXTURE_PACKS, KNOWLEDGE, prompt_ids

PACKS = load_packs([KNOWLEDGE, FIXTURE_PACKS])
CASES = [
    pytest.param(pack.id, scenario, id=f"{pack.id}:{scenario.name}")
    for pack in PACKS
    for scenario in pack.scenarios
]


@pytest.fixture(scope="module")
def all_packs_client(tmp_path_factory: pytest.TempPathFactory):
    from service.app import create_app
    from service.settings import Settings

    audit = tmp_path_factory.mktemp("audit") / "audit.log"
    app = create_app(Settings(knowledge_dirs=(KNOWLEDGE, FIXTURE_PACKS), audit_file=audit))
    with TestClient(app) as client:
        yield client


def test_every_pack_has_scenarios() -> None:
    assert PACKS and all(pack.scenarios for pack in PACKS)


@pytest.mark.parametrize(("pack_id", "scenario"), CASES)
def test_scenario(all_packs_client: TestClient, pack_id: str, scenario) -> None:
    response = all_packs_client.post("/v1/evaluate", json={"facts": scenario.facts})
    assert response.status_code == 200, response.text
    shown = prompt_ids(response.json())
    for rule_id in scenario.shows:
        assert f"{pack_id}/{rule_id}" in shown, f"{scenario.description}: expected {rule_id}"
    for rule_id in scenario.does_not_show:
        assert f"{pack_id}/{rule_id}" not in shown, f"{scenario.description}: did not expect {rule_id}"
