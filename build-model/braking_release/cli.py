"""Commands of the release steps: `braking register` and `braking deploy`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from braking_common.cli_flags import given
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
    storage: Annotated[
        str | None,
        typer.Option(help="file (record the folder) or s3 (upload to the AWS_* data connection)."),
    ] = None,
    storage_key: Annotated[
        str | None, typer.Option(help="Data connection Secret name (s3).")
    ] = None,
    model_uri: Annotated[
        str | None, typer.Option(help="URI to record instead of the folder (file storage).")
    ] = None,
    allow_failed_gate: Annotated[
        bool,
        typer.Option(
            "--allow-failed-gate",
            help="Register without a passed gate.json (recorded on the version).",
        ),
    ] = False,
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
        "storage": storage,
        "storage_key": storage_key,
    }
    try:
        config = RegistrationConfig(**given(**overrides))
        result = register_model(
            model,
            config,
            run_id=run_id,
            source_revision=source_revision,
            model_uri=model_uri,
            allow_failed_gate=allow_failed_gate,
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
    if result.storage_path:
        typer.echo(f"storage_key={result.storage_key}")
        typer.echo(f"storage_path={result.storage_path}")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.command("register")(register_command)
    app.add_typer(deploy_app, name="deploy")
    from braking_registry.cli import registry_app
    from braking_release.registry_cli import show_command

    registry_app.command("show")(show_command)
