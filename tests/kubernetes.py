"""The Kubernetes manifests under deploy/kubernetes, rendered and checked offline.

``render`` is a small kustomize for the subset the manifests use, since no kustomize binary
installs from the package index: ``resources`` (files and other kustomizations), ``namespace``,
and ``patches`` given by ``path`` as strategic-merge patches, merging the lists Kubernetes
merges by key (containers, volumes and env by name, volume mounts by path) and refusing
anything else rather than guessing. Where ``kubectl`` is installed, the tests check that it
renders the same objects.

``problems`` names what a deployment of this service must not lack: the restricted pod security
settings, a read-only root filesystem, resource requests and limits, the three probes, a grace
period longer than the longest request, and the objects around the Deployment.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from service.settings import Settings

Object = dict[str, Any]
_KEYS = {"apiVersion", "kind", "resources", "namespace", "patches"}
_MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
}
_REPLACED_LISTS = {"command", "args"}
_PROBES = (("livenessProbe", "/health"), ("readinessProbe", "/ready"), ("startupProbe", None))


class Unsupported(ValueError):
    """The kustomization uses something this renderer does not do."""


def render(folder: Path) -> list[Object]:
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
    unknown = set(kustomization) - _KEYS
    if unknown:
        raise Unsupported(f"{folder}: kustomization fields this renderer does not do: {sorted(unknown)}")
    objects: list[Object] = []
    for entry in kustomization.get("resources", []):
        path = (folder / entry).resolve()
        objects += render(path) if path.is_dir() else _documents(path)
    for patch in kustomization.get("patches", []):
        if set(patch) != {"path"}:
            raise Unsupported(f"{folder}: only patches given by path are done: {patch}")
        for document in _documents(folder / patch["path"]):
            index = _find(objects, document)
            objects[index] = merge(objects[index], document)
    if "namespace" in kustomization:
        for item in objects:
            item["metadata"]["namespace"] = kustomization["namespace"]
    return objects


def _documents(path: Path) -> list[Object]:
    return [document for document in yaml.safe_load_all(path.read_text()) if document]


def _find(objects: list[Object], patch: Object) -> int:
    key = (patch["kind"], patch["metadata"]["name"])
    found = [i for i, item in enumerate(objects) if (item["kind"], item["metadata"]["name"]) == key]
    if len(found) != 1:
        raise Unsupported(f"a patch must match exactly one object: {key} matches {len(found)}")
    return found[0]


def merge(target: Any, patch: Any, key: str = "") -> Any:
    """Strategic merge of ``patch`` into a copy of ``target``: maps key by key (a null deletes),
    lists of the kinds above by their merge key, ``command`` and ``args`` replaced."""
    if isinstance(target, dict) and isinstance(patch, dict):
        merged = copy.deepcopy(target)
        for name, value in patch.items():
            if value is None:
                merged.pop(name, None)
            elif name in merged:
                merged[name] = merge(merged[name], value, name)
            else:
                merged[name] = copy.deepcopy(value)
        return merged
    if isinstance(target, list) and isinstance(patch, list):
        if key in _REPLACED_LISTS:
            return copy.deepcopy(patch)
        if key not in _MERGE_KEYS:
            raise Unsupported(f"merging the list `{key}` is not done by this renderer")
        merge_key = _MERGE_KEYS[key]
        merged_list = copy.deepcopy(target)
        positions = {item[merge_key]: i for i, item in enumerate(merged_list)}
        for item in patch:
            if item[merge_key] in positions:
                i = positions[item[merge_key]]
                merged_list[i] = merge(merged_list[i], item)
            else:
                merged_list.append(copy.deepcopy(item))
        return merged_list
    return copy.deepcopy(patch)


def _longest_request() -> float:
    settings = Settings()
    return settings.header_timeout + settings.body_timeout


def problems(objects: list[Object]) -> list[str]:
    """What the rendered objects lack, one sentence each; empty when nothing."""
    found: list[str] = []
    kinds = {item["kind"] for item in objects}
    for kind in ("Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "NetworkPolicy"):
        if kind not in kinds:
            found.append(f"no {kind}")
    for item in objects:
        where = f"{item['kind']} {item['metadata']['name']}"
        if item["kind"] == "Deployment":
            found += [f"{where}: {problem}" for problem in _pod_problems(item["spec"]["template"]["spec"])]
        elif item["kind"] == "NetworkPolicy":
            spec = item["spec"]
            if "Ingress" not in spec.get("policyTypes", []):
                found.append(f"{where}: does not restrict ingress")
            if any(not rule.get("from") for rule in spec.get("ingress", [])):
                found.append(f"{where}: a rule lets in anyone")
        elif item["kind"] == "HorizontalPodAutoscaler":
            metrics = item["spec"].get("metrics", [])
            if not any(m.get("resource", {}).get("name") == "cpu" for m in metrics):
                found.append(f"{where}: does not scale on CPU")
    return found


def _pod_problems(pod: Object) -> list[str]:
    found = []
    context = pod.get("securityContext", {})
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            found.append(f"{flag} is on")
    if any("hostPath" in volume for volume in pod.get("volumes", [])):
        found.append("mounts a hostPath volume")
    grace = pod.get("terminationGracePeriodSeconds", 30)
    if grace <= _longest_request():
        found.append(f"terminationGracePeriodSeconds {grace} is not longer than the longest request")
    for container in pod.get("containers", []):
        name = f"container {container['name']}"
        own = container.get("securityContext", {})

        def setting(field: str, own: Object = own) -> Any:
            return own.get(field, context.get(field))

        if setting("runAsNonRoot") is not True:
            found.append(f"{name}: runAsNonRoot is not true")
        if setting("runAsUser") == 0:
            found.append(f"{name}: runs as root (runAsUser 0)")
        if (setting("seccompProfile") or {}).get("type") != "RuntimeDefault":
            found.append(f"{name}: seccompProfile is not RuntimeDefault")
        if own.get("allowPrivilegeEscalation") is not False:
            found.append(f"{name}: allowPrivilegeEscalation is not false")
        if own.get("privileged"):
            found.append(f"{name}: is privileged")
        if own.get("readOnlyRootFilesystem") is not True:
            found.append(f"{name}: the root filesystem is not read-only")
        capabilities = own.get("capabilities", {})
        if "ALL" not in capabilities.get("drop", []) or capabilities.get("add"):
            found.append(f"{name}: does not drop all capabilities")
        resources = container.get("resources", {})
        for part in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(part, {}):
                    found.append(f"{name}: no {resource} {part[:-1]}")
        for probe, path in _PROBES:
            get = container.get(probe, {}).get("httpGet")
            if get is None:
                found.append(f"{name}: no {probe}")
            elif path is not None and get.get("path") != path:
                found.append(f"{name}: {probe} asks {get.get('path')}, not {path}")
    return found
