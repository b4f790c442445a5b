"""Builders behind the platform test fixtures (folder conftests wrap them in fixtures)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from crd_schema import CrdSchemas
from k8s_tools import K8sTools, ToolsUnavailable, ensure_tools
from manifest_validation import ManifestValidator

# CRDs the shared reference lacks (see the header of each file for its upstream source)
VENDORED_CRDS = Path(__file__).parent / "crds"


def k8s_tools_or_skip() -> K8sTools:
    try:
        return ensure_tools()
    except ToolsUnavailable as error:
        pytest.skip(f"kubectl/helm unavailable: {error}")


@functools.cache
def manifest_validator(reference: Path) -> ManifestValidator:
    """Strict validator for core kinds and the CRDs of `reference`/crds plus vendored ones."""
    return ManifestValidator(CrdSchemas.from_paths([reference / "crds", VENDORED_CRDS]))
