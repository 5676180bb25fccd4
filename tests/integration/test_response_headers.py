"""Headers every answer carries: an id for the exchange, and nothing a cache or browser keeps."""

from __future__ import annotations

import re

import pytest
from litestar.testing import TestClient

REQUEST_ID = re.compile(r"^[0-9a-f]{32}$")


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/v1/evaluate", b'{"facts": {}}', 200),
        ("POST", "/v1/evaluate", b'{"facts": {"child": {"unborn": 1}}}', 400),
        ("POST", "/v1/evaluate", b'{"facts": {}, "case_ref": "' + b"x" * 70_000 + b'"}', 413),
        ("GET", "/v1/evaluate", None, 405),
        ("GET", "/v1/packs", None, 200),
        ("GET", "/v1/rules/harry-2019/no-such-rule", None, 404),
        ("GET", "/no/such/path", None, 404),
        ("GET", "/health", None, 200),
        ("GET", "/ready", None, 200),
    ],
)
def test_every_answer_names_its_exchange_and_may_not_be_stored(
    client: TestClient, method: str, path: str, body: bytes | None, status: int
) -> None:
    response = client.request(method, path, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert REQUEST_ID.match(response.headers["x-request-id"])
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_a_callers_request_id_is_not_taken(client: TestClient) -> None:
    response = client.post("/v1/evaluate", json={"facts": {}}, headers={"X-Request-ID": "mine"})
    assert response.headers.get_list("x-request-id") != ["mine"]
    assert len(response.headers.get_list("x-request-id")) == 1


def test_each_exchange_has_its_own_id(client: TestClient) -> None:
    ids = {client.post("/v1/evaluate", json={"facts": {}}).headers["x-request-id"] for _ in range(20)}
    assert len(ids) == 20


def test_an_internal_error_carries_the_headers_too(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(client.app.state.guidance.evaluator, "evaluate", broken)
    response = client.post("/v1/evaluate", json={"facts": {}})
    assert response.status_code == 500
    assert REQUEST_ID.match(response.headers["x-request-id"])
    assert response.headers["cache-control"] == "no-store"
