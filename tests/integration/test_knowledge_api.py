"""GET /v1/packs, /v1/rules, /health and /ready; several packs loaded at once, as data only."""

from __future__ import annotations

from litestar.testing import TestClient

from service.app import create_app
from service.packs.loader import load_packs
from service.settings import Settings
from tests.conftest import FIXTURE_PACKS, HARRY, KNOWLEDGE, SEMANTICS_PACK, prompt_ids

SECOND = "example-baby-sam-2024"


def two_pack_client(tmp_path) -> TestClient:
    settings = Settings(knowledge_dirs=(KNOWLEDGE, FIXTURE_PACKS), audit_file=tmp_path / "audit.log")
    return TestClient(create_app(settings))


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/health").json() == {"status": "ok"}
    ready = client.get("/ready").json()
    assert ready["status"] == "ready"
    assert [k["pack"] for k in ready["knowledge"]] == [HARRY]


def test_rules_are_listed_as_loaded_with_their_conditions_in_words(tmp_path) -> None:
    settings = Settings(knowledge_dirs=(SEMANTICS_PACK,), audit_file=tmp_path / "audit.log")
    with TestClient(create_app(settings)) as client:
        rules = client.get("/v1/rules").json()
        pack = load_packs([SEMANTICS_PACK])[0]
        assert [r["id"] for r in rules] == [rule.id for rule in pack.rules]
        doubt = client.get("/v1/rules/semantics-test/doubt-named-parent").json()
        assert doubt["learning_point"] == 3
        assert doubt["quote"].startswith("Practitioners should take particular care")
        assert "capacity_doubt is yes" in doubt["condition"]
        assert "capacity_formally_assessed is not yes (no or unknown)" in doubt["condition"]
        young = client.get("/v1/rules/semantics-test/inform-young-child").json()
        assert young["links"] == [
            {"label": "Local procedure", "setting": "local_procedure"},
            {"label": "National guidance", "url": "https://guidance.example/national"},
        ]


def test_a_second_pack_loads_beside_harry_with_no_code_change(tmp_path) -> None:
    with two_pack_client(tmp_path) as client:
        packs = client.get("/v1/packs").json()
        assert [p["id"] for p in packs] == [SECOND, HARRY]
        for pack in packs:
            assert pack["digest"].startswith("sha256:") and pack["version"] and pack["source"]
        answer = client.post(
            "/v1/evaluate",
            json={
                "facts": {
                    "child": {"unborn": True},
                    "parents": [{"care_leaver": True}],
                    "assessment_factors": ["5B"],
                }
            },
        ).json()
        assert [k["pack"] for k in answer["knowledge"]] == [SECOND, HARRY]
        shown = prompt_ids(answer)
        assert f"{SECOND}/record-carer-roles" in shown
        assert f"{SECOND}/check-understanding" in shown
        assert any(prompt.startswith(f"{HARRY}/") for prompt in shown)
        assert client.get(f"/v1/rules/{SECOND}/check-understanding").json()["pack"] == SECOND


def test_a_deployment_can_load_a_subset_of_packs(tmp_path) -> None:
    settings = Settings(
        knowledge_dirs=(KNOWLEDGE, FIXTURE_PACKS), packs=(SECOND,), audit_file=tmp_path / "audit.log"
    )
    with TestClient(create_app(settings)) as client:
        assert [p["id"] for p in client.get("/v1/packs").json()] == [SECOND]
        assert all(r["pack"] == SECOND for r in client.get("/v1/rules").json())


def test_settings_read_the_pack_subset_and_links_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "GUIDANCE_PACKS": "harry-2019, example-baby-sam-2024",
            "GUIDANCE_LINK_ESCALATION_PROCEDURE": "https://partnership.example/escalation",
            "GUIDANCE_AUDIT_KEY": "a-key-of-sixteen-chars",
        }
    )
    assert settings.packs == ("harry-2019", "example-baby-sam-2024")
    assert settings.link_settings == {"escalation_procedure": "https://partnership.example/escalation"}
    assert settings.audit_key == b"a-key-of-sixteen-chars"
