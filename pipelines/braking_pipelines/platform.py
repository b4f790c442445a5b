"""Kubernetes settings of the steps' pods, and compiling for older KFP backends.

Pod settings come from `PipelineConfig.pods` (flags, env or YAML) and are written with
kfp-kubernetes into the compiled spec's platform section; empty settings write nothing, so
the spec stays what it was without them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from kfp import dsl, kubernetes

from braking_pipelines.config import PodSettings


def apply_pod_settings(task: dsl.PipelineTask, step: str, pods: PodSettings) -> None:
    """Node selector, tolerations, pull secrets, labels and `step`'s timeout on `task`."""
    for key, value in sorted(pods.node_selector.items()):
        kubernetes.add_node_selector(task, key, value)
    for toleration in pods.tolerations:
        kubernetes.add_toleration(task, **toleration.model_dump())
    if pods.image_pull_secrets:
        kubernetes.set_image_pull_secrets(task, list(pods.image_pull_secrets))
    for key, value in sorted(pods.labels.items()):
        kubernetes.add_pod_label(task, key, value)
    if step in pods.timeouts:
        kubernetes.set_timeout(task, pods.timeouts[step])


def drop_optional_secret_fields(package: Path) -> None:
    """Remove `optional` from every Secret-as-env entry of a compiled package, in place.

    kfp-kubernetes >= 2.15 writes the field even when false; drivers built before it fail
    with `unknown field "optional" in kfp_kubernetes.SecretAsEnv` (kubeflow/pipelines#12495).
    """
    spec, *platforms = yaml.safe_load_all(package.read_text())
    for platform in platforms:
        executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
        for executor in executors.values():
            for secret in executor.get("secretAsEnv", []):
                secret.pop("optional", None)
    package.write_text(_dump_all([spec, *platforms]))


def _dump_all(documents: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(documents, sort_keys=True, default_flow_style=False)
