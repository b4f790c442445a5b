"""One lightweight KFP component per stage: a thin adapter around one library call.

Each body imports the installed project (the image built by the root Containerfile), reads
its input artifacts, calls the library, and writes its outputs: metrics on `Metrics`
artifacts so the KFP UI shows them, `metadata` on datasets and models. Bodies hold no
logic of their own; KFP ships each body's source, so imports live inside the body.

The decorators use the default image; `pipeline.build_pipeline` re-targets every
component to `PipelineConfig.base_image`.
"""

# No `from __future__ import annotations`: KFP reads the annotations as real types.
from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from braking_pipelines.config import DEFAULT_BASE_IMAGE

component = dsl.component(base_image=DEFAULT_BASE_IMAGE, install_kfp_package=False)


@component
def data_seed(seed: int, fresh_data: bool, scheduled_time: str, created_time: str) -> int:
    """The data seed: `seed`, or with `fresh_data` one from the run's scheduled/creation time
    (a step of its own, uncached, so a fixed-seed run still hits the data step's cache)."""
    from braking_data.seeds import run_seed

    return run_seed(seed, fresh_data, scheduled_time, created_time)


@component
def generate_data(
    rows: int,
    seed: int,
    dataset: Output[Dataset],
    stats: Output[Metrics],
    scenario: dict = {},  # noqa: B006 (KFP reads the default; never mutated)
    inference_log: str = "",
    model_name: str = "",  # whose logged rows to mix in (the pipeline passes its model)
    log_fraction: float = 0.0,
    evaluation_rows: int = 1000,
):
    """Simulate `rows` camera/radar/road sensor readings with their braking label in the
    scenario's world, `log_fraction` of them taken from older labelled rows of the inference
    log (the latest `evaluation_rows` per version stay held out for the promotion)."""
    from braking_data.scenario import Scenario
    from braking_monitoring.challenge import write_training_data

    info, logged = write_training_data(
        dataset.path, rows, seed, Scenario(**scenario),
        (inference_log, model_name), log_fraction, evaluation_rows,
    )  # fmt: skip
    dataset.metadata.update(
        {"format": "parquet", "rows": info.rows, "sha256": info.sha256, "seed": seed}
        | {"logged_rows": logged}
    )
    stats.log_metric("logged_rows", logged)
    for condition, label in info.label_stats.items():
        stats.log_metric(f"{condition}_rows", label.rows)
        stats.log_metric(f"{condition}_mean_brake", round(label.mean, 4))


@component
def split_data(
    dataset: Input[Dataset], test_fraction: float, train: Output[Dataset], test: Output[Dataset]
):
    """Hold out the latest `test_fraction` of the readings (by time) for validation."""
    from braking_model.tune import split_by_time

    n_train, n_test = split_by_time(dataset.path, train.path, test.path, test_fraction)
    train.metadata.update({"format": "parquet", "rows": n_train})
    test.metadata.update({"format": "parquet", "rows": n_test})


@component
def plan_shards(shard_count: int) -> list:
    """The shard indices the hyperparameter search fans out over."""
    if shard_count < 1:
        raise ValueError(f"tuning_shards={shard_count}: expected an integer >= 1")
    return list(range(shard_count))


@component
def tune_shard(
    train: Input[Dataset],
    shard_index: int,
    shard_count: int,
    search_iterations: int,
    cv_folds: int,
    seed: int,
    trials: Output[Dataset],
):
    """Cross-validate this shard's share of the sampled candidates: one row per trial."""
    from braking_model import config, tune

    settings = config.TrainConfig(n_iter=search_iterations, cv=cv_folds, seed=seed)
    table = tune.tune_shard(train.path, settings, shard_index, shard_count)
    table.to_parquet(trials.path, index=False)
    trials.metadata.update({"format": "parquet", "trials": len(table), "shard": shard_index})


@component
def select_best(
    trials: Input[list[Dataset]],
    gate_thresholds: dict,
    best_trial: Output[Artifact],
    all_trials: Output[Dataset],
    metrics: Output[Metrics],
):
    """The best trial over every shard that meets the gate's safety limits (JSON)."""
    import pandas as pd

    from braking_pipelines.selection import record_best_trial

    tables = [pd.read_parquet(shard.path) for shard in trials]
    record_best_trial(tables, gate_thresholds, best_trial, all_trials, metrics)


@component
def select_best_of_one(
    trials: Input[Dataset],
    gate_thresholds: dict,
    best_trial: Output[Artifact],
    all_trials: Output[Dataset],
    metrics: Output[Metrics],
):
    """`select_best` for one search task (backends without `dsl.Collected` artifacts)."""
    import pandas as pd

    from braking_pipelines.selection import record_best_trial

    tables = [pd.read_parquet(trials.path)]
    record_best_trial(tables, gate_thresholds, best_trial, all_trials, metrics)


