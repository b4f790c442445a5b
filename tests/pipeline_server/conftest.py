"""Fixtures for the pipeline-server manifests: real kubectl, strict schema validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from k8s_tools import K8sTools
from manifest_validation import ManifestValidator
from platform_fixtures import k8s_tools_or_skip, manifest_validator


@pytest.fixture(scope="session")
def k8s_tools() -> K8sTools:
    return k8s_tools_or_skip()


@pytest.fixture(scope="session")
def validator(shared_reference: Path) -> ManifestValidator:
    return manifest_validator(shared_reference)


@pytest.fixture(scope="session")
def pipeline_server(repo_root: Path) -> Path:
    return repo_root / "pipeline-server"
