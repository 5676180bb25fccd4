"""deploy/kubernetes, offline: the base and the production overlay render, every object is valid
against the Kubernetes schemas (kubernetes-validate, for the oldest and newest versions named
below), the pod security and probe settings hold, and the settings the manifests give are ones
the service starts with. A broken overlay (root, no probes) and an object the schema refuses
both fail."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from service.auth.issuers import load_issuers
from service.settings import Settings
from tests.conftest import REPO
from tests.kubernetes import Unsupported, merge, problems, render

DEPLOY = REPO / "deploy" / "kubernetes"
BASE, PRODUCTION = DEPLOY / "base", DEPLOY / "overlays" / "production"
VERSIONS = ("1.30.0", "1.37.0")  # the oldest Kubernetes still widely run, and the newest schemas


def validate(objects: list[dict[str, Any]]) -> list[str]:
    errors = []
    for item in objects:
        for version in VERSIONS:
            try:
                kubernetes_validate.validate(item, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                errors.append(f"{item['kind']} {item['metadata']['name']} ({version}): {error.message}")
    return errors


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (found,) = [
        item for item in objects if item["kind"] == kind and item["metadata"]["name"] != "guidance-issuers"
    ]
    return found


@pytest.mark.parametrize("folder", [BASE, PRODUCTION], ids=["base", "production"])
def test_the_manifests_render_validate_and_hold_the_pod_security_settings(folder: Path) -> None:
    objects = render(folder)
    assert validate(objects) == []
    assert problems(objects) == []


def test_the_production_overlay_changes_what_it_says_and_nothing_else() -> None:
    base, production = render(BASE), render(PRODUCTION)
    assert {item["metadata"]["namespace"] for item in production} == {"safeguarding-guidance"}
    deployment = by_kind(production, "Deployment")
    assert deployment["spec"]["replicas"] == 3
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["image"].startswith("registry.example.org/")
    base_container = by_kind(base, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert {k: v for k, v in container.items() if k not in ("image", "imagePullPolicy")} == {
        k: v for k, v in base_container.items() if k not in ("image", "imagePullPolicy")
    }
    assert by_kind(production, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 3
    assert by_kind(production, "PodDisruptionBudget")["spec"]["minAvailable"] == 2


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl (with kustomize) is not installed here")
@pytest.mark.parametrize("folder", [BASE, PRODUCTION], ids=["base", "production"])
def test_kustomize_itself_renders_the_same_objects(folder: Path) -> None:
    done = subprocess.run(["kubectl", "kustomize", str(folder)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    theirs = [d for d in yaml.safe_load_all(done.stdout) if d]

    def key(item: dict[str, Any]) -> tuple[str, str]:
        return item["kind"], item["metadata"]["name"]

    assert sorted(theirs, key=key) == sorted(render(folder), key=key)


def test_the_settings_and_issuers_they_give_are_ones_the_service_starts_with(tmp_path: Path) -> None:
    objects = render(PRODUCTION)
    settings = by_kind(objects, "ConfigMap")["data"]
    issuers = next(item for item in objects if item["metadata"]["name"] == "guidance-issuers")
    issuers_file = tmp_path / "issuers.yaml"
    issuers_file.write_text(issuers["data"]["issuers.yaml"])
    env = {
        **settings,
        "GUIDANCE_AUTH_ISSUERS": str(issuers_file),
        "HOST": "0.0.0.0",
        "GUIDANCE_AUDIT_KEY": "k" * 32,
    }
    parsed = Settings.from_env(env)
    assert parsed.auth == "jwt" and parsed.workers == 1 and parsed.tracing
    assert parsed.audit_file is None  # standard output, for the cluster's log pipeline
    assert load_issuers(issuers_file)
    (container,) = by_kind(objects, "Deployment")["spec"]["template"]["spec"]["containers"]
    (key,) = [e for e in container["env"] if e["name"] == "GUIDANCE_AUDIT_KEY"]
    assert key["valueFrom"]["secretKeyRef"]["name"] == "guidance-audit-key"


def test_a_broken_overlay_running_as_root_without_probes_fails(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "kustomization.yaml").write_text(
        f"resources:\n  - {PRODUCTION}\npatches:\n  - path: root.yaml\n"
    )
    (broken / "root.yaml").write_text(
        """apiVersion: apps/v1
kind: Deployment
metadata:
  name: safeguarding-guidance
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 5
      securityContext:
        runAsNonRoot: null
        runAsUser: 0
      containers:
        - name: guidance
          securityContext:
            readOnlyRootFilesystem: false
          livenessProbe: null
          readinessProbe: null
          startupProbe: null
"""
    )
    objects = render(broken)
    assert validate(objects) == []  # valid Kubernetes, and still refused:
    where = "Deployment safeguarding-guidance: "
    assert problems(objects) == [
        where + "terminationGracePeriodSeconds 5 is not longer than the longest request",
        where + "container guidance: runAsNonRoot is not true",
        where + "container guidance: runs as root (runAsUser 0)",
        where + "container guidance: the root filesystem is not read-only",
        where + "container guidance: no livenessProbe",
        where + "container guidance: no readinessProbe",
        where + "container guidance: no startupProbe",
    ]


def test_an_object_the_schema_refuses_fails_validation() -> None:
    wrong_type = by_kind(render(BASE), "Deployment")
    wrong_type["spec"]["replicas"] = "three"
    unknown_field = by_kind(render(BASE), "Deployment")
    unknown_field["spec"]["template"]["spec"]["containers"][0]["securityContext"]["runAsRoot"] = False
    errors = validate([wrong_type, unknown_field])
    assert any("'three' is not of type 'integer'" in e for e in errors), errors
    assert any("runAsRoot" in e for e in errors), errors  # strict: unknown fields are errors


def test_the_renderer_refuses_what_it_does_not_do() -> None:
    with pytest.raises(Unsupported):
        merge({"tolerations": [{"key": "a"}]}, {"tolerations": [{"key": "b"}]})
    assert merge({"args": ["a"]}, {"args": ["b"]}) == {"args": ["b"]}
