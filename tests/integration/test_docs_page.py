"""``/schema``: the documentation page works offline, from files the service serves itself."""

from __future__ import annotations

import hashlib
import json
import re

from litestar.testing import TestClient

from service.http.docs_page import SWAGGER_UI_VERSION
from tests.conftest import REPO

VENDORED = REPO / "service" / "http" / "swagger_ui"
ASSETS = f"/schema/assets/swagger-ui-{SWAGGER_UI_VERSION}"


def test_the_page_loads_nothing_from_elsewhere_and_its_policy_allows_nothing_else(client: TestClient) -> None:
    page = client.get("/schema")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert sources and all(s.startswith(f"{ASSETS}/") for s in sources), sources
    assert "<script>" not in page.text  # no inline code: the policy needs no 'unsafe-inline' for scripts
    policy = dict(d.strip().split(" ", 1) for d in page.headers["content-security-policy"].split(";"))
    assert policy["default-src"] == "'none'"
    assert policy["script-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert "http" not in page.headers["content-security-policy"]
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"


def test_the_page_reads_the_document_the_service_serves(client: TestClient) -> None:
    init = client.get(f"{ASSETS}/init.js").text
    assert '"/schema/openapi.json"' in init
    document = client.get("/schema/openapi.json")
    assert document.status_code == 200
    assert document.json() == json.loads((REPO / "openapi" / "openapi.json").read_text())


def test_the_licence_is_served_beside_the_files_and_the_files_are_as_pinned(client: TestClient) -> None:
    for name in ("LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt"):
        assert client.get(f"{ASSETS}/{name}").status_code == 200
    assert "Apache License" in client.get(f"{ASSETS}/LICENSE").text
    pinned = dict(re.findall(r"\| `([^`]+)` \| `([0-9a-f]{64})` \|", (VENDORED / "SOURCE.md").read_text()))
    assert set(pinned) == {p.name for p in VENDORED.iterdir()} - {"SOURCE.md"}
    for name, digest in pinned.items():
        assert hashlib.sha256((VENDORED / name).read_bytes()).hexdigest() == digest, name
        assert client.get(f"{ASSETS}/{name}").content == (VENDORED / name).read_bytes()


def test_no_other_file_is_reachable_under_the_assets(client: TestClient) -> None:
    for name in ("SOURCE.md", "..%2F..%2Fdocs_page.py", "%2e%2e", "swagger-ui.js"):
        assert client.get(f"{ASSETS}/{name}").status_code == 404, name
