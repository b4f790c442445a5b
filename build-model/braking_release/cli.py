"""Commands of the release steps: `braking register` and `braking deploy`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from braking_release.deploy_cli import deploy_app


def register_command(
    model: Annotated[
        Path, typer.Option(help="MODEL_DIR with model.onnx, metrics.json, gate.json.")
    ],
    registry_url: Annotated[
        str | None,
        typer.Option(help="Registry URL, e.g. http://127.0.0.1:8080 or https://<route>:443."),
    ] = None,
    token_file: Annotated[Path | None, typer.Option(help="File with the bearer token.")] = None,
    custom_ca: Annotated[
        Path | None,
        typer.Option(help="PEM CA bundle for the registry's TLS."),
    ] = None,
    model_name: Annotated[
        str | None,
        typer.Option(help="RegisteredModel name."),
    ] = None,
    version_template: Annotated[
        str | None,
        typer.Option(help="Version name template with {n}, {hash8}, {run_id} or {date}."),
    ] = None,
    author: Annotated[str | None, typer.Option(help="Author on the version.")] = None,
    model_uri: Annotated[
        str | None, typer.Option(help="URI to record instead of the derived one.")
    ] = None,
    run_id: Annotated[str | None, typer.Option(help="Pipeline run id to record.")] = None,
    source_revision: Annotated[
        str | None, typer.Option(help="Source revision (git sha) to record.")
    ] = None,
) -> None:
    """Register MODEL_DIR in the model registry and print the ids (idempotent per model bytes).

    Unset options come from `BRAKING_REGISTRATION_*` variables, then the defaults.
    """
    from braking_release.register import RegistrationConfig, RegistrationError, register_model

    overrides: dict[str, Any] = {
        "registry_url": registry_url,
        "token_file": token_file,
        "custom_ca": custom_ca,
        "model_name": model_name,
        "version_template": version_template,
        "author": author,
    }
    try:
        config = RegistrationConfig(**{k: v for k, v in overrides.items() if v is not None})
        result = register_model(
            model, config, run_id=run_id, source_revision=source_revision, model_uri=model_uri
        )
    except (ValueError, RegistrationError) as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(2) from None
    state = "registered" if result.created else "already registered"
    typer.echo(f"{state}: {config.model_name} version {result.version_name}")
    typer.echo(f"registered_model_id={result.registered_model_id}")
    typer.echo(f"model_version_id={result.model_version_id}")
    typer.echo(f"model_artifact_id={result.model_artifact_id}")
    typer.echo(f"uri={result.uri}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.command("register")(register_command)
    app.add_typer(deploy_app, name="deploy")
