"""Traces, with the real app and an in-memory exporter: one span per evaluation carrying its
``evaluation_id`` and the packs' digests, and the same trace id in the audit record; spans
named by route, never by what the caller wrote, and without the caller's address, user agent
or query string. A real server given an OTLP endpoint in the OTEL_* variables sends its spans
there. Without those variables, the SDK is not even loaded."""

from __future__ import annotations

import http.server
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import ClassVar

import httpx
import msgspec
import pytest
from litestar.testing import TestClient
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from service.app import create_app
from service.cds_hooks.cards import HOOK
from service.facts.examples import HARRY_PRE_BIRTH
from service.packs.loader import load_packs
from service.settings import ConfigurationError, Settings
from tests.conftest import KNOWLEDGE, REPO
from tests.server import free_port, running_server

PACKS = load_packs([KNOWLEDGE])


def test_one_span_per_evaluation_with_its_id_and_the_same_trace_id_in_the_audit_record(
    tmp_path: Path,
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    audit = tmp_path / "audit.log"
    app = create_app(Settings(audit_file=audit), tracer_provider=provider)
    with TestClient(app) as client:
        ids = []
        for n in range(3):
            response = client.post(
                "/v1/evaluate?case_ref=Zq7Secret", json={"case_ref": f"CASE-{n}", "facts": HARRY_PRE_BIRTH}
            )
            assert response.status_code == 200
            ids.append(response.json()["evaluation_id"])
        assert client.post("/v1/evaluate", json={"facts": {"Zq7": 1}}).status_code == 400
        assert client.get("/v1/rules/harry-2019/zq7-no-such-rule").status_code == 404
        cds = client.post(
            "/cds-services/harry-2019",
            json={"hook": HOOK, "hookInstance": str(uuid.uuid4()), "context": {"facts": HARRY_PRE_BIRTH}},
        )
        assert cds.status_code == 200
    spans = exporter.get_finished_spans()
    evaluations = [s for s in spans if "guidance.evaluation_id" in s.attributes]
    assert len(evaluations) == 4  # three through /v1/evaluate, one through CDS Hooks; none for the 400
    records = {
        r["evaluation_id"]: r
        for r in map(msgspec.json.decode, audit.read_bytes().splitlines())
        if r["event"] == "evaluation"
    }
    assert set(ids) < set(records)
    for span in evaluations:
        record = records[span.attributes["guidance.evaluation_id"]]
        assert record["trace_id"] == format(span.context.trace_id, "032x")
        assert list(span.attributes["guidance.pack_digests"]) == [p["digest"] for p in record["packs"]]
        assert list(span.attributes["guidance.pack_digests"]) == [p.digest for p in PACKS]
    assert sorted(s.name for s in evaluations) == ["POST /cds-services/{service_id}"] + 3 * [
        "POST /v1/evaluate"
    ]
    assert len(spans) == 6  # one per request: no receive or send spans
    assert {s.name for s in spans} >= {"GET /v1/rules/{pack_id}/{rule_id}"}
    for span in spans:
        shown = msgspec.json.encode(
            {k: list(v) if isinstance(v, tuple) else v for k, v in span.attributes.items()}
        )
        assert b"Zq7" not in shown and b"zq7" not in shown, shown  # the caller's query and path
        assert b"testclient" not in shown and b"CASE-" not in shown, shown  # its address and agent


def test_without_the_otel_variables_the_sdk_is_never_loaded() -> None:
    # Litestar imports OpenTelemetry's API (not its SDK) at every app's start when it is installed.
    code = (
        "import sys, tempfile, pathlib\n"
        "from litestar.testing import TestClient\n"
        "from service.app import create_app\n"
        "from service.settings import Settings\n"
        "app = create_app(Settings(audit_file=pathlib.Path(tempfile.mkdtemp()) / 'audit.log'))\n"
        "with TestClient(app) as client:\n"
        "    assert client.post('/v1/evaluate', json={'facts': {}}).status_code == 200\n"
        "loaded = [m for m in sys.modules if m.startswith(('opentelemetry.sdk', 'opentelemetry.exporter'))]\n"
        "print(sorted(loaded))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("env", "tracing"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "otlp"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"}, False),
    ],
)
def test_the_standard_variables_switch_traces_on_and_off(env: dict[str, str], tracing: bool) -> None:
    assert Settings.from_env(env).tracing is tracing


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"OTEL_TRACES_EXPORTER": "console"}, "OTEL_TRACES_EXPORTER"),  # would write into the audit trail
        ({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
    ],
)
def test_what_is_not_installed_is_refused_before_start(env: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        Settings.from_env(env)
    assert refused.value.setting == setting


class _Collector(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/v1/traces":
            _Collector.received.append(body)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_the_otel_variables_send_spans_over_otlp_from_a_real_server(tmp_path: Path) -> None:
    collector = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    env = {
        "GUIDANCE_AUDIT_FILE": str(tmp_path / "audit.log"),
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
    }
    try:
        with running_server(env=env) as base_url:
            response = httpx.post(f"{base_url}/v1/evaluate", json={"facts": HARRY_PRE_BIRTH}, timeout=30)
            assert response.status_code == 200
            evaluation_id = response.json()["evaluation_id"]
        # The server has stopped, so its exporter has flushed.
    finally:
        collector.shutdown()
    spans = [
        span
        for body in _Collector.received
        for resource in ExportTraceServiceRequest.FromString(body).resource_spans
        for scope in resource.scope_spans
        for span in scope.spans
    ]
    (evaluation,) = [s for s in spans if s.name == "POST /v1/evaluate"]
    attributes = {a.key: a.value.string_value for a in evaluation.attributes}
    assert attributes["guidance.evaluation_id"] == evaluation_id
    (record,) = [
        r
        for r in map(msgspec.json.decode, (tmp_path / "audit.log").read_bytes().splitlines())
        if r["event"] == "evaluation"
    ]
    assert record["trace_id"] == evaluation.trace_id.hex()


COLLECTOR = "http://127.0.0.1:9"  # never reached: the start stops first


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_BSP_MAX_QUEUE_SIZE": "-1"},  # the SDK raises when the provider is built
        {"OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT": "x"},
        {"OTEL_BSP_SCHEDULE_DELAY": "abc"},  # the SDK would log a traceback and use its default
        {"OTEL_TRACES_SAMPLER": "bogus"},
        {"OTEL_EXPORTER_OTLP_HEADERS": "garbage"},
    ],
)
def test_otel_values_the_sdk_refuses_stop_the_start_as_one_json_line(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "service.cli.main", "serve"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={
            "PATH": "/usr/bin:/bin",
            "HOST": "127.0.0.1",
            "PORT": str(free_port()),
            "OTEL_EXPORTER_OTLP_ENDPOINT": COLLECTOR,
            **env,
        },
        timeout=60,
    )
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    line = msgspec.json.decode(lines[0])
    assert line["event"] == "startup_failed" and line["setting"] == "OTEL_*"
    assert done.stdout == ""


def test_the_operators_service_name_wins_over_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    from service.observability.tracing import SERVICE_NAME, tracer_provider_from_env

    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert tracer_provider_from_env().resource.attributes["service.name"] == SERVICE_NAME
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=guidance-prod,deployment.environment=prod")
    attributes = tracer_provider_from_env().resource.attributes
    assert attributes["service.name"] == "guidance-prod" and attributes["deployment.environment"] == "prod"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "guidance-eu")
    assert tracer_provider_from_env().resource.attributes["service.name"] == "guidance-eu"
