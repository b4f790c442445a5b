"""The registry records a model's lifecycle: training run, dataset, card, serving, report."""

from __future__ import annotations

import json

import pytest

from braking_release.config import RegistrationConfig
from braking_release.deploy import Deployment
from braking_release.lineage import TRIAL_METRIC, record_training
from braking_release.register import register_model
from braking_release.registry_report import format_report, live_version, model_report
from braking_release.serving_records import record_deployment, record_undeployment

TRIAL_RMSE = [0.31, 0.22, 0.27]


@pytest.fixture
def trained_dir(model_dir_factory):
    """A MODEL_DIR as `braking train` + `validate` leave it (tiny real ONNX model)."""
    model_dir = model_dir_factory(3)
    summary = json.loads((model_dir / "metrics.json").read_text())  # keeps the export's hashes
    summary |= {
        "rmse": 0.05, "mae": 0.03, "r2": 0.97, "under_braking_rate": 0.01,
        "model_family": "gbr", "hyperparameters": {"max_depth": 3, "learning_rate": 0.1},
        "train_rows": 1200, "training_data_sha256": "ab" * 32,
    }  # fmt: skip
    (model_dir / "metrics.json").write_text(json.dumps(summary))
    trials = "trial,mean_cv_rmse\n" + "".join(f"{n},{v}\n" for n, v in enumerate(TRIAL_RMSE))
    (model_dir / "trials.csv").write_text(trials)
    (model_dir / "model_card.md").write_text("# braking-distance\n")
    return model_dir


def _config(registry) -> RegistrationConfig:
    return RegistrationConfig(registry_url=registry.url, model_name="braking-distance")


def test_training_is_recorded_as_an_experiment_run_with_dataset_and_card(registry, trained_dir):
    config = _config(registry)
    version = register_model(trained_dir, config, run_id="run-7", source_revision="abc123")

    record = record_training(
        trained_dir, version, config, run_id="run-7", dataset_uri="s3://data/train.parquet"
    )
    again = record_training(trained_dir, version, config, run_id="run-7")  # idempotent

    assert again.experiment_run_id == record.experiment_run_id
    with registry.http() as http:
        run = http.get(f"/experiment_runs/{record.experiment_run_id}").json()
        artifacts = http.get(f"/experiment_runs/{run['id']}/artifacts").json()["items"]
        trials = http.get(
            f"/experiment_runs/{run['id']}/metric_history", params={"name": TRIAL_METRIC}
        ).json()["items"]
        card = http.get(f"/artifacts/{record.model_card_artifact_id}").json()
    assert run["name"] == "run-7" and run["status"] == "FINISHED"
    by_name = {a["name"]: a for a in artifacts}
    dataset = by_name["training-data"]
    assert dataset["artifactType"] == "dataset-artifact"
    assert dataset["digest"] == "sha256:" + "ab" * 32
    assert dataset["customProperties"]["rows"]["int_value"] == "1200"
    assert by_name["max_depth"]["value"] == "3" and by_name["rmse"]["value"] == 0.05
    assert sorted((m["step"], m["value"]) for m in trials) == list(enumerate(TRIAL_RMSE))
    assert card["artifactType"] == "doc-artifact"
    assert card["uri"] == trained_dir.resolve().as_uri() + "/model_card.md"


def test_deployment_replacement_and_undeployment_are_recorded_and_shown(
    registry, trained_dir, model_dir_factory
):
    config = _config(registry)
    first = register_model(trained_dir, config, run_id="run-1")
    second = register_model(model_dir_factory(4), config, run_id="run-2")
    served = Deployment(
        "braking-distance", "http://127.0.0.1:9/v2/models/braking-distance", "local"
    )

    record_deployment(served, first, config)
    replaced = record_deployment(served, second, config)
    staging = Deployment("braking-distance", "http://isvc/v2/models/b", "kserve", namespace="team")
    record_deployment(staging, first, config)
    record_undeployment("braking-distance", config, environment="team")

    versions = {v.name: v for v in model_report(config)}
    assert versions[second.version_name].live and not versions[first.version_name].live
    assert [(s.environment, s.desired_state) for s in versions[first.version_name].serving] == [
        ("team", "UNDEPLOYED")
    ]
    with registry.http() as http:
        serves = http.get(f"/inference_services/{replaced.inference_service_id}/serves").json()
    assert [s["modelVersionId"] for s in serves["items"]] == [
        first.model_version_id,
        second.model_version_id,
    ]
    assert live_version(config).name == second.version_name
    assert live_version(config, environment="team") is None
    text = format_report("braking-distance", list(versions.values()))
    assert f"version {second.version_name} (id {second.model_version_id}, LIVE) * LIVE" in text
    assert "serves: local/braking-distance (DEPLOYED) http://127.0.0.1:9" in text
    assert "lineage: pipeline run run-1" in text and "gate: passed" in text


def test_registry_show_prints_versions_and_names_a_missing_model(registry, trained_dir):
    from typer.testing import CliRunner

    from braking_cli.main import app

    register_model(trained_dir, _config(registry), run_id="run-9")
    url = f"--registry-url=http://127.0.0.1:{registry.port}"
    shown = CliRunner().invoke(app, ["registry", "show", url])
    missing = CliRunner().invoke(app, ["registry", "show", url, "--model-name", "nope"])

    assert shown.exit_code == 0, shown.output
    assert "braking-distance: 1 version(s)" in shown.output
    assert "lineage: pipeline run run-9" in shown.output and "serves: nowhere" in shown.output
    assert missing.exit_code == 2 and "model_name 'nope'" in missing.output
