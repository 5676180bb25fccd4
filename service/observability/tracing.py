"""OpenTelemetry traces: imported only when the ``OTEL_*`` variables switch them on (see
``Settings.tracing``), so a service without them never loads the SDK.

The exporter is OTLP over HTTP, configured by the SDK from the standard variables
(``OTEL_EXPORTER_OTLP_ENDPOINT``, ``…_HEADERS``, ``OTEL_TRACES_SAMPLER``, ``OTEL_BSP_*``,
``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``). Each worker process has its own provider
and batch exporter, flushed when the app shuts down.
"""

from __future__ import annotations

from collections.abc import Sequence

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from service import __version__
from service.packs.model import Pack

SERVICE_NAME = "safeguarding-guidance"
EVALUATION_ID = "guidance.evaluation_id"
PACKS = "guidance.packs"  # "id version", one per pack consulted
PACK_DIGESTS = "guidance.pack_digests"


def tracer_provider_from_env() -> TracerProvider:
    """A provider exporting in batches over OTLP/HTTP, as the ``OTEL_*`` variables say."""
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # The operator's service.name (OTEL_SERVICE_NAME, or in OTEL_RESOURCE_ATTRIBUTES) wins;
    # ours only replaces the SDK's "unknown_service" default.
    resource = Resource.create({"service.version": __version__})
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": SERVICE_NAME}))
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


class Tracing:
    """The app's tracer provider, and what an evaluation adds to its request's span."""

    def __init__(self, provider: TracerProvider, packs: Sequence[Pack]) -> None:
        self.provider = provider
        self._packs = {pack.id: pack for pack in packs}
        self._all = tuple(self._packs)

    def trace_id(self) -> str | None:
        """The current trace's id (32 hex digits) when this request's span is sampled, for the
        audit record: a record then leads to a trace that exists."""
        context = trace.get_current_span().get_span_context()
        if not context.is_valid or not context.trace_flags.sampled:
            return None
        return format(context.trace_id, "032x")

    def evaluated(self, evaluation_id: str, pack: str | None = None) -> None:
        """Name the evaluation and the knowledge it used on the request's span."""
        span = trace.get_current_span()
        if not span.is_recording():
            return
        packs = [self._packs[pack]] if pack is not None else [self._packs[p] for p in self._all]
        span.set_attribute(EVALUATION_ID, evaluation_id)
        span.set_attribute(PACKS, [f"{p.id} {p.version}" for p in packs])
        span.set_attribute(PACK_DIGESTS, [p.digest for p in packs])

    def shutdown(self) -> None:
        self.provider.shutdown()
