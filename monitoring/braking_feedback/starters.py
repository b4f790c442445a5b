"""How the trigger starts a retraining run: the project pipeline on kfp.local (embedded stack)
or submitted to the cluster's DSPA, with the data seed the trigger derived from the time, the
world read from the alarmed version's latest served rows (`scenario`) and a share of labelled
logged traffic mixed in (the stack's collector log locally; the pipeline's `inference_log`
setting on the cluster). The pipeline's compare step then decides."""

from __future__ import annotations

from typing import Any

TRAFFIC_ROWS = 2_000  # the latest served rows the retraining world is read from


def pipeline_starter(target: str):
    """A starter for RetrainTrigger: arguments {seed, data_rows, log_fraction, alarm} -> run
    summary/id."""

    def start_local(arguments: dict[str, Any]) -> Any:
        from braking_pipelines.config import PipelineConfig
        from braking_pipelines.local import run_local
        from braking_stack.config import StackConfig

        return run_local(
            PipelineConfig(), run_arguments(arguments, str(StackConfig().inference_log))
        )

    def start_dspa(arguments: dict[str, Any]) -> Any:
        import tempfile
        from pathlib import Path

        from braking_pipelines import remote
        from braking_pipelines.config import DspaConfig, PipelineConfig
        from braking_pipelines.pipeline import DESCRIPTION, compile_pipeline

        config = PipelineConfig()
        alarm = arguments["alarm"]
        run = run_arguments(arguments, config.inference_log)
        run_name = f"retrain-{alarm['model']}-v{alarm['version']}-{alarm['reason']}-{run['seed']}"
        with tempfile.TemporaryDirectory() as scratch:
            package = compile_pipeline(config, Path(scratch) / "pipeline.yaml")
            # Fresh data every run: the cache would hand back the last run's data set.
            return remote.submit(
                DspaConfig(), package, config.name, DESCRIPTION, run, run_name, enable_caching=False
            )

    return start_local if target == "kfp-local" else start_dspa


def run_arguments(arguments: dict[str, Any], inference_log: str) -> dict[str, Any]:
    """Pipeline run arguments of a trigger start: its seed, rows and log share, the inference
    log, and the world of the alarmed version's traffic."""
    alarm = arguments["alarm"]
    run = {key: arguments[key] for key in ("seed", "data_rows", "log_fraction")}
    world = traffic_world(inference_log, alarm["model"], alarm["version"])
    return {**run, "inference_log": inference_log, "scenario": world}


def traffic_world(store_uri: str, model: str, version: str) -> dict[str, Any]:
    """The world of the version's latest served rows as Scenario fields ({} without a log)."""
    if not store_uri:
        return {}
    import numpy as np

    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.scenario import traffic_scenario
    from braking_monitoring.store import InferenceStore

    served = InferenceStore(store_uri).read(model, version)
    if served.num_rows == 0:
        return {}
    latest = served.slice(max(0, served.num_rows - TRAFFIC_ROWS))
    features = np.column_stack([latest.column(name).to_numpy() for name in FEATURE_COLUMNS])
    return traffic_scenario(features).model_dump(exclude_defaults=True)
