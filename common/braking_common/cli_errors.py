"""How every `braking` command reports bad input: one red line on stderr, a non-zero exit."""

from __future__ import annotations

import typer

USAGE_ERROR = 2  # bad flags or settings: the user can fix the command line
RUN_ERROR = 1  # the command was valid but the work failed


def fail(message: str, code: int = USAGE_ERROR) -> typer.Exit:
    """Print `Error: message` to stderr and return the `typer.Exit` for the caller to raise."""
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)
