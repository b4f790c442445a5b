"""`python -m braking_serving ...`: the inference server's own entry point (the stack uses it)."""

import typer

from braking_serving.cli import serve

if __name__ == "__main__":
    typer.run(serve)
