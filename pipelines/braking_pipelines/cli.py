"""`braking pipeline run | compile | submit | schedule`: the KFP pipeline's commands."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from braking_common.cli_errors import fail
from braking_pipelines import cli_dspa  # noqa: F401  (adds `submit` and `schedule`)
from braking_pipelines.cli_options import (
    PIPELINE_ENV,
    ConfigFile,
    Image,
    Params,
    Rows,
    Seed,
    Sets,
    Shards,
    load_pipeline_config,
    pipeline_app,
    run_arguments,
)

if TYPE_CHECKING:
    from braking_pipelines.local import LocalRunSummary


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
        bool,
        typer.Option(
            "--local", hidden=True, help="Accepted for compatibility: runs are always local."
        ),
    ] = True,
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
            "BRAKING_STACK_* settings). --no-stack keeps -p registry_url as given."
        ),
    ] = True,
    require_release: Annotated[
        bool,
        typer.Option(
            help="Exit 3 when the quality gate rejects the model (nothing registered or "
            "deployed), for scripts that go on to use the deployed model (a kept champion "
            "keeps serving).",
            envvar=f"{PIPELINE_ENV}REQUIRE_RELEASE",
        ),
    ] = False,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show every step's own output too.")
    ] = False,
    config_file: ConfigFile = None,
) -> None:
    """Run the whole pipeline on this machine (kfp.local) against the embedded registry and
    server; for an OpenShift AI pipeline server use `submit`."""
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
    if require_release and summary.decision is None:
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
    if summary.decision:
        table.add_row("champion", f"{summary.decision}: {'; '.join(summary.decision_reasons)}")
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
    app.add_typer(pipeline_app, name="pipeline")
