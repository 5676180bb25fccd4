"""``/schema``: the API documentation page and the OpenAPI document, served by the service
itself. The page is Swagger UI (vendored in ``swagger_ui/``, see its ``SOURCE.md``): it loads
nothing from elsewhere, so it works on a network with no route to a public CDN, and its
Content-Security-Policy lets the browser run nothing but these files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.enums import OpenAPIMediaType
from litestar.openapi.plugins import OpenAPIRenderPlugin
from litestar.params import FromPath
from litestar.router import Router

from service.http.problems import problem

SWAGGER_UI_VERSION = "5.35.0"
ASSETS = f"/assets/swagger-ui-{SWAGGER_UI_VERSION}"
_FOLDER = Path(__file__).parent / "swagger_ui"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "init.js": "text/javascript",
    "LICENSE": "text/plain",
    "NOTICE": "text/plain",
    "swagger-ui-bundle.js.LICENSE.txt": "text/plain",
}
# The page's own code is a file too, so the policy needs no 'unsafe-inline' for scripts.
_INIT = b"""window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: "/schema/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
});
"""
_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Safeguarding guidance service: API</title>
<link rel="stylesheet" href="/schema{ASSETS}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/schema{ASSETS}/swagger-ui-bundle.js"></script>
<script src="/schema{ASSETS}/init.js"></script>
</body>
</html>
""".encode()


def _read_assets() -> dict[str, bytes]:
    files = {name: (_FOLDER / name).read_bytes() for name in _MEDIA_TYPES if name != "init.js"}
    files["init.js"] = _INIT
    return files


class DocsPagePlugin(OpenAPIRenderPlugin):
    """The documentation page at ``/schema``, with its assets under ``/schema/assets/…``."""

    def __init__(self) -> None:
        super().__init__(path=["/", "/swagger"])
        self._assets = _read_assets()

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return _PAGE

    def receive_router(self, router: Router) -> None:
        assets = self._assets

        @get(f"{ASSETS}/{{name:str}}", include_in_schema=False, sync_to_thread=False)
        def asset(name: FromPath[str]) -> Response[bytes]:
            if name not in assets:
                raise problem(404, "not-found", "Not Found", "No such resource.")
            # The path names the version, so what it holds never changes.
            return Response(
                assets[name],
                media_type=_MEDIA_TYPES[name],
                headers={"Cache-Control": "public, max-age=31536000, immutable"},
            )

        router.register(asset)


class OpenAPIDocumentPlugin(OpenAPIRenderPlugin):
    """``/schema/openapi.json``: the document as the service states it (``openapi.build``), the
    one committed in ``openapi/``, rather than Litestar's raw generation."""

    def __init__(self) -> None:
        super().__init__(path="/openapi.json", media_type=OpenAPIMediaType.OPENAPI_JSON)

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return request.app.state.openapi_document
