"""Collector commands, mounted under `braking monitor` by braking_feedback's CLI:
`serve` (the collector), `status` (windows and alarms), `report` (Markdown/HTML drift report).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from braking_common.cli_flags import given
from braking_common.defaults import MONITORING_URL


def serve(
    host: Annotated[str | None, typer.Option(help="interface [env BRAKING_MONITOR_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port [env BRAKING_MONITOR_PORT; 8083]")] = None,
    store: Annotated[
        str | None,
        typer.Option(
            help="inference log: folder or s3://bucket/prefix [env BRAKING_MONITOR_STORE]"
        ),
    ] = None,
    window_rows: Annotated[
        int | None, typer.Option(help="rows per drift window [default: the profile's, 1000]")
    ] = None,
) -> None:
    """Collect inference CloudEvents (KServe logger format), compute drift windows and alarms,
    and answer the TrustyAI REST subset."""
    import uvicorn
    from pydantic import ValidationError

    from braking_monitoring.app import build_app
    from braking_monitoring.config import CollectorConfig

    try:
        config = CollectorConfig(
            **given(host=host, port=port, store=store, window_rows=window_rows)
        )
    except ValidationError as error:
        first = error.errors()[0]
        typer.secho(f"error: {first['loc'][0]}: {first['msg']}", fg="red", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"collector on http://{config.host}:{config.port}, log in {config.store}", err=True)
    uvicorn.run(build_app(config), host=config.host, port=config.port, log_level="warning")


def status(
    url: Annotated[
        str, typer.Option(help="collector URL", envvar="BRAKING_MONITOR_URL")
    ] = MONITORING_URL,
) -> None:
    """Print each served version's windows, labelled windows and alarms."""
    from braking_monitoring.report import fetch_status, status_lines

    try:
        typer.echo("\n".join(status_lines(fetch_status(url))))
    except OSError as error:
        typer.secho(f"error: no collector answers at {url} ({error})", fg="red", err=True)
        raise typer.Exit(1) from None


def report(
    output_dir: Annotated[Path, typer.Option(help="where report.md, report.html, plots go")] = Path(
        "outputs/monitoring-report"
    ),
    url: Annotated[
        str, typer.Option(help="collector URL", envvar="BRAKING_MONITOR_URL")
    ] = MONITORING_URL,
    model: Annotated[str | None, typer.Option(help="model name [default: the first]")] = None,
) -> None:
    """Write the drift report: reference vs current per column, statistics vs thresholds."""
    from braking_monitoring.report import fetch_status, write_report

    try:
        status_document = fetch_status(url)
        path = write_report(status_document, output_dir, model=model, collector_url=url)
    except (OSError, ValueError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"report: {path}")


def add_commands(group: typer.Typer) -> None:
    """Add the collector's commands to the `braking monitor` group."""
    group.command("serve")(serve)
    group.command("status")(status)
    group.command("report")(report)
