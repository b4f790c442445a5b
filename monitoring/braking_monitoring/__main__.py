"""`python -m braking_monitoring ...`: the collector's own entry point (the stack uses it)."""

import typer

from braking_monitoring.cli import serve

if __name__ == "__main__":
    typer.run(serve)
