"""The braking pipeline: data -> split -> sharded search -> train -> gate -> register ->
compare with the champion -> deploy (only when promoted).

`build_pipeline(config)` returns the `@dsl.pipeline` built with that configuration: the
image of every step, resources, retries and secret names are fixed here, while the run's
knobs (rows, seed, shards, thresholds, registry URL...) stay pipeline parameters.
"""

# No `from __future__ import annotations`: KFP reads the pipeline signature as real types.

from pathlib import Path
from typing import Any

import yaml
from kfp import compiler, dsl, kubernetes
from kfp.dsl import graph_component
from kfp.dsl.python_component import PythonComponent

from braking_model.config import TrainConfig
from braking_pipelines import components
from braking_pipelines.config import S3_CONNECTION_KEYS, STEPS, PipelineConfig
from braking_pipelines.platform import apply_pod_settings, drop_optional_secret_fields

DESCRIPTION = (
    "Automated braking: simulate sensor data, tune and train a scikit-learn regressor, "
    "export it to ONNX, gate it, then register it and serve it."
)
# Env var the registration step reads its bearer token from (the registry library's name).
REGISTRY_TOKEN_ENV = "BRAKING_REGISTRATION_TOKEN"

__all__ = ["STEPS", "build_pipeline", "compile_pipeline", "parse_arguments"]

# Smoke-test scenario: a car 30 m ahead at 50 km/h, we drive 80 km/h on a dry road.
SMOKE_SCENARIO = {"distance_m": 30.0, "lead_kmh": 50.0, "own_kmh": 80.0, "friction": 0.85}


def with_image(step: PythonComponent, image: str) -> PythonComponent:
    """The same component, built on `image`."""
    return dsl.component(step.python_func, base_image=image, install_kfp_package=False)


def configured(step: PythonComponent, name: str, config: PipelineConfig):
    """`step` on the configured image, whose tasks get the configured pod settings."""
    built = with_image(step, config.base_image)

    def task(**inputs: Any) -> dsl.PipelineTask:
        created = built(**inputs)
        apply_pod_settings(created, name, config.pods)
        return created

    return task


def build_pipeline(
    config: PipelineConfig | None = None, run_time: str | None = None
) -> graph_component.GraphComponent:
    """The pipeline compiled, run locally and submitted by this package.

    The data step learns the run's scheduled and creation times from KFP's placeholders;
    `run_time` (RFC 3339) stands in for both where nothing resolves them: kfp.local 2.17
    fails on them (IndexError in `placeholder_utils.convert_placeholder_parts_to_path`).
    """
    config = config or PipelineConfig()
    scheduled = run_time or dsl.PIPELINE_JOB_SCHEDULE_TIME_UTC_PLACEHOLDER
    created = run_time or dsl.PIPELINE_JOB_CREATE_TIME_UTC_PLACEHOLDER
    step = {name: configured(getattr(components, name), name, config) for name in STEPS}
    if config.kfp_backend == "2.0":
        step["select_best"] = configured(components.select_best_of_one, "select_best", config)
    train_defaults = TrainConfig.model_fields

    @dsl.pipeline(name=config.name, description=DESCRIPTION, pipeline_root=config.pipeline_root)
    def braking_pipeline(
        data_rows: int = config.data_rows,
        seed: int = config.seed,
        test_fraction: float = train_defaults["test_fraction"].default,
        tuning_shards: int = config.tuning_shards,
        search_iterations: int = train_defaults["n_iter"].default,
        cv_folds: int = train_defaults["cv"].default,
        gate_thresholds: dict = {},  # noqa: B006 (overrides of the packaged gate thresholds)
        model_name: str = config.model_name,
        registry_url: str = config.registry_url,
        deploy_target: str = config.deploy_target,
        fresh_data: bool = config.fresh_data,
        scenario: dict = {},  # noqa: B006 (the world to generate: braking_data.scenario.Scenario)
        inference_log: str = config.inference_log,
        log_fraction: float = config.log_fraction,
        evaluation_rows: int = config.evaluation_rows,
    ) -> None:
        fresh = step["data_seed"](
            seed=seed, fresh_data=fresh_data, scheduled_time=scheduled, created_time=created
        )
        fresh.set_display_name("Data seed").set_caching_options(False)  # the time may be new

        log = {"inference_log": inference_log, "evaluation_rows": evaluation_rows}
        data = step["generate_data"](
            rows=data_rows,
            seed=fresh.output,
            scenario=scenario,
            model_name=model_name,
            log_fraction=log_fraction,
            **log,
        )
        data.set_display_name("Generate sensor data")

        split = step["split_data"](dataset=data.outputs["dataset"], test_fraction=test_fraction)
        split.set_display_name("Split by time")

        search = {"search_iterations": search_iterations, "cv_folds": cv_folds}
        trials = _search(step, config, split.outputs["train"], tuning_shards, seed, **search)
        best = step["select_best"](trials=trials, gate_thresholds=gate_thresholds)
        best.set_display_name("Select best trial")

        trained = step["train_model"](
            train=split.outputs["train"],
            test=split.outputs["test"],
            best_trial=best.outputs["best_trial"],
            all_trials=best.outputs["all_trials"],
            seed=seed,
        )
        _as_training(trained.set_display_name("Train and export ONNX"), config)

        gate = step["validate_model"](
            model=trained.outputs["model"],
            test=split.outputs["test"],
            gate_thresholds=gate_thresholds,
        )
        gate.set_display_name("Quality gate")

        with dsl.If(gate.outputs["Output"] == True, name="gate-passed"):  # noqa: E712
            validated = gate.outputs["validated_model"]
            registered = step["register_model"](
                model=validated,
                model_name=model_name,
                registry_url=registry_url,
                run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
            )
            _as_service_call(registered.set_display_name("Register model"), config)
            _with_registry_secrets(registered, config)

            compared = step["compare_models"](
                model=validated,
                registered=registered.outputs["registered"],
                model_name=model_name,
                registry_url=registry_url,
                data_seed=fresh.output,
                scenario=scenario,
                **log,
            )
            _as_service_call(compared.set_display_name("Compare with the champion"), config)
            _with_registry_secrets(compared, config)  # downloads the champion, reads the log

            with dsl.If(compared.outputs["Output"] == "promote", name="promoted"):
                release = {"model_name": model_name, "registry_url": registry_url}
                _deploy(step, config, validated, registered, deploy_target, **release)

    return braking_pipeline


