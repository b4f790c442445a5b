"""Validate rendered Kubernetes manifests: CRD kinds strictly, core kinds with Kubernetes schemas.

Core kinds (Namespace, Secret, RoleBinding, ...) are checked against the strict JSON schemas
shipped by the `kubernetes-validate` package (unknown fields rejected), custom resources with
`crd_schema.CrdSchemas`. A kind known to neither is an error, so nothing passes unchecked.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from typing import Any

import jsonschema
import yaml
from crd_schema import CrdSchemas, ManifestError, describe
from kubernetes_validate import utils as k8s_schemas
from referencing import Registry, Resource

# OpenShift 4.17 ships Kubernetes 1.30; RHOAI 2.x supports OpenShift 4.14 and later.
KUBERNETES_VERSION = "1.30"


@functools.cache
def _core_validator(api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    version = next(
        v
        for v in reversed(k8s_schemas.all_versions())
        if k8s_schemas.major_minor(v) <= KUBERNETES_VERSION
    )
    # rbac.authorization.k8s.io/v1 -> rbac-v1, apps/v1 -> apps-v1, v1 -> v1 (the file naming)
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    folder = f"kubernetes-json-schema/v{version}-local-strict"
    try:
        schema = k8s_schemas.schema_contents(
            f"{folder}/{kind.lower()}-{group_version}.json", version
        )
    except FileNotFoundError:
        return None
    definitions = k8s_schemas.schema_contents(f"{folder}/_definitions.json", version)
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def core_errors(manifest: dict[str, Any]) -> list[str] | None:
    """Violations of the Kubernetes schema, or None when the kind is not a core kind."""
    validator = _core_validator(str(manifest.get("apiVersion")), str(manifest.get("kind")))
    if validator is None:
        return None
    found = sorted(validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in found]


class ManifestValidator:
    """Dispatch each manifest to its CRD schema or to the Kubernetes core schema."""

    def __init__(
        self, crds: CrdSchemas, kinds_without_reference: set[tuple[str, str]] | None = None
    ) -> None:
        self.crds = crds
        # (apiVersion, kind) pairs whose CRD the upstream references lack: dedicated tests
        # check those objects field by field instead.
        self.kinds_without_reference = kinds_without_reference or set()

    def errors(self, manifest: dict[str, Any]) -> list[str]:
        if (manifest.get("apiVersion"), manifest.get("kind")) in self.kinds_without_reference:
            return []
        if self.crds.handles(manifest):
            return self.crds.errors(manifest)
        core = core_errors(manifest)
        if core is None:
            return [
                f"no schema for apiVersion {manifest.get('apiVersion')!r} "
                f"kind {manifest.get('kind')!r}: neither a Kubernetes core kind nor a known CRD"
            ]
        return core

    def validate_all(self, manifests: Iterable[dict[str, Any]]) -> None:
        """Raise ManifestError listing every invalid object with its violations."""
        problems = [f"{describe(m)}: {err}" for m in manifests for err in self.errors(m)]
        if problems:
            raise ManifestError(f"{len(problems)} schema violation(s)", problems)


def load_documents(text: str) -> list[dict[str, Any]]:
    """The non-empty YAML documents of a multi-document stream (`kubectl kustomize` output)."""
    return [doc for doc in yaml.safe_load_all(text) if doc]
