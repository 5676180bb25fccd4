"""The container image, built from the Dockerfile and run, on a machine without a Docker engine.

Slow (a first run takes several minutes) and left out of the default run and CI; run it with
``make image-smoke`` or ``.venv/bin/python -m pytest -m slow tests/container``. It needs root,
``buildah`` and ``debootstrap`` (Debian: ``apt-get install -y buildah debootstrap``) and network
access to deb.debian.org and PyPI. It follows ../shared/reference/containers.md:

1. ``debian:trixie-slim`` is not pulled (no registry): a stand-in is made with debootstrap, given
   the slim image's settings, and committed as ``localhost/debian-standin:trixie-slim``. The
   rootfs tarball is cached in /var/tmp/guidance-image-cache (GUIDANCE_IMAGE_CACHE overrides),
   the stand-in stays in buildah's store.
2. ``buildah bud`` builds the Dockerfile with ``--build-arg BASE=`` the stand-in (vfs storage,
   chroot isolation, cached layers, Docker format so the HEALTHCHECK is kept), with this
   machine's CA bundle for pip.
3. ``buildah run`` starts the image's own CMD as the image's user, on a free loopback port, and
   the service is driven over HTTP on 127.0.0.1; the HEALTHCHECK command is run inside the image
   (no runtime here runs it). The server is stopped by its process id and the working container
   removed. The image stays in the store, so the next build reuses its layers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient

from service.app import create_app
from service.settings import Settings
from tests.conftest import KNOWLEDGE
from tests.container.build import BUILDAH, ENGINE_MARKER, HARRY_CASE, in_image
from tests.server import free_port

pytestmark = pytest.mark.slow


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    return children


def server_pids(buildah_pid: int) -> list[int]:
    """The processes ``buildah run`` started inside the image (not buildah's own helpers)."""
    children, found, todo = _children(), [], [buildah_pid]
    while todo:
        for child in children.get(todo.pop(), []):
            todo.append(child)
            try:
                argv0 = (Path("/proc") / str(child) / "cmdline").read_bytes().split(b"\0")[0]
            except OSError:
                continue
            if not os.path.basename(argv0).startswith(b"buildah"):
                found.append(child)
    return found


def send(signal_number: int, pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal_number)


@dataclass
class Server:
    url: str
    pids: list[int]


@pytest.fixture(scope="module")
def server(
    image: dict[str, Any], container: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The image's CMD, run as the image's user, listening on a free port on 127.0.0.1 only.

    The image says HOST=0.0.0.0 (right inside a container); here the container shares this
    machine's network, so the test keeps the server on loopback.
    """
    port = free_port()
    logs = tmp_path_factory.mktemp("server")
    command = [
        *BUILDAH,
        "run",
        "--isolation",
        "chroot",
        "-e",
        "HOST=127.0.0.1",
        "-e",
        f"PORT={port}",
        container,
        "--",
        *image["Cmd"],
    ]
    with (logs / "stdout").open("wb") as out, (logs / "stderr").open("wb") as err:
        buildah = subprocess.Popen(command, stdout=out, stderr=err)
    base_url = f"http://127.0.0.1:{port}"
    pids: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            if buildah.poll() is not None:
                pytest.fail(
                    f"the server exited ({buildah.returncode}):\n{(logs / 'stderr').read_text()[-6000:]}",
                    pytrace=False,
                )
            try:
                if httpx.get(f"{base_url}/ready", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"not ready in 120 s:\n{(logs / 'stderr').read_text()[-6000:]}", pytrace=False)
            time.sleep(0.5)
        pids = server_pids(buildah.pid)
        assert pids, "found no server process under buildah run"
        yield Server(base_url, pids)
    finally:
        # The server outlives a stopped `buildah run`, so it is stopped by its own process id.
        send(signal.SIGTERM, pids or server_pids(buildah.pid))
        try:
            buildah.wait(timeout=30)
        except subprocess.TimeoutExpired:
            send(signal.SIGKILL, server_pids(buildah.pid))
            buildah.kill()
            buildah.wait()


def test_image_config(image: dict[str, Any]) -> None:
    env = dict(item.split("=", 1) for item in image["Env"])
    assert image["Cmd"] == ["guidance", "serve"]
    assert image["User"] not in ("", "0", "root") and not image["User"].startswith(("0:", "root:"))
    assert env["HOST"] == "0.0.0.0" and env["PORT"] == "8000"
    assert "8000/tcp" in image["ExposedPorts"]
    assert env["GUIDANCE_KNOWLEDGE"]
    assert image["Healthcheck"]["Test"][0] in ("CMD", "CMD-SHELL")


def test_runs_as_a_user_that_is_not_root(container: str) -> None:
    done = in_image(container, "id", "-u")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() not in ("", "0")


def test_that_user_can_write_an_audit_file_under_var_lib_guidance(container: str) -> None:
    done = in_image(
        container, "sh", "-c", "echo probe > /var/lib/guidance/probe && rm /var/lib/guidance/probe"
    )
    assert done.returncode == 0, done.stderr


def test_runs_debians_python_3_13_with_the_patched_engine(container: str) -> None:
    done = in_image(
        container,
        "python3",
        "-c",
        "import sys, durable_rules_engine as e;"
        " print(sys.executable, '%d.%d' % sys.version_info[:2], e.build_marker)",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(maxsplit=2) == ["/opt/venv/bin/python3", "3.13", ENGINE_MARKER]


def test_the_runtime_venv_has_no_pip_or_setuptools(container: str) -> None:
    done = in_image(
        container,
        "python3",
        "-c",
        "import importlib.util as u; print(u.find_spec('pip'), u.find_spec('setuptools'))",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["None", "None"]


def test_has_no_compiler(container: str) -> None:
    done = in_image(container, "sh", "-c", "for tool in gcc cc c++ make; do command -v $tool; done; true")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"the runtime image has build tools: {done.stdout.split()}"


def test_the_server_runs_as_that_user(server: Server) -> None:
    for pid in server.pids:
        uids = (Path("/proc") / str(pid) / "status").read_text().split("\nUid:")[1].split()
        assert "0" not in uids[:4], f"process {pid} runs with uids {uids}"


def test_is_ready_with_the_shipped_knowledge(server: Server) -> None:
    ready = httpx.get(f"{server.url}/ready", timeout=10)
    assert ready.status_code == 200
    assert [ref["pack"] for ref in ready.json()["knowledge"]] == ["harry-2019"]


def test_evaluates_a_case_as_the_service_does_outside_the_image(server: Server, tmp_path: Path) -> None:
    response = httpx.post(f"{server.url}/v1/evaluate", json={"facts": HARRY_CASE}, timeout=10)
    assert response.status_code == 200, response.text
    prompts = response.json()["prompts"]
    assert prompts, "no prompts for the Harry case"
    app = create_app(Settings(knowledge_dirs=(KNOWLEDGE,), audit_file=tmp_path / "audit.log"))
    with TestClient(app) as local:
        expected = local.post("/v1/evaluate", json={"facts": HARRY_CASE}).json()["prompts"]
    assert [p["id"] for p in prompts] == [p["id"] for p in expected]


def healthcheck_command(image: dict[str, Any]) -> list[str]:
    kind, *rest = image["Healthcheck"]["Test"]
    return rest if kind == "CMD" else ["/bin/sh", "-c", *rest]


def test_healthcheck_passes_when_ready(image: dict[str, Any], container: str, server: Server) -> None:
    port = server.url.rsplit(":", 1)[1]
    done = in_image(container, *healthcheck_command(image), env={"PORT": port})
    assert done.returncode == 0, done.stdout + done.stderr


def test_healthcheck_fails_when_nothing_answers(image: dict[str, Any], container: str) -> None:
    done = in_image(container, *healthcheck_command(image), env={"PORT": str(free_port())})
    assert done.returncode != 0
