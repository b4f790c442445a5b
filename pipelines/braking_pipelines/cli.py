"""`braking pipeline run --local | compile | submit | schedule`: the KFP pipeline's commands."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from braking_pipelines.config import DspaConfig, PipelineConfig
    from braking_pipelines.local import LocalRunSummary

PIPELINE_ENV = "BRAKING_PIPELINE_"
DSPA_ENV = "BRAKING_DSPA_"

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
Host = Annotated[
    str | None,
    typer.Option(
        help="KFP API URL of the DSPA (https://ds-pipeline-dspa-<ns>.apps...).",
        envvar=f"{DSPA_ENV}HOST",
    ),
]
Token = Annotated[
    str | None,
    typer.Option(
        help="Bearer token (e.g. `oc whoami -t`); prefer --token-file or the env var.",
        envvar=f"{DSPA_ENV}TOKEN",
        show_default=False,
    ),
]
TokenFile = Annotated[
    Path | None,
    typer.Option(
        help="File holding the token (default: the pod's service-account token).",
        envvar=f"{DSPA_ENV}TOKEN_FILE",
    ),
]
Namespace = Annotated[
    str | None,
    typer.Option(help="Project (namespace) of the DSPA.", envvar=f"{DSPA_ENV}NAMESPACE"),
]
CaBundle = Annotated[
    Path | None,
    typer.Option(
        help="CA bundle that signs the DSPA's TLS certificate.", envvar=f"{DSPA_ENV}CA_BUNDLE"
    ),
]
Experiment = Annotated[
    str | None,
    typer.Option(
        help="Experiment that holds the runs (created if missing).", envvar=f"{DSPA_ENV}EXPERIMENT"
    ),
]


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def _pipeline_config(config_file: Path | None, **overrides: Any) -> PipelineConfig:
    from pydantic import ValidationError

    from braking_pipelines.config import PipelineConfig

    try:
        return PipelineConfig.from_yaml(config_file, **overrides)
    except (ValidationError, ValueError) as exc:
        raise _fail(f"pipeline config: {exc}") from exc


def _dspa_config(**overrides: Any) -> DspaConfig:
    from pydantic import ValidationError

    from braking_pipelines.config import DspaConfig

    try:
        return DspaConfig(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise _fail(f"DSPA settings: {exc}") from exc


def _arguments(config: PipelineConfig, params: list[str] | None, **named: Any) -> dict[str, Any]:
    from braking_pipelines.pipeline import build_pipeline, parse_arguments

    try:
        arguments = parse_arguments(build_pipeline(config), list(params or []))
    except ValueError as exc:
        raise _fail(str(exc)) from exc
    return {**arguments, **{name: value for name, value in named.items() if value is not None}}


@pipeline_app.command("compile")
def compile_command(
    output: Annotated[Path, typer.Option("--output", "-o", help="IR YAML file to write.")] = Path(
        "outputs/pipeline/braking-distance.yaml"
    ),
    config_file: ConfigFile = None,
    image: Image = None,
) -> None:
    """Compile the pipeline to KFP IR YAML (same config -> byte-identical file)."""
    from braking_pipelines.pipeline import compile_pipeline

    config = _pipeline_config(config_file, base_image=image)
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
    config_file: ConfigFile = None,
) -> None:
    """Run the whole pipeline on this machine against the embedded registry and server."""
    if not local_run:
        raise _fail("`run` executes on kfp.local: pass --local (for a DSPA use `submit`)")
    from braking_pipelines.local import run_local

    config = _pipeline_config(config_file, local_root=output_dir)
    arguments = _arguments(config, params, data_rows=rows, seed=seed, tuning_shards=shards)
    try:
        summary = run_local(config, arguments)
    except RuntimeError as exc:
        raise _fail(f"local pipeline run failed: {exc}", code=1) from exc
    _print_summary(summary)


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
    table.add_row("model", str(summary.model_dir))
    if summary.registered:
        table.add_row("registered", _describe(summary.registered))
    if summary.endpoint_url:
        table.add_row("endpoint", summary.endpoint_url)
    if summary.smoke_prediction is not None:
        table.add_row("smoke inference", f"brake_amount = {summary.smoke_prediction:.3f}")
    table.add_row("artifacts", str(summary.run_dir))
    Console().print(table)


def _describe(registered: dict[str, Any]) -> str:
    keys = ("version_name", "model_version_id", "uri")
    return ", ".join(f"{key}={registered[key]}" for key in keys if key in registered)


def _remote_settings(
    config_file, image, host, token, token_file, namespace, ca_bundle, experiment
) -> tuple[PipelineConfig, DspaConfig]:
    config = _pipeline_config(config_file, base_image=image)
    dspa = _dspa_config(
        host=host,
        token=token,
        token_file=token_file,
        namespace=namespace,
        ca_bundle=ca_bundle,
        experiment=experiment,
    )
    return config, dspa


@contextlib.contextmanager
def _package(config: PipelineConfig, given: Path | None) -> Iterator[Path]:
    """The package to upload: the given file, or the pipeline compiled to a temp file."""
    if given is not None:
        yield given
        return
    from braking_pipelines.pipeline import compile_pipeline

    with tempfile.TemporaryDirectory(prefix="braking-pipeline-") as folder:
        yield compile_pipeline(config, Path(folder) / f"{config.name}.yaml")


Package = Annotated[
    Path | None,
    typer.Option(
        help="Compiled pipeline YAML to upload (default: compile the pipeline now).",
        exists=True,
        dir_okay=False,
    ),
]


@pipeline_app.command("submit")
def submit_command(
    run_name: Annotated[
        str | None, typer.Option(help="Run name (default: name + UTC time).")
    ] = None,
    rows: Rows = None,
    seed: Seed = None,
    shards: Shards = None,
    params: Params = None,
    host: Host = None,
    token: Token = None,
    token_file: TokenFile = None,
    namespace: Namespace = None,
    ca_bundle: CaBundle = None,
    experiment: Experiment = None,
    config_file: ConfigFile = None,
    image: Image = None,
    package: Package = None,
) -> None:
    """Upload the pipeline (or a new version of it) and start a run on the DSPA."""
    from braking_pipelines import remote
    from braking_pipelines.pipeline import DESCRIPTION

    config, dspa = _remote_settings(
        config_file, image, host, token, token_file, namespace, ca_bundle, experiment
    )
    arguments = _arguments(config, params, data_rows=rows, seed=seed, tuning_shards=shards)
    name = run_name or f"{config.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        with _package(config, package) as package_file:
            run = remote.submit(dspa, package_file, config.name, DESCRIPTION, arguments, name)
    except (remote.DspaError, FileNotFoundError) as exc:
        raise _fail(str(exc), code=1) from exc
    typer.echo(
        f"Started run {name!r} (id {run.run_id}) of pipeline {config.name!r} version "
        f"{run.pipeline.version_name!r} in experiment {dspa.experiment!r}"
    )


@pipeline_app.command("schedule")
def schedule_command(
    cron: Annotated[
        str,
        typer.Option(
            help="6-field cron, seconds first, in the DSPA's timezone (UTC default): "
            "'0 0 2 * * *' = 02:00 daily.",
            envvar=f"{DSPA_ENV}CRON",
        ),
    ] = "0 0 2 * * *",
    job_name: Annotated[str | None, typer.Option(help="Recurring run name.")] = None,
    max_concurrency: Annotated[int, typer.Option(min=1, help="Runs allowed at once.")] = 1,
    catch_up: Annotated[
        bool, typer.Option(help="Backfill runs missed while the schedule was paused.")
    ] = False,
    rows: Rows = None,
    seed: Seed = None,
    shards: Shards = None,
    params: Params = None,
    host: Host = None,
    token: Token = None,
    token_file: TokenFile = None,
    namespace: Namespace = None,
    ca_bundle: CaBundle = None,
    experiment: Experiment = None,
    config_file: ConfigFile = None,
    image: Image = None,
    package: Package = None,
) -> None:
    """Upload the pipeline (or a new version) and run it on a cron schedule on the DSPA."""
    from braking_pipelines import remote
    from braking_pipelines.cron import CronError, validate_cron
    from braking_pipelines.pipeline import DESCRIPTION

    try:
        cron = validate_cron(cron)
    except CronError as exc:
        raise _fail(str(exc)) from exc
    config, dspa = _remote_settings(
        config_file, image, host, token, token_file, namespace, ca_bundle, experiment
    )
    arguments = _arguments(config, params, data_rows=rows, seed=seed, tuning_shards=shards)
    name = job_name or f"{config.name}-scheduled"
    try:
        with _package(config, package) as package_file:
            scheduled = remote.schedule(
                dspa,
                package_file,
                config.name,
                DESCRIPTION,
                arguments,
                name,
                cron,
                max_concurrency=max_concurrency,
                catch_up=catch_up,
            )
    except (remote.DspaError, FileNotFoundError) as exc:
        raise _fail(str(exc), code=1) from exc
    typer.echo(
        f"Scheduled {name!r} (id {scheduled.recurring_run_id}) at cron {cron!r} for pipeline "
        f"version {scheduled.pipeline.version_name!r} in experiment {dspa.experiment!r}"
    )


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the `braking` app."""
    app.add_typer(pipeline_app, name="pipeline")
