"""`braking stack up|status|down` and `braking predict` (by default against the stack's server)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from braking_common.cli_flags import given
from braking_common.credentials import optional_token
from braking_data.contract import MODEL_NAME

stack_app = typer.Typer(
    help="The embedded stack: model registry + inference server. Unset options come from "
    "BRAKING_STACK_* variables, then the defaults."
)


def _stack_config(**options: object):
    from braking_stack.config import StackConfig

    return StackConfig(**given(**options))


StateDir = Annotated[
    Path | None,
    typer.Option("--dir", help="State folder: pid files, logs, registry db, models."),
]
Services = Annotated[
    list[str] | None,
    typer.Option(
        "--service",
        help="Only this service (registry, serving, monitoring); repeatable. Default: registry "
        "and serving (env BRAKING_STACK_SERVICES); with monitoring the server logs to it.",
    ),
]


@stack_app.command("up")
def stack_up_command(
    state_dir: StateDir = None,
    host: Annotated[str | None, typer.Option(help="Interface both servers bind.")] = None,
    registry_port: Annotated[int | None, typer.Option(help="Model registry port.")] = None,
    serving_port: Annotated[int | None, typer.Option(help="Inference server port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Inference server processes.")] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(help="File with the bearer token both servers require."),
    ] = None,
    service: Services = None,
) -> None:
    """Start the model registry and the inference server in the background (idempotent)."""
    from braking_stack.stack import StackError, stack_up

    config = _stack_config(
        dir=state_dir,
        host=host,
        registry_port=registry_port,
        serving_port=serving_port,
        serving_workers=workers,
        token=optional_token(token_file),
        services=tuple(service or ()),
    )
    try:
        status = stack_up(config)
    except StackError as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    _print_status(status)


def _print_status(status) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table("service", "url", "pid", "state", "log", title=f"stack in {status.state_dir}")
    for item in status.services.values():
        state = "[green]healthy" if item.healthy else "[red]down"
        table.add_row(item.name, item.url, str(item.pid or "-"), state, str(item.log))
    Console().print(table)
    Console().print(f"model repository: {status.model_repository}")


@stack_app.command("status")
def stack_status_command(state_dir: StateDir = None, service: Services = None) -> None:
    """Show each service's URL, pid and health; exit 1 unless all are healthy."""
    from braking_stack.stack import stack_status

    status = stack_status(_stack_config(dir=state_dir, services=tuple(service or ())))
    _print_status(status)
    if not status.healthy:
        raise typer.Exit(1)


@stack_app.command("down")
def stack_down_command(state_dir: StateDir = None, service: Services = None) -> None:
    """Stop the stack's services (data and logs stay in the state dir)."""
    from braking_stack.stack import stack_down

    stopped = stack_down(_stack_config(dir=state_dir, services=tuple(service or ())))
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def predict(
    features: Annotated[
        tuple[float, float, float, float, float, float, float],
        typer.Option(
            help="other_bottom other_left other_right other_top other_speed your_speed "
            "road_friction (pixels, km/h, friction)."
        ),
    ],
    url: Annotated[
        str | None,
        typer.Option(
            help="Model URL .../v2/models/<name> (local server or InferenceService) "
            "[default: braking-distance on the embedded stack's server].",
            envvar="BRAKING_PREDICT_URL",
        ),
    ] = None,
    threshold: Annotated[float, typer.Option(help="Brake hard above this brake amount.")] = 0.5,
    token_file: Annotated[
        Path | None,
        typer.Option(help="File holding the bearer token.", envvar="BRAKING_PREDICT_TOKEN_FILE"),
    ] = None,
    ca_bundle: Annotated[
        Path | None,
        typer.Option(help="CA bundle to trust for https.", envvar="BRAKING_PREDICT_CA_BUNDLE"),
    ] = None,
) -> None:
    """Ask the served model how hard to brake for one sensor reading."""
    from braking_serving.client import InferenceClient, InferenceError
    from braking_stack.config import StackConfig

    url = url or f"{StackConfig().serving_url}/v2/models/{MODEL_NAME}"
    try:
        with InferenceClient(url, token=optional_token(token_file), ca_bundle=ca_bundle) as client:
            amount = float(client.predict(list(features))[0])
    except (InferenceError, ValueError, OSError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    decision = "brake hard" if amount > threshold else "no hard braking"
    typer.echo(f"brake amount: {amount:.3f} -> {decision} (threshold {threshold})")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.add_typer(stack_app, name="stack")
    app.command()(predict)
