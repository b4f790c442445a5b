"""`python -m braking_registry ...`: the registry's own entry point (the stack uses it)."""

import typer

from braking_registry.cli import serve

if __name__ == "__main__":
    typer.run(serve)
