"""`braking pipeline run --local | compile | submit | schedule`: the KFP pipeline's commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from braking_pipelines.config import PipelineConfig
    from braking_pipelines.local import LocalRunSummary

PIPELINE_ENV = "BRAKING_PIPELINE_"

pipeline_app = typer.Typer(
    help="Kubeflow Pipelines v2: run the braking pipeline locally (kfp.local), compile it, "
    "submit it or schedule it on an OpenShift AI pipeline server (DSPA).",
    no_args_is_help=True,
)

ConfigFile = Annotated[
    Path | None,
    typer.Option(
        "--config",
        help="YAML file with PipelineConfig fields (image, defaults, resources, secrets).",
        envvar=f"{PIPELINE_ENV}CONFIG",
        exists=True,
        dir_okay=False,
    ),
]
Image = Annotated[
    str | None,
    typer.Option(
        help="Container image of every step (default: the pinned project image).",
        envvar=f"{PIPELINE_ENV}BASE_IMAGE",
    ),
]
Sets = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        help="PipelineConfig field FIELD=VALUE (YAML value, repeatable), over --config and env: "
        "--set kfp_backend=2.5, --set pods.node_selector='{node-role.kubernetes.io/ml: \"\"}', "
        "--set pods.timeouts.tune_shard=3600.",
    ),
]
Params = Annotated[
    list[str] | None,
    typer.Option(
        "--param",
        "-p",
        help="Run argument NAME=VALUE (repeatable), e.g. -p gate_thresholds='{max_mae: 0.05}'.",
    ),
]
Rows = Annotated[int | None, typer.Option(help="Rows of sensor data (data_rows).")]
Seed = Annotated[int | None, typer.Option(help="Seed of data, split and search (seed).")]
Shards = Annotated[
    int | None, typer.Option(help="Search-space shards, one task each (tuning_shards).")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def load_pipeline_config(
    config_file: Path | None, sets: list[str] | None = None, **overrides: Any
) -> PipelineConfig:
    from pydantic import ValidationError

    from braking_pipelines.config import PipelineConfig

    try:
        return PipelineConfig.from_yaml(config_file, sets, **overrides)
    except (ValidationError, ValueError) as exc:
        raise fail(f"pipeline config: {exc}") from exc


def run_arguments(config: PipelineConfig, params: list[str] | None, **named: Any) -> dict[str, Any]:
    from braking_pipelines.pipeline import build_pipeline, parse_arguments

    try:
        arguments = parse_arguments(build_pipeline(config), list(params or []))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    return {**arguments, **{name: value for name, value in named.items() if value is not None}}


@pipeline_app.command("compile")
def compile_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="IR YAML file to write.")] = Path(
        "outputs/pipeline/braking-distance.yaml"
    ),
    config_file: ConfigFile = None,
    image: Image = None,
    sets: Sets = None,
) -> None:
    """Compile the pipeline to KFP IR YAML (same config -> byte-identical file)."""
    from braking_pipelines.pipeline import compile_pipeline

    config = load_pipeline_config(config_file, sets, base_image=image)
    compile_pipeline(config, output)
    typer.echo(f"Compiled pipeline {config.name!r} (image {config.base_image}) to {output}")


@pipeline_app.command("run")
def run_command(
    local_run: Annotated[
        bool, typer.Option("--local", help="Run every step here with kfp.local.")
    ] = False,
    rows: Rows = None,
    seed: Seed = None,
    shards: Shards = None,
    params: Params = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            help="Local artifact root (default outputs/pipeline-root).",
            envvar=f"{PIPELINE_ENV}LOCAL_ROOT",
        ),
    ] = None,
    stack: Annotated[
        bool,
        typer.Option(
            help="Use the embedded registry + inference server (started if not running; "
            "BRAKING_STACK_* settings). --no-stack keeps -p registry_address/port as given."
        ),
    ] = True,
    require_release: Annotated[
        bool,
        typer.Option(
            help="Exit 3 when the quality gate rejects the model (nothing registered or "
            "deployed), for scripts that go on to use the deployed model.",
            envvar=f"{PIPELINE_ENV}REQUIRE_RELEASE",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every step's own output too.")
    ] = False,
    config_file: ConfigFile = None,
) -> None:
    """Run the whole pipeline on this machine against the embedded registry and server."""
    if not local_run:
        raise fail("`run` executes on kfp.local: pass --local (for a DSPA use `submit`)")
    from braking_pipelines.local import run_local

    config = load_pipeline_config(config_file, local_root=output_dir)
    arguments = run_arguments(config, params, data_rows=rows, seed=seed, tuning_shards=shards)
    log_file = None if verbose else config.local_root / "last-run.log"
    try:
        summary = run_local(config, arguments, log_file=log_file, use_stack=stack)
    except RuntimeError as exc:
        hint = f"; the steps' output is in {log_file}" if log_file else ""
        raise fail(f"local pipeline run failed: {exc}{hint}", code=1) from exc
    _print_summary(summary)
    if require_release and summary.endpoint_url is None:
        raise fail(
            "the quality gate rejected the model, so nothing was registered or deployed "
            "(reasons above; loosen with -p gate_thresholds='{...}' or train on more rows)",
            code=3,
        )


def _print_summary(summary: LocalRunSummary) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Pipeline run in {summary.seconds:.1f} s", show_header=False)
    for name, value in summary.model_metrics.items():
        table.add_row(name, f"{value:.4g}" if isinstance(value, float) else str(value))
    verdict = {True: "[green]passed[/]", False: "[red]failed[/]", None: "not run"}
    table.add_row("quality gate", verdict[summary.gate_passed])
    for reason in summary.gate_reasons:
        table.add_row("", reason)
    if summary.registered:
        table.add_row("registered", _describe(summary.registered))
    if summary.endpoint_url:
        table.add_row("endpoint", summary.endpoint_url)
    if summary.smoke_prediction is not None:
        table.add_row("smoke inference", f"brake_amount = {summary.smoke_prediction:.3f}")
    console = Console()
    console.print(table)
    console.print(f"Model:     {summary.model_dir}", soft_wrap=True)
    console.print(f"Artifacts: {summary.run_dir}", soft_wrap=True)


def _describe(registered: dict[str, Any]) -> str:
    keys = ("version_name", "model_version_id", "uri")
    return ", ".join(f"{key}={registered[key]}" for key in keys if key in registered)


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    from braking_pipelines import cli_dspa  # noqa: F401 (adds `submit` and `schedule`)

    app.add_typer(pipeline_app, name="pipeline")
