"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_reference_dir() -> Path:
    """Upstream API definitions: $BRAKING_SHARED_REFERENCE or ../shared/reference."""
    configured = os.environ.get("BRAKING_SHARED_REFERENCE")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """The upstream OpenAPI specs and CRDs; tests needing them skip when absent."""
    path = shared_reference_dir()
    if not path.is_dir():
        pytest.skip(
            f"upstream reference folder {path} is absent: clone the steering repo's shared/ "
            "beside this repo or set BRAKING_SHARED_REFERENCE"
        )
    return path
