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


def load_pipeline_config(
    config_file: Path | None, sets: list[str] | None = None, **overrides: Any
) -> PipelineConfig:
    """PipelineConfig from the YAML file, `--set` pairs and the given flags; exits 2 naming
    a bad field."""
    from pydantic import ValidationError

    from braking_pipelines.config import PipelineConfig

    try:
        return PipelineConfig.from_yaml(config_file, sets, **overrides)
    except (ValidationError, ValueError) as exc:
        raise fail(f"pipeline config: {exc}") from exc


def run_arguments(config: PipelineConfig, params: list[str] | None, **named: Any) -> dict[str, Any]:
    """The run arguments: `-p NAME=VALUE` pairs checked against the pipeline, then the flags."""
    from braking_pipelines.pipeline import build_pipeline, parse_arguments

    try:
        arguments = parse_arguments(build_pipeline(config), list(params or []))
    except ValueError as exc:
        raise fail(str(exc)) from exc
    if "scenario" in arguments:  # checked here, not minutes later in the data step
        _check_scenario(arguments["scenario"])
    return {**arguments, **{name: value for name, value in named.items() if value is not None}}


def _check_scenario(scenario: dict[str, Any]) -> None:
    from pydantic import ValidationError

    from braking_data.scenario import Scenario

    try:
        Scenario(**scenario)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise fail(
            f"parameter scenario.{where}={error.get('input')!r}: {error['msg']} "
            f"(fields: {', '.join(Scenario.model_fields)})"
        ) from None
