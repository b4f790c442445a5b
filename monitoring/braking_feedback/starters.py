"""How the trigger starts a retraining run: the project pipeline on kfp.local (embedded stack)
or submitted to the cluster's DSPA, with the data seed the trigger derived from the time and a
share of labelled logged traffic mixed in (the stack's collector log locally; the pipeline's
`inference_log` setting on the cluster). The pipeline's compare step then decides."""

from __future__ import annotations

from typing import Any


def pipeline_starter(target: str):
    """A starter for RetrainTrigger: arguments {seed, data_rows, log_fraction, alarm} -> run
    summary/id."""

    def start_local(arguments: dict[str, Any]) -> Any:
        from braking_pipelines.config import PipelineConfig
        from braking_pipelines.local import run_local
        from braking_stack.config import StackConfig

        run = _run_arguments(arguments)
        return run_local(
            PipelineConfig(), {**run, "inference_log": str(StackConfig().inference_log)}
        )

    def start_dspa(arguments: dict[str, Any]) -> Any:
        import tempfile
        from pathlib import Path

        from braking_pipelines import remote
        from braking_pipelines.config import DspaConfig, PipelineConfig
        from braking_pipelines.pipeline import DESCRIPTION, compile_pipeline

        config = PipelineConfig()
        alarm = arguments["alarm"]
        run = _run_arguments(arguments)
        run_name = f"retrain-{alarm['model']}-v{alarm['version']}-{alarm['reason']}-{run['seed']}"
        with tempfile.TemporaryDirectory() as scratch:
            package = compile_pipeline(config, Path(scratch) / "pipeline.yaml")
            # Fresh data every run: the cache would hand back the last run's data set.
            return remote.submit(
                DspaConfig(), package, config.name, DESCRIPTION, run, run_name, enable_caching=False
            )

    return start_local if target == "kfp-local" else start_dspa


def _run_arguments(arguments: dict[str, Any]) -> dict[str, Any]:
    return {key: arguments[key] for key in ("seed", "data_rows", "log_fraction")}
