"""`braking pipeline submit | schedule`: send the pipeline to a DSPA (OpenShift AI)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from braking_common.cli_errors import fail
from braking_common.cli_flags import given, shared_options
from braking_pipelines.cli_options import (
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
    from braking_pipelines.config import DspaConfig, PipelineConfig

DSPA_ENV = "BRAKING_DSPA_"

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


def _dspa_config(**overrides: Any) -> DspaConfig:
    from pydantic import ValidationError

    from braking_pipelines.config import DspaConfig

    try:
        return DspaConfig(**given(**overrides))
    except ValidationError as exc:
        raise fail(f"DSPA settings: {exc}") from exc


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


@dataclass(frozen=True)
class RemoteRun:
    """What `submit` and `schedule` both need: the pipeline, the DSPA, the run arguments."""

    config: PipelineConfig
    dspa: DspaConfig
    arguments: dict[str, Any]
    package: Path | None


def remote_run(
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
    sets: Sets = None,
    package: Package = None,
) -> RemoteRun:
    """The options `submit` and `schedule` share (`shared_options`), turned into settings."""
    config = load_pipeline_config(config_file, sets, base_image=image)
    dspa = _dspa_config(
        host=host,
        token=token,
        token_file=token_file,
        namespace=namespace,
        ca_bundle=ca_bundle,
        experiment=experiment,
    )
    arguments = run_arguments(config, params, data_rows=rows, seed=seed, tuning_shards=shards)
    return RemoteRun(config, dspa, arguments, package)


@pipeline_app.command("submit")
@shared_options(remote_run)
def submit_command(
    run_name: Annotated[
        str | None, typer.Option(help="Run name (default: name + UTC time).")
    ] = None,
    **shared: Any,
) -> None:
    """Upload the pipeline (or a new version of it) and start a run on the DSPA."""
    from braking_pipelines import remote
    from braking_pipelines.pipeline import DESCRIPTION

    run = remote_run(**shared)
    config, dspa = run.config, run.dspa
    name = run_name or f"{config.name}-{datetime.now(UTC):%Y%m%d-%H%M%S}"
    try:
        with _package(config, run.package) as package_file:
            started = remote.submit(
                dspa, package_file, config.name, DESCRIPTION, run.arguments, name
            )
    except (remote.DspaError, FileNotFoundError) as exc:
        raise fail(str(exc), code=1) from exc
    typer.echo(
        f"Started run {name!r} (id {started.run_id}) of pipeline {config.name!r} version "
        f"{started.pipeline.version_name!r} in experiment {dspa.experiment!r}"
    )


@pipeline_app.command("schedule")
@shared_options(remote_run)
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
    **shared: Any,
) -> None:
    """Upload the pipeline (or a new version) and run it on a cron schedule on the DSPA; each
    run draws fresh data (seed from its scheduled time) unless --seed or -p fresh_data=false."""
    from braking_pipelines import remote
    from braking_pipelines.cron import CronError, validate_cron
    from braking_pipelines.pipeline import DESCRIPTION

    try:
        cron = validate_cron(cron)
    except CronError as exc:
        raise fail(str(exc)) from exc
    run = remote_run(**shared)
    config, dspa = run.config, run.dspa
    if shared.get("seed") is None:  # every scheduled run draws fresh data, unless a seed pins it
        run.arguments.setdefault("fresh_data", True)
    name = job_name or f"{config.name}-scheduled"
    try:
        with _package(config, run.package) as package_file:
            scheduled = remote.schedule(
                dspa,
                package_file,
                config.name,
                DESCRIPTION,
                run.arguments,
                name,
                cron,
                max_concurrency=max_concurrency,
                catch_up=catch_up,
            )
    except (remote.DspaError, FileNotFoundError) as exc:
        raise fail(str(exc), code=1) from exc
    typer.echo(
        f"Scheduled {name!r} (id {scheduled.recurring_run_id}) at cron {cron!r} for pipeline "
        f"version {scheduled.pipeline.version_name!r} in experiment {dspa.experiment!r}"
    )