def _deploy(step: dict, config: PipelineConfig, validated, registered, target, **release) -> None:
    """Deploy the promoted version, crown it champion, then ask it once."""
    # The deploy step points KServe at the location the registry recorded; KServe's
    # storage-initializer reads the data connection itself, so no S3 secret here.
    deployed = step["deploy_model"](
        model=validated,
        registered=registered.outputs["registered"],
        deploy_target=target,
        **release,
    )
    _as_service_call(deployed.set_display_name("Deploy model"), config)
    deployed.set_env_variable("BRAKING_DEPLOY_KSERVE_SERVER_IMAGE", config.base_image)

    smoke = step["smoke_test"](endpoint_url=deployed.output, **SMOKE_SCENARIO)
    _as_service_call(smoke.set_display_name("Smoke inference"), config)


def _with_registry_secrets(task: dsl.PipelineTask, config: PipelineConfig) -> None:
    """The registry token (optional Secret) and the whole S3 data connection, as env vars."""
    if config.kfp_backend == "2.15":  # older drivers reject `optional` Secrets
        kubernetes.use_secret_as_env(
            task,
            secret_name=config.registry_token_secret,
            secret_key_to_env={config.registry_token_key: REGISTRY_TOKEN_ENV},
            optional=True,
        )
    kubernetes.use_secret_as_env(
        task,
        secret_name=config.s3_connection_secret,
        # the whole data connection, under its own keys: the step uploads the model
        secret_key_to_env={key: key for key in S3_CONNECTION_KEYS},
    )
    task.set_env_variable("BRAKING_REGISTRATION_STORAGE_KEY", config.s3_connection_secret)


def compile_pipeline(config: PipelineConfig, output: Path) -> Path:
    """Write the pipeline's IR YAML to `output`; the same config gives the same bytes."""
    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(build_pipeline(config), str(output))
    if config.kfp_backend != "2.15":
        drop_optional_secret_fields(output)
    return output


def parse_arguments(pipeline: graph_component.GraphComponent, pairs: list[str]) -> dict[str, Any]:
    """Turn `NAME=VALUE` strings into typed run arguments of `pipeline` (YAML values)."""
    inputs = pipeline.component_spec.inputs or {}
    arguments: dict[str, Any] = {}
    for pair in pairs:
        name, separator, text = pair.partition("=")
        name = name.strip()
        if not separator or name not in inputs:
            raise ValueError(
                f"parameter {pair!r}: expected NAME=VALUE with NAME one of {', '.join(inputs)}"
            )
        expected = inputs[name].type
        value = yaml.safe_load(text) if expected != "String" else text
        if expected == "Float" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        python_type = _PARAMETER_TYPES[expected]
        if not isinstance(value, python_type) or (
            isinstance(value, bool) and expected != "Boolean"
        ):
            raise ValueError(f"parameter {name}={text!r}: expected {expected.lower()}")
        arguments[name] = value
    return arguments


_PARAMETER_TYPES = {
    "Integer": int,
    "Float": float,
    "String": str,
    "Boolean": bool,
    "Dict": dict,
    "List": list,
}


def _search(step: dict, config: PipelineConfig, train, shards, seed, **search: Any):
    """The hyperparameter search; returns the trial tables for `select_best`."""
    if config.kfp_backend == "2.0":
        # Backends before KFP 2.5 cannot fan artifacts in: one task searches every candidate.
        task = step["tune_shard"](train=train, shard_index=0, shard_count=1, seed=seed, **search)
        _as_training(task.set_display_name("Tune all candidates"), config)
        return task.outputs["trials"]
    plan = step["plan_shards"](shard_count=shards)
    plan.set_display_name("Plan search shards")
    with dsl.ParallelFor(
        plan.output, parallelism=config.max_parallel_shards, name="search-shards"
    ) as shard_index:
        shard = step["tune_shard"](
            train=train, shard_index=shard_index, shard_count=shards, seed=seed, **search
        )
        _as_training(shard.set_display_name("Tune search shard"), config)
    return dsl.Collected(shard.outputs["trials"])


def _as_training(task: dsl.PipelineTask, config: PipelineConfig) -> None:
    resources = config.training_resources
    task.set_cpu_request(resources.cpu_request).set_cpu_limit(resources.cpu_limit)
    task.set_memory_request(resources.memory_request).set_memory_limit(resources.memory_limit)


def _as_service_call(task: dsl.PipelineTask, config: PipelineConfig) -> None:
    # Registry and serving are remote services: retry transient failures, and never
    # reuse a cached result, since the side effect (a version, a deployment) is the point.
    task.set_retry(num_retries=config.service_retries, backoff_duration=config.retry_backoff)
    task.set_caching_options(False)
    for name, value in sorted(config.service_env.items()):
        task.set_env_variable(name, value)
