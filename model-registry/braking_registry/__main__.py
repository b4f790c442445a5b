"""`python -m braking_registry serve ...`: the registry's own entry point (the stack uses it)."""

from braking_registry.cli import registry_app

if __name__ == "__main__":
    registry_app(prog_name="python -m braking_registry")
