"""`braking registry serve`: the embedded Model Registry's command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from braking_common.cli_flags import given

registry_app = typer.Typer(
    name="registry",
    help="The embedded Kubeflow Model Registry (same REST API as OpenShift AI's).",
    no_args_is_help=True,
)


@registry_app.command("serve")
def serve(
    host: Annotated[
        str | None, typer.Option(help="Interface to bind (keep loopback unless you mean it).")
    ] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (0 = any free port).")] = None,
    db: Annotated[
        Path | None, typer.Option(help="SQLite database file, created if absent.")
    ] = None,
    token_file: Annotated[
        Path | None, typer.Option(help="File with the bearer token clients must send.")
    ] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "info",
) -> None:
    """Serve /api/model_registry/v1alpha3 from a SQLite file until interrupted.

    Unset options come from `BRAKING_REGISTRY_*` variables, then from the defaults.
    """
    import uvicorn
    from pydantic import ValidationError

    from braking_common.http_limits import HttpLimits, limited_config
    from braking_registry.config import ServerSettings
    from braking_registry.server import create_app

    flags: dict[str, Any] = {"host": host, "port": port, "db": db, "token_file": token_file}
    try:
        settings = ServerSettings(**given(**flags))
        token = settings.token()
    except (ValidationError, ValueError) as error:
        raise typer.BadParameter(str(error)) from None
    app = create_app(settings.db, token=token)
    auth = "bearer token required" if token else "no auth"
    typer.echo(
        f"model registry on http://{settings.host}:{settings.port} ({auth}, db {settings.db})"
    )
    # Header size/count limits and read deadlines (BRAKING_HTTP_*), enforced before auth.
    limits = HttpLimits()
    config = limited_config(
        app, limits, host=settings.host, port=settings.port, log_level=log_level
    )
    uvicorn.Server(config).run()


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.add_typer(registry_app)
