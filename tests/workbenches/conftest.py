"""Fixtures for the workbenches chart: real helm, strict schema validation, rendering."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from k8s_tools import K8sTools
from manifest_validation import load_documents
from platform_fixtures import k8s_tools_fixture, validator_fixture  # noqa: F401

NAMESPACE = "braking-dev"
VALUES = Path(__file__).parent / "values"

Render = Callable[..., list[dict[str, Any]]]


@pytest.fixture(scope="session")
def chart(repo_root: Path) -> Path:
    return repo_root / "workbenches"


@pytest.fixture(scope="session")
def namespace() -> str:
    """The release namespace every rendering uses."""
    return NAMESPACE


@pytest.fixture(scope="session")
def values_dir() -> Path:
    """Value sets used by the tests (valid and deliberately invalid ones)."""
    return VALUES


@pytest.fixture(scope="session")
def render(k8s_tools: K8sTools, chart: Path) -> Render:
    """`helm template` in namespace braking-dev with optional values files / --set pairs."""

    def rendered(*values_files: str, sets: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        args = ["workbenches", "--namespace", NAMESPACE]
        for name in values_files:
            args += ["--values", str(VALUES / name)]
        for pair in sets:
            args += ["--set", pair]
        return load_documents(k8s_tools.helm_template(chart, *args))

    return rendered
