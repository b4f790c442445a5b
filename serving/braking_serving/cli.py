"""Commands of the inference server: `braking serve` and `braking predict`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from braking_common.cli_flags import given
from braking_common.credentials import optional_token
from braking_data.contract import MODEL_NAME


def serve(
    model_dir: Annotated[
        list[Path] | None,
        typer.Option(
            "--model-dir", help="Folder written by `braking train` (holds model.onnx); repeatable."
        ),
    ] = None,
    name: Annotated[
        list[str] | None,
        typer.Option("--name", help="Model name for each --model-dir (the InferenceService name)."),
    ] = None,
    model_repository: Annotated[
        Path | None,
        typer.Option(help="OVMS-style repository <dir>/<name>/<version>/model.onnx to serve."),
    ] = None,
    host: Annotated[str | None, typer.Option(help="Interface to bind.")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (0 = any free port).")] = None,
    workers: Annotated[int | None, typer.Option(help="Server processes sharing the port.")] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="File holding the bearer token clients must send.",
            envvar="BRAKING_SERVING_TOKEN_FILE",
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None, typer.Option(help="Largest accepted request body.")
    ] = None,
    max_inflight_body_bytes: Annotated[
        int | None, typer.Option(help="Request bytes held at once over all connections.")
    ] = None,
    max_rows_per_call: Annotated[
        int | None,
        typer.Option(help="Most rows per inference call: larger requests get 413; caps batches."),
    ] = None,
    batching: Annotated[
        bool | None,
        typer.Option("--batching/--no-batching", help="Batch concurrent requests per model."),
    ] = None,
    batch_max_wait_ms: Annotated[
        float | None, typer.Option(help="Longest a batch waits for more requests (0 = none).")
    ] = None,
    metrics: Annotated[
        bool | None, typer.Option("--metrics/--no-metrics", help="Serve Prometheus /metrics.")
    ] = None,
    engine: Annotated[
        str | None,
        typer.Option(
            help="What runs the models: onnxruntime (default), or openvino (f32, as OVMS does)."
        ),
    ] = None,
) -> None:
    """Serve ONNX models over the Open Inference Protocol (KServe V2 REST)."""
    from braking_serving.config import ServerConfig
    from braking_serving.engines import ENGINES
    from braking_serving.repository import ModelLoadError
    from braking_serving.runner import PortInUseError, run_server

    model_dir = model_dir or []
    names = name or ([MODEL_NAME] if len(model_dir) == 1 else [])
    if len(names) != len(model_dir):
        raise typer.BadParameter("give one --name per --model-dir", param_hint="--name")
    if not model_dir and model_repository is None:
        raise typer.BadParameter("give --model-dir or --model-repository")
    if engine is not None and engine not in ENGINES:
        raise typer.BadParameter(
            f"{engine!r} is not an engine; expected one of {', '.join(ENGINES)}",
            param_hint="--engine",
        )
    try:
        flags: dict[str, Any] = {
            "host": host,
            "port": port,
            "workers": workers,
            "model_repository": model_repository,
            "token": optional_token(token_file),
            "max_body_bytes": max_body_bytes,
            "max_inflight_body_bytes": max_inflight_body_bytes,
            "max_rows_per_call": max_rows_per_call,
            "batching": batching,
            "batch_max_wait_ms": batch_max_wait_ms,
            "metrics": metrics,
            "engine": engine,
        }
        config = ServerConfig(
            models=dict(zip(names, model_dir, strict=True)),
            **given(**flags),
        )
        run_server(config, on_ready=lambda url: typer.echo(f"serving on {url}", err=True))
    except (PortInUseError, ValueError, ModelLoadError) as error:
        # One line: onnxruntime's own messages can run over several.
        typer.secho(f"error: {' '.join(str(error).split())}", fg="red", err=True)
        raise typer.Exit(1) from None


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.command()(serve)
