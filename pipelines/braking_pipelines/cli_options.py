"""Options and settings loading shared by the pipeline commands (`cli.py`, `cli_dspa.py`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from braking_common.cli_errors import fail

if TYPE_CHECKING:
    from braking_pipelines.config import PipelineConfig

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


def load_pipeline_config(config_file: Path | None, **overrides: Any) -> PipelineConfig:
    """PipelineConfig from the YAML file and the given flags; exits 2 naming a bad field."""
    from pydantic import ValidationError

    from braking_pipelines.config import PipelineConfig

    try:
        return PipelineConfig.from_yaml(config_file, **overrides)
    except (ValidationError, ValueError) as exc:
        raise fail(f"pipeline config: {exc}") from exc


def run_arguments(config: PipelineConfig, params: list[str] | None, **named: Any) -> dict[str, Any]:
    """The run arguments: `-p NAME=VALUE` pairs checked against the pipeline, then the flags."""
    from braking_pipelines.pipeline import build_pipeline, parse_arguments

    try:
        arguments = parse_arguments(build_pipeline(config), list(params or []))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    return {**arguments, **{name: value for name, value in named.items() if value is not None}}
