"""Shared fixtures: the real app, with its real engine and knowledge, driven over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from service.app import create_app
from service.settings import DEFAULT_KNOWLEDGE_DIR, Settings

REPO = Path(__file__).resolve().parent.parent
KNOWLEDGE = DEFAULT_KNOWLEDGE_DIR
FIXTURE_PACKS = REPO / "tests" / "fixtures" / "packs"
# The tests' own pack: rules worded once for the tests, never reworded by a knowledge maintainer.
SEMANTICS_PACK = REPO / "tests" / "fixtures" / "semantics-pack"
HARRY = "harry-2019"


@pytest.fixture
def audit_file(tmp_path: Path) -> Path:
    return tmp_path / "audit.log"


@pytest.fixture
def make_app(audit_file: Path) -> Callable[..., Litestar]:
    def make(**overrides: object) -> Litestar:
        settings = Settings(audit_file=audit_file, audit_key=b"test-audit-key-0123", **overrides)  # type: ignore[arg-type]
        return create_app(settings)

    return make


@pytest.fixture
def client(make_app: Callable[..., Litestar]) -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def prompt_ids(response_json: dict) -> list[str]:
    return [prompt["id"] for prompt in response_json["prompts"]]
