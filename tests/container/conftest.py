"""The image, built once for every module of tests/container, and a working container of it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.container.build import (
    BASE_IMAGE,
    BUILDAH,
    HOST_CA,
    IMAGE,
    REPO,
    image_exists,
    make_base_image,
    run,
)


@pytest.fixture(scope="session")
def image(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Build the image from the working tree; return its Docker config (User, Env, Cmd, Healthcheck)."""
    missing = [tool for tool in ("buildah", "debootstrap") if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(
            f"the image smoke test needs root and buildah and debootstrap (missing: {missing or 'none'}, "
            f"uid {os.geteuid()}); on Debian, as root: apt-get install -y buildah debootstrap",
            pytrace=False,
        )
    if not image_exists(BASE_IMAGE):
        make_base_image()
    build = [
        *BUILDAH,
        "bud",
        "--isolation",
        "chroot",
        "--pull-never",
        "--layers",
        "--force-rm",
        "--format",
        "docker",
        "--build-arg",
        f"BASE={BASE_IMAGE}",
    ]
    if HOST_CA.exists():  # this machine's CA bundle, for pip behind an inspecting proxy (see Dockerfile)
        build += ["-v", f"{HOST_CA}:/run/host-ca.crt:ro", "--build-arg", "PIP_CERT=/run/host-ca.crt"]
    started = time.monotonic()
    run([*build, "-t", IMAGE, str(REPO)], timeout=3600, log=tmp_path_factory.mktemp("build") / "build.log")
    size = run([*BUILDAH, "images", "--format", "{{.Size}}", IMAGE]).strip()
    print(f"\nbuilt {IMAGE} in {time.monotonic() - started:.0f} s, {size}")
    inspected = json.loads(run([*BUILDAH, "inspect", "--type", "image", IMAGE]))
    return inspected["Docker"]["config"]


@pytest.fixture(scope="session")
def container(image: dict[str, Any]) -> Iterator[str]:
    """A working container from the image (buildah's stand-in for ``docker run``'s container)."""
    name = f"guidance-smoke-{uuid.uuid4().hex[:8]}"
    run([*BUILDAH, "from", "--pull-never", "--name", name, IMAGE])
    try:
        yield name
    finally:
        subprocess.run([*BUILDAH, "rm", name], capture_output=True)
