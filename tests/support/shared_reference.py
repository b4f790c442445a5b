"""Where the upstream API definitions live: $BRAKING_SHARED_REFERENCE or ../shared/reference."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_reference_dir() -> Path:
    """Upstream API definitions: $BRAKING_SHARED_REFERENCE or ../shared/reference."""
    configured = os.environ.get("BRAKING_SHARED_REFERENCE")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "reference"
