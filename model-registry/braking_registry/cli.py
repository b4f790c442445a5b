"""`braking registry serve`: the embedded Model Registry's command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

ENV = "BRAKING_REGISTRY_"

registry_app = typer.Typer(
    name="registry",
    help="The embedded Kubeflow Model Registry (same REST API as OpenShift AI's).",
    no_args_is_help=True,
)


@registry_app.callback()
def registry_group() -> None:
    """The embedded Kubeflow Model Registry (same REST API as OpenShift AI's)."""
    # A callback keeps `serve` a subcommand when this app runs alone (`python -m
    # braking_registry serve`); without one, Typer would collapse a one-command app.


@registry_app.command("serve")
def serve(
    host: Annotated[
        str,
        typer.Option(
            help="Interface to bind (keep loopback unless you mean it).", envvar=f"{ENV}HOST"
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.", envvar=f"{ENV}PORT")] = 8080,
    db: Annotated[
        Path, typer.Option(help="SQLite database file, created if absent.", envvar=f"{ENV}DB")
    ] = Path(".braking/registry/registry.db"),
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="File with the bearer token clients must send.", envvar=f"{ENV}TOKEN_FILE"
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve /api/model_registry/v1alpha3 from a SQLite file until interrupted."""
    import uvicorn

    from braking_registry.config import ServerSettings
    from braking_registry.server import create_app

    try:
        settings = ServerSettings(host=host, port=port, db=db, token_file=token_file)
        token = settings.token()
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
    app = create_app(settings.db, token=token)
    auth = "bearer token required" if token else "no auth"
    typer.echo(
        f"model registry on http://{settings.host}:{settings.port} ({auth}, db {settings.db})"
    )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level=log_level)  # fmt: skip


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.add_typer(registry_app)
