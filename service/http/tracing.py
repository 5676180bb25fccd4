"""OpenTelemetry through Litestar's plugin, when ``Settings.tracing`` is on (imported only then).

One server span per request (the receive and send spans are left out). Its name starts as the
method alone, since the plugin's middleware runs before routing, and becomes the method and the
route template once the route is known (``POST /v1/evaluate``): never a path the caller wrote.
The span is given the request as the instrumentation would see it less what the caller wrote
or is: the path as sent (the route template stands for it), the query string, the address and
the user agent, any of which could carry personal data. The app itself gets the request
unchanged.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.opentelemetry import OpenTelemetryConfig, OpenTelemetryInstrumentationMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

_ORIGINAL = "guidance.original_scope"
_HIDDEN_HEADERS = frozenset({b"user-agent", b"cookie", b"authorization"})


class _PrivateOpenTelemetryMiddleware(OpenTelemetryInstrumentationMiddleware):
    def __init__(self, app: ASGIApp, config: OpenTelemetryConfig) -> None:
        self._next = app
        super().__init__(self._restore, config)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        shown: dict[str, Any] = {
            **scope,
            "client": None,
            "path": "",
            "raw_path": b"",
            "query_string": b"",
            "headers": [(name, value) for name, value in scope["headers"] if name not in _HIDDEN_HEADERS],
            _ORIGINAL: scope,
        }
        # The instrumentation takes any mapping as its scope; Litestar's Scope type is a TypedDict.
        await self.open_telemetry_middleware(shown, receive, send)  # type: ignore[arg-type]

    async def _restore(self, shown: Scope, receive: Receive, send: Send) -> None:
        await self._next(cast(dict[str, Any], shown)[_ORIGINAL], receive, send)


def _span_details(scope: Scope) -> tuple[str, dict[str, Any]]:
    return str(scope.get("method") or scope["type"]), {}


async def name_span_after_route(request: Request) -> None:
    """Litestar ``before_request`` hook: the route is known now."""
    template = request.scope.get("path_template")
    if template:
        span = trace.get_current_span()
        span.update_name(f"{request.method} {template}")
        span.set_attribute("http.route", template)


def opentelemetry_middleware(provider: TracerProvider) -> DefineMiddleware:
    """For the app's middleware list: Litestar moves it outside everything else and wraps it in
    its OpenTelemetry plugin (the plugin itself would ignore ``middleware_class``)."""
    return OpenTelemetryConfig(
        tracer_provider=provider,
        scope_span_details_extractor=_span_details,
        exclude_spans=["receive", "send"],
        middleware_class=_PrivateOpenTelemetryMiddleware,
    ).middleware
