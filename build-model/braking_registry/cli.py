"""Commands of this stage for the `braking` CLI."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
