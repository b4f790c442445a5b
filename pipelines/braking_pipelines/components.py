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
from kfp.dsl import HTML, Artifact, Dataset, Input, Markdown, Metrics, Model, Output

from braking_pipelines.config import DEFAULT_BASE_IMAGE

component = dsl.component(base_image=DEFAULT_BASE_IMAGE, install_kfp_package=False)


@component
def generate_data(rows: int, seed: int, dataset: Output[Dataset], stats: Output[Metrics]):
    """Simulate `rows` camera/radar/road sensor readings with their braking label."""
    from braking_data.generate import write_dataset

    info = write_dataset(dataset.path, rows=rows, seed=seed)
    dataset.metadata.update({"format": "parquet", "rows": info.rows, "sha256": info.sha256})
    for condition, label in info.label_stats.items():
        stats.log_metric(f"{condition}_rows", label.rows)
        stats.log_metric(f"{condition}_mean_brake", round(label.mean, 4))


@component
def split_data(
    dataset: Input[Dataset], test_fraction: float, train: Output[Dataset], test: Output[Dataset]
):
    """Hold out the latest `test_fraction` of the readings (by time) for validation."""
    from braking_model.split import split_by_time

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
    train_data: Input[Dataset],
    shard_index: int,
    shard_count: int,
    search_iterations: int,
    cv_folds: int,
    seed: int,
    trials: Output[Dataset],
):
    """Cross-validate this shard's share of the search space: one row per trial."""
    from braking_model import config, tune

    settings = config.TrainConfig(n_iter=search_iterations, cv_folds=cv_folds, seed=seed)
    frame = tune.tune_shard(train_data.path, settings, shard_index, shard_count)
    frame.to_parquet(trials.path)
    trials.metadata.update({"format": "parquet", "trials": len(frame), "shard": shard_index})


@component
def select_best(
    trials: Input[list[Dataset]], best_trial: Output[Artifact], metrics: Output[Metrics]
):
    """Pick the best trial over every shard; written as JSON for the training step."""
    from braking_model import tune

    best = tune.select_best([tune.read_trials(shard.path) for shard in trials])
    best.write_json(best_trial.path)
    best_trial.metadata.update({"family": best.family, "cv_score": best.score})
    metrics.log_metric("best_cv_score", best.score)


@component
def train_model(
    train_data: Input[Dataset],
    test_data: Input[Dataset],
    best_trial: Input[Artifact],
    seed: int,
    model: Output[Model],
    metrics: Output[Metrics],
    model_card: Output[Markdown],
    report: Output[HTML],
):
    """Fit the best configuration on the training split and export it to ONNX."""
    from braking_model import config, train, tune

    result = train.fit_and_export(
        train_data.path,
        test_data.path,
        tune.BestTrial.read_json(best_trial.path),
        model.path,
        config.TrainConfig(seed=seed),
    )
    for name, value in result.metrics.items():
        metrics.log_metric(name, value)
    model.metadata.update(result.artifact_metadata())


@component
def validate_model(
    model: Input[Model],
    test_data: Input[Dataset],
    gate_thresholds: dict,
    verdict: Output[Metrics],
) -> bool:
    """The quality gate: True when the model may be registered and deployed."""
    from braking_model import gate

    thresholds = gate.GateThresholds(**gate_thresholds)
    result = gate.validate_model(model.path, test_data.path, thresholds)
    verdict.log_metric("passed", result.passed)
    verdict.metadata["reasons"] = result.reasons
    return result.passed


@component
def register_model(
    model: Input[Model],
    model_name: str,
    registry_url: str,
    run_id: str,
    registered: Output[Artifact],
):
    """Record the model version in the Kubeflow Model Registry."""
    from braking_registry import register

    settings = register.RegistrationConfig(address=registry_url, model_name=model_name)
    version = register.register_model(model.path, settings, run_id=run_id, model_uri=model.uri)
    registered.metadata.update(version.model_dump())


@component
def deploy_model(
    model: Input[Model],
    registered: Input[Artifact],
    deploy_target: str,
    model_name: str,
) -> str:
    """Serve the registered model (local OIP server or KServe); returns its endpoint URL."""
    from braking_serving import deploy

    settings = deploy.DeployConfig(target=deploy_target, name=model_name)
    deployment = deploy.deploy_model(model.path, settings, registered=registered.metadata)
    return deployment.url
