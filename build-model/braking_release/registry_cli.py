"""`braking registry show`: every version of the model, its verdict, where it serves, lineage."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from braking_common.cli_flags import given


def show_command(
    model_name: Annotated[str | None, typer.Option(help="RegisteredModel name.")] = None,
    registry_url: Annotated[
        str | None, typer.Option(help="Registry URL, e.g. http://127.0.0.1:8080.")
    ] = None,
) -> None:
    """Print every version: gate verdict, metrics, where it serves (live marked), lineage.

    Unset options, the token and the CA come from `BRAKING_REGISTRATION_*` variables.
    """
    from braking_release.register import RegistrationConfig, RegistrationError
    from braking_release.registry_report import format_report, model_report

    overrides: dict[str, Any] = {"registry_url": registry_url, "model_name": model_name}
    try:
        config = RegistrationConfig(**given(**overrides))
        versions = model_report(config)
    except (ValueError, RegistrationError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    typer.echo(format_report(config.model_name, versions))
