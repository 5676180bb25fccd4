"""``GET /metrics`` and the HTTP series, through Litestar's Prometheus plugin.

The plugin's controller serves the exposition (adding up every worker's files in multiprocess
mode). Its middleware is replaced, as its ``middleware_class`` setting allows, by one that keeps
its series, names and labels (``method``, ``path`` grouped by route template, ``status_code``,
``app_name``) at a fraction of its cost: the stock one builds a ``Request``, a URL and four label
look-ups per request, about 45 µs here; this one looks each route's series up once. Requests no
route matched (404, 405) never reach an app's middleware and are not counted.
"""

from __future__ import annotations

import time
from typing import Any

from litestar.exceptions import HTTPException
from litestar.plugins.prometheus import PrometheusConfig, PrometheusController, PrometheusMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

PREFIX = "guidance_http"
APP_NAME = "guidance"
# A request takes a few hundred microseconds; the top buckets catch slow bodies and stalls.
BUCKETS: list[str | float] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0]


class MetricsController(PrometheusController):
    path = "/metrics"
    include_in_schema = False  # Prometheus text, not part of the API; see docs/operating.md


class _RouteSeries:
    __slots__ = ("count", "duration", "errors")

    def __init__(self, count: Any, duration: Any, errors: Any) -> None:
        self.count, self.duration, self.errors = count, duration, errors


class LeanPrometheusMiddleware(PrometheusMiddleware):
    def __init__(self, app: ASGIApp, config: PrometheusConfig) -> None:
        super().__init__(app, config)
        self._series: dict[tuple[str, str, int], _RouteSeries] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        status = 500

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_noting_status)
        except HTTPException as error:  # an inner middleware's refusal (401, 429), answered further out
            status = error.status_code
            raise
        finally:
            key = (str(scope.get("method", "GET")), scope.get("path_template") or "", status)
            series = self._series.get(key)
            if series is None:
                series = self._series[key] = self._new_series(*key)
            series.count.inc()
            series.duration.observe(time.perf_counter() - started)
            if series.errors is not None:
                series.errors.inc()

    def _new_series(self, method: str, path: str, status: int) -> _RouteSeries:
        labels: dict[str, str | int | float] = {
            "method": method,
            "path": path,
            "status_code": status,
            "app_name": APP_NAME,
        }
        values = list(labels.values())
        errors = self.requests_error_count(labels).labels(*values) if status >= 500 else None
        return _RouteSeries(
            self.request_count(labels).labels(*values), self.request_time(labels).labels(*values), errors
        )


def prometheus_config() -> PrometheusConfig:
    return PrometheusConfig(
        app_name=APP_NAME,
        prefix=PREFIX,
        group_path=True,
        buckets=BUCKETS,
        middleware_class=LeanPrometheusMiddleware,
    )
