"""The image as a cluster runs it: on a read-only root filesystem as its own user, with
``/metrics`` answering, and refusing to start on every address without ``GUIDANCE_AUTH``.

No runtime here takes ``--read-only``, so the test does what one does: it mounts the working
container's root filesystem read-only (a bind mount remounted ``ro``), gives it ``/proc``, ``/dev`` and a
tmpfs on ``/tmp`` (the emptyDir of deploy/kubernetes), and starts the image's command in it with
``chroot`` as the image's user, on a free loopback port.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.container.build import BUILDAH, HARRY_CASE, in_image, run
from tests.server import free_port

pytestmark = pytest.mark.slow


def _mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail(f"mount {' '.join(args)}: {done.stderr}", pytrace=False)


@pytest.fixture(scope="module")
def read_only_root(container: str) -> Iterator[Path]:
    root = Path(run([*BUILDAH, "mount", container]).strip())
    view = Path(tempfile.mkdtemp(prefix="guidance-ro-"))
    mounted: list[Path] = []
    try:
        _mount("--bind", str(root), str(view))
        mounted.append(view)
        _mount("-o", "remount,bind,ro", str(view))
        _mount("-t", "proc", "proc", str(view / "proc"))
        mounted.append(view / "proc")
        _mount("--bind", "/dev", str(view / "dev"))
        mounted.append(view / "dev")
        _mount("-t", "tmpfs", "-o", "size=64m,mode=1777", "tmpfs", str(view / "tmp"))
        mounted.append(view / "tmp")
        yield view
    finally:
        for path in reversed(mounted):
            subprocess.run(["umount", "-l", str(path)], capture_output=True)
        view.rmdir()
        subprocess.run([*BUILDAH, "umount", container], capture_output=True)


def _chroot(view: Path, user: str, command: list[str], env: dict[str, str]) -> list[str]:
    assignments = [f"{key}={value}" for key, value in env.items()]
    return ["chroot", f"--userspec={user}", str(view), "/usr/bin/env", "-i", *assignments, *command]


@pytest.fixture(scope="module")
def read_only_server(image: dict[str, Any], read_only_root: Path) -> Iterator[str]:
    env = dict(item.split("=", 1) for item in image["Env"])
    port = free_port()
    env |= {"HOST": "127.0.0.1", "PORT": str(port), "WORKERS": "2"}  # two workers: metrics in /tmp
    command = _chroot(read_only_root, image["User"], image["Cmd"], env)
    with tempfile.TemporaryFile() as err:
        server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    err.seek(0)
                    pytest.fail(f"exited {server.returncode}: {err.read().decode()[-4000:]}", pytrace=False)
                try:
                    if httpx.get(f"{url}/ready", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "not ready in 60 s on a read-only root"
                time.sleep(0.3)
            yield url
        finally:
            os.killpg(server.pid, signal.SIGTERM)  # its own session: the server and its workers
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


def test_serves_and_counts_on_a_read_only_root_as_its_own_user(
    image: dict[str, Any], read_only_root: Path, read_only_server: str
) -> None:
    response = httpx.post(f"{read_only_server}/v1/evaluate", json={"facts": HARRY_CASE}, timeout=10)
    assert response.status_code == 200 and response.json()["prompts"]
    metrics = httpx.get(f"{read_only_server}/metrics", timeout=10)
    assert metrics.status_code == 200
    assert 'guidance_evaluations_total{api="rest",outcome="answered"} 1.0' in metrics.text
    status = httpx.get(f"{read_only_server}/v1/status", timeout=10).json()
    assert status["workers"] == 2 and status["audit"]["kind"] == "stdout"
    probe = _chroot(read_only_root, image["User"], ["/bin/sh", "-c", "touch /opt/guidance/x"], {})
    denied = subprocess.run(probe, capture_output=True, text=True)
    assert denied.returncode != 0 and "Read-only file system" in denied.stderr, denied.stderr
    uid = subprocess.run(
        _chroot(read_only_root, image["User"], ["id", "-u"], {}), capture_output=True, text=True
    )
    assert uid.stdout.strip() not in ("", "0")


def test_refuses_to_start_on_every_address_without_guidance_auth(container: str) -> None:
    done = in_image(container, "guidance", "serve")  # the image's HOST is 0.0.0.0
    assert done.returncode == 2, done.stdout + done.stderr
    assert "GUIDANCE_AUTH" in done.stderr and shlex.quote("0.0.0.0") in done.stderr