@component
def train_model(
    train: Input[Dataset],
    test: Input[Dataset],
    best_trial: Input[Artifact],
    all_trials: Input[Dataset],
    seed: int,
    model: Output[Model],
    metrics: Output[Metrics],
):
    """Refit the best candidate on the whole training split and export it to ONNX."""
    import json

    import pandas as pd

    from braking_model import config, tune
    from braking_model import train as training

    with open(best_trial.path) as stream:
        best = tune.BestTrial(**json.load(stream))
    result = training.fit_and_export(
        train.path,
        test.path,
        best,
        model.path,
        config.TrainConfig(seed=seed),
        trials=pd.read_parquet(all_trials.path),
    )
    for name, value in result.metrics.items():
        for key, number in value.items() if isinstance(value, dict) else [(name, value)]:
            metrics.log_metric(key if key == name else f"{name}.{key}", float(number))
    model.metadata.update(
        {"framework": "onnx", "family": best.family, "files": result.files}
        | {"training_data_sha256": result.training_data_sha256, "training_data_uri": train.uri}
    )


@component
def validate_model(
    model: Input[Model],
    test: Input[Dataset],
    gate_thresholds: dict,
    validated_model: Output[Model],
    verdict: Output[Metrics],
    model_card: Output[Markdown],
) -> bool:
    """The quality gate. True when the model may be registered and deployed.

    The model folder is copied first: the gate writes gate.json and refreshes the model
    card inside it, and an input artifact must stay as its producer left it.
    """
    import shutil

    from braking_model import gate, validate
    from braking_model.model_dir import ModelDir

    shutil.copytree(model.path, validated_model.path)
    result = validate.validate_model(
        validated_model.path, test.path, gate.GateThresholds(**gate_thresholds)
    )
    for check in result.checks:
        verdict.log_metric(check.name, check.passed)
    verdict.metadata["reasons"] = result.reasons
    validated_model.metadata.update(dict(model.metadata, gate_passed=result.passed))
    shutil.copyfile(ModelDir(validated_model.path).card, model_card.path)
    return result.passed


@component
def register_model(
    model: Input[Model],
    model_name: str,
    registry_url: str,
    run_id: str,
    registered: Output[Artifact],
):
    """Record the gated model as a version in the Kubeflow Model Registry (idempotent)."""
    import dataclasses

    from braking_release import lineage, register

    settings = register.RegistrationConfig(registry_url=registry_url, model_name=model_name)
    version = register.register_model(model.path, settings, run_id=run_id)
    dataset_uri = model.metadata.get("training_data_uri")
    lineage.record_training(model.path, version, settings, run_id=run_id, dataset_uri=dataset_uri)
    registered.metadata.update(dataclasses.asdict(version))


@component
def compare_models(
    model: Input[Model],
    registered: Input[Artifact],
    model_name: str,
    registry_url: str,
    data_seed: int,
    scenario: dict,
    inference_log: str,
    evaluation_rows: int,
    evidence: Output[Metrics],
) -> str:
    """Champion/challenger: "promote" or "keep" the registered version, decided on a labelled
    window held out of its training; the decision and evidence go on the version."""
    from braking_data.scenario import Scenario
    from braking_monitoring.challenge import challenge_champion
    from braking_release.register import RegistrationConfig

    settings = RegistrationConfig(registry_url=registry_url, model_name=model_name)
    decision, where = challenge_champion(
        model.path,
        registered.metadata["version_name"],
        bool(model.metadata.get("gate_passed", False)),
        settings,
        store_uri=inference_log,
        rows=evaluation_rows,
        seed=data_seed,
        scenario=Scenario(**scenario),
    )
    for name, value in decision.properties().items():
        if isinstance(value, bool | int | float):
            evidence.log_metric(name, value)
    evidence.metadata.update(where | {"reasons": decision.reasons})
    return "promote" if decision.promote else "keep"


@component
def deploy_model(
    model: Input[Model],
    registered: Input[Artifact],
    model_name: str,
    deploy_target: str,
    registry_url: str,
) -> str:
    """Serve the registered model (local OIP server or KServe), record where it serves in the
    registry and crown it champion; returns its endpoint URL."""
    from braking_monitoring import champions
    from braking_release import deploy, serving_records
    from braking_release.register import RegisteredModelVersion, RegistrationConfig

    version = RegisteredModelVersion(**registered.metadata)
    settings = deploy.DeployConfig(target=deploy_target, name=model_name)
    deployment = deploy.deploy_model(model.path, settings, registered=version)
    registry = RegistrationConfig(registry_url=registry_url, model_name=model_name)
    serving_records.record_deployment(deployment, version, registry)
    champions.set_champion(registry, version.version_name)
    return deployment.internal_url or deployment.url  # the smoke step runs in the cluster too


@component
def smoke_test(
    endpoint_url: str, distance_m: float, lead_kmh: float, own_kmh: float, friction: float
) -> float:
    """Ask the deployed model how hard to brake in one scenario; fails if it cannot answer."""
    from braking_model.invariants import raw_features
    from braking_release.config import LocalServingTarget
    from braking_serving.client import InferenceClient

    features = raw_features(distance_m, lead_kmh, own_kmh, friction)
    with InferenceClient(endpoint_url, token=LocalServingTarget().token) as client:
        brake = float(client.predict(features)[0])
    if not 0.0 <= brake <= 1.0:
        raise ValueError(f"deployed model answered brake_amount={brake}, expected [0, 1]")
    return brake
