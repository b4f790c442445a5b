"""`braking monitor ...`: the collector's commands plus the feedback loop's:
`loop` (the whole loop on the embedded stack), `trigger` (Alertmanager webhook -> retraining
runs), `manifests` (cluster wiring) and `rollback` (serve the previous champion again).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from braking_common.cli_errors import RUN_ERROR, fail
from braking_common.cli_flags import given
from braking_feedback.retrain import LOOP_TRAINING_ROWS
from braking_monitoring.cli import add_commands

monitor_app = typer.Typer(help="Monitoring and feedback: collector, drift report, retraining loop.")
add_commands(monitor_app)

SCENARIOS: dict[str, dict[str, Any]] = {
    "ice": {"condition_shares": {"ice": 0.3}},
    "speed": {"speed_shift_kmh": 15.0},
    "boxes": {"box_scale": 0.9},
    "stuck-friction": {"friction_stuck": 0.8},
    "none": {},
}


@monitor_app.command("loop")
def loop_command(
    drift: Annotated[str, typer.Option(help=f"traffic shift: {', '.join(SCENARIOS)}")] = "ice",
    rows: Annotated[
        int, typer.Option(help="rows each training run generates")
    ] = LOOP_TRAINING_ROWS,
    seed: Annotated[int, typer.Option(help="seed of the traffic and of the first model")] = 7,
    work_dir: Annotated[Path, typer.Option(help="where models are trained")] = Path(
        "outputs/monitoring-loop"
    ),
    search_space: Annotated[
        Path | None, typer.Option(help="search-space YAML [default: the packaged one]")
    ] = None,
) -> None:
    """Run the loop on the embedded stack: serve, drifted traffic, alarm, retrain, compare,
    promote or keep; each step is printed."""
    from braking_data.scenario import Scenario
    from braking_feedback.loop import run_loop
    from braking_stack.config import StackConfig

    if drift not in SCENARIOS:
        raise fail(f"--drift {drift!r}: expected one of {', '.join(SCENARIOS)}")
    try:
        run_loop(
            StackConfig(),
            work_dir,
            Scenario(**SCENARIOS[drift]),
            rows=rows,
            seed=seed,
            search_space=search_space,
        )
    except (OSError, RuntimeError, TimeoutError) as error:
        raise fail(str(error), RUN_ERROR) from None


@monitor_app.command("trigger")
def trigger_command(
    host: Annotated[str | None, typer.Option(help="interface [env BRAKING_TRIGGER_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="port [env BRAKING_TRIGGER_PORT; 8084]")] = None,
    target: Annotated[
        str | None, typer.Option(help="kfp-local or dspa [env BRAKING_TRIGGER_TARGET]")
    ] = None,
) -> None:
    """Serve the Alertmanager webhook (POST /alerts) that starts retraining pipeline runs."""
    import uvicorn

    from braking_feedback.starters import pipeline_starter
    from braking_feedback.trigger import RetrainTrigger, TriggerConfig, webhook_app

    config = TriggerConfig(**given(host=host, port=port, target=target))
    if config.target not in ("kfp-local", "dspa"):
        raise fail(f"--target {config.target!r}: expected kfp-local or dspa")
    trigger = RetrainTrigger(pipeline_starter(config.target), config)
    typer.echo(f"retraining trigger on http://{config.host}:{config.port}/alerts", err=True)
    uvicorn.run(webhook_app(trigger), host=config.host, port=config.port, log_level="warning")


@monitor_app.command("manifests")
def manifests_command(
    output_dir: Annotated[Path, typer.Option(help="where the YAML goes")] = Path(
        "pipeline-server/monitoring"
    ),
    trigger_url: Annotated[
        str | None,
        typer.Option(help="the trigger's in-cluster URL [env BRAKING_TRIGGER_CLUSTER_URL]"),
    ] = None,
) -> None:
    """Write the cluster wiring: TrustyAIService, PrometheusRule, AlertmanagerConfig."""
    from braking_feedback.manifests import write_manifests
    from braking_feedback.trigger import TriggerConfig

    for path in write_manifests(output_dir, trigger_url or TriggerConfig().cluster_url):
        typer.echo(str(path))


@monitor_app.command("rollback")
def rollback_command() -> None:
    """Serve the previous champion again (settings: BRAKING_REGISTRATION_*, BRAKING_DEPLOY_*)."""
    from braking_feedback.champion import RollbackError, rollback
    from braking_release.config import DeployConfig, RegistrationConfig

    try:
        settings = RegistrationConfig(), DeployConfig()
    except ValueError as error:  # pydantic's ValidationError: a bad or renamed variable
        raise fail(str(error)) from None
    try:
        deployment = rollback(*settings)
    except (RollbackError, OSError, RuntimeError) as error:
        raise fail(str(error), RUN_ERROR) from None
    typer.echo(f"serving version {deployment.version} again at {deployment.url}")


def register(app: typer.Typer) -> None:
    """Mount `braking monitor` on the `braking` command."""
    app.add_typer(monitor_app, name="monitor")
