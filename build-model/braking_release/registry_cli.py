"""`braking registry show`: every version of the model, its verdict, where it serves, lineage."""

from __future__ import annotations

from typing import Annotated

import typer

from braking_release.cli import ENV, _split_url


def show_command(
    model_name: Annotated[
        str | None,
        typer.Option(help="RegisteredModel name.", envvar=f"{ENV}MODEL_NAME"),
    ] = None,
    registry_url: Annotated[
        str | None,
        typer.Option(help="Registry URL, e.g. http://127.0.0.1:8080.", envvar=f"{ENV}URL"),
    ] = None,
) -> None:
    """Print every version: gate verdict, metrics, where it serves (live marked), lineage."""
    from braking_release.register import RegistrationConfig, RegistrationError
    from braking_release.registry_report import format_report, model_report

    # Token file, CA and TLS come from the same BRAKING_REGISTRY_* settings as `register`.
    overrides = {**_split_url(registry_url, None), "model_name": model_name}
    try:
        config = RegistrationConfig(**{k: v for k, v in overrides.items() if v is not None})
        versions = model_report(config)
    except (ValueError, RegistrationError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_report(config.model_name, versions))
