"""Building the image and running commands in it with buildah (see test_image.py for how)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("GUIDANCE_IMAGE_CACHE", "/var/tmp/guidance-image-cache"))
SUITE = "trixie"  # Debian 13, the Dockerfile's base; its python3 is 3.13
BASE_TARBALL = CACHE / f"debian-{SUITE}-slim-standin.tar"
BASE_IMAGE = f"localhost/debian-standin:{SUITE}-slim"
IMAGE = "localhost/safeguarding-guidance:smoke"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
BUILDAH = ["buildah", "--storage-driver=vfs"]
PATH_IN_DEBIAN_IMAGES = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
ENGINE_MARKER = "2.0.28+guidance.1 patches/durable-rules-2.0.28-py313.patch"
# What the official slim image has and debootstrap's minbase lacks (see containers.md): packages
# installed later leave out documentation, manuals and translations, apt keeps no downloaded
# packages, and the updates and security suites are there, so packages are as current as in a
# build from the real image.
SLIM_SETTINGS = {
    "etc/dpkg/dpkg.cfg.d/docker": """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
""",
    "etc/apt/apt.conf.d/docker-clean": "".join(
        f'{hook} {{ "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb'
        f' /var/cache/apt/*.bin || true"; }};\n'
        for hook in ("DPkg::Post-Invoke", "APT::Update::Post-Invoke")
    )
    + 'Dir::Cache::pkgcache "";\nDir::Cache::srcpkgcache "";\n',
}
EXTRA_SUITES = f"""deb http://deb.debian.org/debian {SUITE}-updates main
deb http://deb.debian.org/debian-security {SUITE}-security main
"""

# Harry at three months: a child protection plan, an operation proposed, two care-leaver parents
# deciding, the mother's capacity in doubt (the "operation decision" scenario of the harry-2019 pack).
HARRY_CASE = {
    "child": {"age_months": 3, "child_protection_plan": True},
    "parents": [
        {"role": "mother", "care_leaver": True, "capacity_doubt": True},
        {"role": "father", "care_leaver": True},
    ],
    "health_procedure": {"serious_procedure_proposed": True, "parents_deciding": True},
    "important_decision_pending": True,
}


def run(args: list[str], *, timeout: float = 600, log: Path | None = None) -> str:
    """Run a command; on failure, fail the test with what it printed (or the tail of its log)."""
    if log is None:
        done = subprocess.run(args, capture_output=True, text=True, timeout=timeout)
        output = done.stdout + done.stderr
    else:
        with log.open("w") as out:
            done = subprocess.run(args, stdout=out, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        output = log.read_text(errors="replace")
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(args)}` exited {done.returncode}:\n{output[-6000:]}", pytrace=False)
    return done.stdout if log is None else output


def image_exists(name: str) -> bool:
    done = subprocess.run([*BUILDAH, "inspect", "--type", "image", name], capture_output=True)
    return done.returncode == 0


def make_base_image() -> None:
    """A local ``debian:trixie-slim``: debootstrap's minbase with the slim image's settings."""
    CACHE.mkdir(parents=True, exist_ok=True)
    if not BASE_TARBALL.exists():
        rootfs = CACHE / "rootfs.partial"
        shutil.rmtree(rootfs, ignore_errors=True)
        run(
            ["debootstrap", "--variant=minbase", SUITE, str(rootfs), "http://deb.debian.org/debian"],
            timeout=1200,
            log=CACHE / "debootstrap.log",
        )
        for emptied in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (rootfs / emptied).glob("*"):
                if path.is_file():
                    path.unlink()
        for name, text in SLIM_SETTINGS.items():
            (rootfs / name).write_text(text)
        with (rootfs / "etc/apt/sources.list").open("a") as sources:
            sources.write(EXTRA_SUITES)
        for name in ("usr/share/man", "usr/share/info", "usr/share/groff", "usr/share/lintian"):
            shutil.rmtree(rootfs / name, ignore_errors=True)
        for path in (rootfs / "usr/share/doc").glob("*/*"):
            if path.name != "copyright" and path.is_file():
                path.unlink()
        for path in (rootfs / "usr/share/locale").glob("*"):
            if path.is_dir():
                shutil.rmtree(path)
            elif path.name != "locale.alias":
                path.unlink()
        partial = BASE_TARBALL.with_suffix(".partial")
        run(["tar", "-C", str(rootfs), "-cf", str(partial), "."])
        partial.rename(BASE_TARBALL)
        shutil.rmtree(rootfs)
    container = run([*BUILDAH, "from", "scratch"]).strip()
    try:
        run([*BUILDAH, "add", container, str(BASE_TARBALL), "/"])
        run([*BUILDAH, "config", "--env", f"PATH={PATH_IN_DEBIAN_IMAGES}", "--cmd", "bash", container])
        run([*BUILDAH, "commit", "--quiet", container, BASE_IMAGE])
    finally:
        subprocess.run([*BUILDAH, "rm", container], capture_output=True)


def in_image(container: str, *command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run a command in the container as the image's user (``docker exec``, more or less)."""
    options = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    return subprocess.run(
        [*BUILDAH, "run", "--isolation", "chroot", *options, container, "--", *command],
        capture_output=True,
        text=True,
        timeout=120,
    )
