"""`braking stack up|status|down`: the embedded stack's commands."""

from __future__ import annotations

from pathlib import Path

import typer

stack_app = typer.Typer(help="The embedded stack: model registry + inference server.")


def _read_token(token_file: Path | None) -> str | None:
    return token_file.read_text().strip() if token_file else None


def _given(**options: object) -> dict:
    """Only the options given on the command line: the rest come from env vars / defaults."""
    return {key: value for key, value in options.items() if value not in (None, ())}


def _stack_config(**options: object):
    from braking_stack.config import StackConfig

    return StackConfig(**_given(**options))


DirOption = typer.Option(None, "--dir", help="state dir [env BRAKING_STACK_DIR; ./.braking-stack]")
ServiceOption = typer.Option(
    (),
    "--service",
    help="only this service (registry, serving, monitoring); repeatable "
    "[default: registry and serving; env BRAKING_STACK_SERVICES]",
)


@stack_app.command("up")
def stack_up_command(
    state_dir: Path | None = DirOption,
    host: str | None = typer.Option(None, help="interface [env BRAKING_STACK_HOST; 127.0.0.1]"),
    registry_port: int | None = typer.Option(
        None, help="registry port [env BRAKING_STACK_REGISTRY_PORT; 8080]"
    ),
    serving_port: int | None = typer.Option(
        None, help="inference server port [env BRAKING_STACK_SERVING_PORT; 8081]"
    ),
    workers: int | None = typer.Option(
        None, help="inference server processes [env BRAKING_STACK_SERVING_WORKERS; 1]"
    ),
    token_file: Path | None = typer.Option(
        None, help="bearer token both servers require [env BRAKING_STACK_TOKEN holds the token]"
    ),
    service: list[str] = ServiceOption,
) -> None:
    """Start the model registry and the inference server in the background (idempotent)."""
    from braking_stack.stack import StackError, stack_up

    config = _stack_config(
        dir=state_dir,
        host=host,
        registry_port=registry_port,
        serving_port=serving_port,
        serving_workers=workers,
        token=_read_token(token_file),
        services=tuple(service),
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
def stack_status_command(
    state_dir: Path | None = DirOption, service: list[str] = ServiceOption
) -> None:
    """Show each service's URL, pid and health; exit 1 unless all are healthy."""
    from braking_stack.stack import stack_status

    status = stack_status(_stack_config(dir=state_dir, services=tuple(service)))
    _print_status(status)
    if not status.healthy:
        raise typer.Exit(1)


@stack_app.command("down")
def stack_down_command(
    state_dir: Path | None = DirOption, service: list[str] = ServiceOption
) -> None:
    """Stop the stack's services (data and logs stay in the state dir)."""
    from braking_stack.stack import stack_down

    stopped = stack_down(_stack_config(dir=state_dir, services=tuple(service)))
    typer.echo(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.add_typer(stack_app, name="stack")
