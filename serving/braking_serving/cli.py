"""Commands of the inference server: `braking serve` and `braking predict`."""

from __future__ import annotations

from pathlib import Path

import typer

from braking_data.contract import MODEL_NAME


def _read_token(token_file: Path | None) -> str | None:
    return token_file.read_text().strip() if token_file else None


def serve(
    model_dir: list[Path] = typer.Option(
        [], "--model-dir", help="folder written by `braking train` (holds model.onnx); repeatable"
    ),
    name: list[str] = typer.Option(
        [], "--name", help="model name for each --model-dir (the InferenceService name)"
    ),
    model_repository: Path | None = typer.Option(
        None,
        help="OVMS-style repository <dir>/<name>/<version>/model.onnx to serve",
        envvar="BRAKING_SERVING_MODEL_REPOSITORY",
    ),
    host: str = typer.Option("127.0.0.1", help="interface to bind", envvar="BRAKING_SERVING_HOST"),
    port: int = typer.Option(8081, help="TCP port (0 = any free)", envvar="BRAKING_SERVING_PORT"),
    workers: int = typer.Option(1, help="server processes", envvar="BRAKING_SERVING_WORKERS"),
    token_file: Path | None = typer.Option(
        None,
        help="file holding the bearer token clients must send",
        envvar="BRAKING_SERVING_TOKEN_FILE",
    ),
    max_body_bytes: int = typer.Option(
        8 * 1024 * 1024,
        help="largest accepted request body",
        envvar="BRAKING_SERVING_MAX_BODY_BYTES",
    ),
    metrics: bool = typer.Option(True, help="serve Prometheus metrics at /metrics"),
) -> None:
    """Serve ONNX models over the Open Inference Protocol (KServe V2 REST)."""
    from braking_serving.config import ServerConfig
    from braking_serving.repository import ModelLoadError
    from braking_serving.runner import PortInUseError, run_server

    names = name or ([MODEL_NAME] if len(model_dir) == 1 else [])
    if len(names) != len(model_dir):
        raise typer.BadParameter("give one --name per --model-dir", param_hint="--name")
    if not model_dir and model_repository is None:
        raise typer.BadParameter("give --model-dir or --model-repository")
    try:
        config = ServerConfig(
            host=host,
            port=port,
            workers=workers,
            models=dict(zip(names, model_dir, strict=True)),
            model_repository=model_repository,
            token=_read_token(token_file),
            max_body_bytes=max_body_bytes,
            metrics=metrics,
        )
        run_server(config, on_ready=lambda url: typer.echo(f"serving on {url}", err=True))
    except (PortInUseError, ValueError, ModelLoadError) as error:
        # One line: onnxruntime's own messages can run over several.
        typer.secho(f"error: {' '.join(str(error).split())}", fg="red", err=True)
        raise typer.Exit(1) from None


def predict(
    url: str | None = typer.Option(
        None,
        help="model URL .../v2/models/<name> (local server or InferenceService) "
        "[default: braking-distance on the embedded stack's server]",
        envvar="BRAKING_PREDICT_URL",
    ),
    features: tuple[float, float, float, float, float, float, float] = typer.Option(
        ...,
        help="other_bottom other_left other_right other_top other_speed your_speed "
        "road_friction (pixels, km/h, friction)",
    ),
    threshold: float = typer.Option(0.5, help="brake hard above this brake amount"),
    token_file: Path | None = typer.Option(
        None, help="file holding the bearer token", envvar="BRAKING_PREDICT_TOKEN_FILE"
    ),
    ca_bundle: Path | None = typer.Option(
        None, help="CA bundle to trust for https", envvar="BRAKING_PREDICT_CA_BUNDLE"
    ),
) -> None:
    """Ask the served model how hard to brake for one sensor reading."""
    from braking_serving.client import InferenceClient, InferenceError
    from braking_stack.config import StackConfig

    url = url or f"{StackConfig().serving_url}/v2/models/{MODEL_NAME}"
    try:
        with InferenceClient(url, token=_read_token(token_file), ca_bundle=ca_bundle) as client:
            amount = float(client.predict(list(features))[0])
    except (InferenceError, ValueError, OSError) as error:
        typer.secho(f"error: {error}", fg="red", err=True)
        raise typer.Exit(1) from None
    decision = "brake hard" if amount > threshold else "no hard braking"
    typer.echo(f"brake amount: {amount:.3f} -> {decision} (threshold {threshold})")


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.command()(serve)
    app.command()(predict)
