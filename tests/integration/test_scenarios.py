"""Every scenario stored beside every pack, evaluated through the HTTP API, once per `make test`:
each must pass, and each pack's rules must all be shown firing and proven silent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.checking.scenarios import ShownPrompt, judge
from service.packs.loader import load_packs
from service.packs.model import Pack
from service.settings import Settings
from tests.conftest import FIXTURE_PACKS, KNOWLEDGE, SEMANTICS_PACK

FOLDERS = (KNOWLEDGE, FIXTURE_PACKS, SEMANTICS_PACK)
PACKS = load_packs(FOLDERS)


@pytest.fixture(scope="module")
def all_packs_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    audit = tmp_path_factory.mktemp("audit") / "audit.log"
    with TestClient(create_app(Settings(knowledge_dirs=FOLDERS, audit_file=audit))) as client:
        yield client


def test_every_pack_has_scenarios() -> None:
    assert {pack.id for pack in PACKS} >= {"harry-2019", "example-baby-sam-2024", "semantics-test"}
    assert all(pack.scenarios for pack in PACKS)


@pytest.mark.parametrize("pack", PACKS, ids=[pack.id for pack in PACKS])
def test_every_scenario_passes_and_covers_every_rule(all_packs_client: TestClient, pack: Pack) -> None:
    prefix = f"{pack.id}/"
    failures, fired, silent = [], set(), set()
    for scenario in pack.scenarios:
        response = all_packs_client.post("/v1/evaluate", json={"facts": scenario.facts})
        assert response.status_code == 200, response.text
        shown = {
            prompt["id"][len(prefix) :]: ShownPrompt(
                [(fact["path"], fact["value"]) for fact in prompt["because"]],
                f"{prompt['reason']}\n{prompt['detail']}",
            )
            for prompt in response.json()["prompts"]
            if prompt["id"].startswith(prefix)
        }
        outcome = judge(scenario, shown)
        if not outcome.passed:
            failures.append((scenario.name, outcome.missing, outcome.unexpected, outcome.wrong_because))
        fired.update(r for r in scenario.shows if r in shown)
        silent.update(r for r in scenario.does_not_show if r not in shown)
    assert failures == []
    rules = {rule.local_id for rule in pack.rules}
    assert rules - fired == set(), "rules no scenario shows firing"
    assert rules - silent == set(), "rules no scenario proves silent"
