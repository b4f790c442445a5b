"""Fixtures for the pipeline-server manifests: real kubectl, strict schema validation."""

from __future__ import annotations

from pathlib import Path

import pytest
from platform_fixtures import k8s_tools_fixture, validator_fixture  # noqa: F401


@pytest.fixture(scope="session")
def pipeline_server(repo_root: Path) -> Path:
    return repo_root / "pipeline-server"
