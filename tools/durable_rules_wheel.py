"""Build durable-rules 2.0.28, patched to run on Python 3.11 to 3.13, into a wheel for this Python.

    python tools/durable_rules_wheel.py [--cache DIR]

Run it with the interpreter the wheel is for (the Makefile runs it with the virtual
environment's). It prints the wheel's path on standard output and nothing else there; what it
is doing goes to standard error. Steps:

1. ``pip download --no-binary :all: --no-deps durable-rules==2.0.28`` fetches the source
   distribution (once; it is kept in the cache);
2. its SHA-256 must be :data:`SDIST_SHA256` (PyPI's published digest), or it is deleted and
   nothing is built;
3. it is unpacked into a temporary directory and ``patches/durable-rules-2.0.28-py313.patch``
   is applied with no fuzz (``patch``, or ``git apply`` where ``patch`` is missing);
4. ``pip wheel`` builds it, and the wheel is kept in the cache under a directory named after the
   sdist's and the patch's digests, so an edited patch builds afresh.

A wheel already in the cache for this interpreter and platform is reused (the whole thing takes
about 20 seconds the first time, under a second after).
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REQUIREMENT = "durable-rules==2.0.28"
SDIST = "durable_rules-2.0.28.tar.gz"
# The digest PyPI publishes for durable_rules-2.0.28.tar.gz (https://pypi.org/simple/durable-rules/).
SDIST_SHA256 = "053b26f5e48d312d4fa27995243f954671be6eece477f150c059c364eb4d7d61"
PATCH = REPO / "patches" / "durable-rules-2.0.28-py313.patch"
# The version the patch gives the build (setup.py); durable-rules==2.0.28 still matches it.
PATCHED_VERSION = "2.0.28+guidance.1"
DEFAULT_CACHE = REPO / ".cache" / "durable-rules"


def say(message: str) -> None:
    print(f"durable-rules: {message}", file=sys.stderr, flush=True)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def run(args: list[str], cwd: Path | None = None) -> None:
    """Run a command with its output on standard error; stop with that output if it fails."""
    done = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd)
    if done.returncode != 0:
        sys.stderr.write(done.stdout)
        raise SystemExit(f"durable-rules: `{' '.join(args)}` exited {done.returncode}")


def sdist(cache: Path) -> Path:
    """The source distribution, downloaded once, its digest checked on every use."""
    path = cache / "sdist" / SDIST
    if not path.exists():
        say(f"downloading the {REQUIREMENT} source distribution")
        with tempfile.TemporaryDirectory() as tmp:
            run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--quiet",
                    "--no-binary",
                    ":all:",
                    "--no-deps",
                    "--dest",
                    tmp,
                    REQUIREMENT,
                ]
            )
            downloaded = Path(tmp) / SDIST
            if not downloaded.exists():
                raise SystemExit(
                    f"durable-rules: pip downloaded {sorted(p.name for p in Path(tmp).iterdir())}"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(downloaded, path)
    digest = sha256(path)
    if digest != SDIST_SHA256:
        path.unlink()
        raise SystemExit(
            f"durable-rules: {SDIST} has SHA-256 {digest}, not {SDIST_SHA256}; deleted it, built nothing"
        )
    return path


def apply_patch(source: Path) -> None:
    if shutil.which("patch"):
        run(["patch", "--batch", "--forward", "--fuzz=0", "-p1", "-d", str(source), "-i", str(PATCH)])
    elif shutil.which("git"):
        run(["git", "apply", "-p1", str(PATCH)], cwd=source)
    else:
        raise SystemExit("durable-rules: applying the patch needs `patch` or `git`; neither is on PATH")


def build(cache: Path) -> Path:
    tarball = sdist(cache)  # the digest is checked even when the wheel is cached
    # One directory per sdist digest, patch digest, interpreter and platform; the platform part
    # of the wheel's own name is left to pip (on macOS it depends on the deployment target).
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    wheels = cache / f"wheels-{SDIST_SHA256[:12]}-{sha256(PATCH)[:12]}" / f"{tag}-{sysconfig.get_platform()}"
    prefix = f"durable_rules-{PATCHED_VERSION}-{tag}-{tag}-"
    cached = sorted(wheels.glob(f"{prefix}*.whl"))
    if len(cached) == 1:
        say(f"using the patched wheel built before, {cached[0]}")
        return cached[0]
    say(f"building {prefix}*.whl from {SDIST} (SHA-256 checked) with {PATCH.relative_to(REPO)}")
    with tempfile.TemporaryDirectory() as tmp:
        with tarfile.open(tarball) as archive:
            if hasattr(tarfile, "data_filter"):
                archive.extractall(tmp, filter="data")
            else:  # Python 3.11 before 3.11.4
                archive.extractall(tmp)  # a digest-checked archive
        source = Path(tmp) / SDIST.removesuffix(".tar.gz")
        apply_patch(source)
        out = Path(tmp) / "wheel"
        run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--quiet",
                "--no-deps",
                "--wheel-dir",
                str(out),
                str(source),
            ]
        )
        built = sorted(out.glob("*.whl"))
        if len(built) != 1 or not built[0].name.startswith(prefix):
            raise SystemExit(f"durable-rules: expected {prefix}*.whl, pip built {[w.name for w in built]}")
        wheels.mkdir(parents=True, exist_ok=True)
        for stale in wheels.glob("*.whl"):
            stale.unlink()
        partial = wheels / f".{built[0].name}.partial"
        shutil.move(built[0], partial)
        partial.rename(wheels / built[0].name)
    say(f"built {wheels / built[0].name}")
    return wheels / built[0].name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"default {DEFAULT_CACHE}")
    args = parser.parse_args()
    print(build(args.cache.resolve()))


if __name__ == "__main__":
    main()
