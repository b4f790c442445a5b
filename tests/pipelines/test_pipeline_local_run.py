"""Whole pipeline runs on kfp.local with small data (slow: real training in subprocesses)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lifecycle_checks import check_lifecycle_records

from braking_pipelines.local import read_run


@pytest.mark.slow
def test_a_failing_gate_skips_registration_and_deployment(tmp_path, tiny_search):
    from typer.testing import CliRunner

    from braking_cli.main import app

    root = tmp_path / "root"
    result = CliRunner().invoke(
        app,
        [
            "pipeline", "run", "--local", "--no-stack", "--require-release",
            "--rows", "1200", "--shards", "1", "-p", "search_iterations=1",
            "-p", "cv_folds=2", "-p", "gate_thresholds={min_r2: 2.0}",
            "--output-dir", str(root),
        ],
    )  # fmt: skip

    # --require-release turns "the gate said no" into exit code 3, with the reasons shown.
    assert result.exit_code == 3, result.output
    assert "r2: r2 = " in result.output and "expected >= 2" in result.output
    assert "nothing was registered or deployed" in result.output
    (run_dir,) = [path for path in root.iterdir() if path.is_dir()]
    summary = read_run(run_dir)
    assert summary.gate_passed is False
    ran = {path.rsplit("/", 1)[-1] for path in summary.tasks}
    assert {"generate-data", "split-data", "tune-shard", "train-model", "validate-model"} <= ran
    assert not ran & {"register-model", "deploy-model", "smoke-test"}
    assert summary.registered is None and summary.endpoint_url is None
    assert 0 < summary.model_metrics["rmse"] < 1
    assert (root / "last-run.log").stat().st_size > 0


@pytest.mark.slow
def test_cli_run_local_registers_deploys_and_answers_an_inference(
    tmp_path, tiny_search, stack_env, open_gate
):
    import json

    import httpx
    from typer.testing import CliRunner

    from braking_cli.main import app

    result = CliRunner().invoke(
        app,
        [
            "pipeline", "run", "--local", "--rows", "1500", "--shards", "2",
            "-p", "search_iterations=2", "-p", "cv_folds=2",
            "-p", f"gate_thresholds={json.dumps(open_gate)}",
            "--output-dir", str(tmp_path / "root"),
        ],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    assert "passed" in result.output
    assert "smoke inference" in result.output and "brake_amount = " in result.output
    model_url = f"{stack_env.serving_url}/v2/models/braking-distance"
    assert model_url in result.output

    # The registry holds the version the run reported, pointing at the gated model.
    base = f"{stack_env.registry_url}/api/model_registry/v1alpha3"
    found = httpx.get(f"{base}/registered_model", params={"name": "braking-distance"})
    assert found.status_code == 200, found.text
    versions = httpx.get(f"{base}/registered_models/{found.json()['id']}/versions").json()
    assert versions["size"] == 1
    # ...with its lifecycle: training run, dataset, trials, model card, inference service.
    check_lifecycle_records(stack_env.registry_url, rows=1500)

    # The deployed model answers: a stopped car 5 m ahead at 100 km/h means braking.
    from braking_model.invariants import raw_features
    from braking_serving.client import InferenceClient

    with InferenceClient(model_url) as client:
        brake = client.predict(raw_features(5.0, 0.0, 100.0, 0.85))
    assert brake.shape == (1,)
    assert 0.0 <= float(brake[0]) <= 1.0


@pytest.mark.slow
def test_a_challenger_worse_on_the_champions_labelled_traffic_is_kept(
    tmp_path, tiny_search, stack_env, open_gate
):
    import time

    from braking_data.contract import FEATURE_COLUMNS, LABEL_COLUMN
    from braking_data.generate import generate_frame
    from braking_data.scenario import Scenario
    from braking_data.seeds import seed_from_time
    from braking_feedback.retrain import onnx_predictions, train_challenger
    from braking_monitoring import champions
    from braking_monitoring.events import InferenceRows
    from braking_monitoring.store import InferenceStore
    from braking_pipelines.config import PipelineConfig
    from braking_pipelines.local import run_local
    from braking_release.config import RegistrationConfig
    from braking_release.register import register_model

    # The champion: trained in-process on the real world, registered and crowned.
    registration = RegistrationConfig(
        registry_url=stack_env.registry_url, model_name="braking-keep"
    )
    space = Path(__file__).with_name("tiny_search_space.yaml")
    trained = train_challenger(tmp_path / "champion", Scenario(), 5, 1500, 1, space)
    champion = register_model(trained.model_dir, registration, allow_failed_gate=True)
    champions.set_champion(registration, champion.version_name)

    # It served 1,000 rows of the real world, and their labels came back.
    traffic = generate_frame(1000, seed=21)
    features = traffic[list(FEATURE_COLUMNS)].to_numpy("float32")
    served = onnx_predictions(trained.model_dir, features)
    store = InferenceStore(str(tmp_path / "log"))
    ids = [f"served-{i}" for i in range(len(traffic))]
    store.add(InferenceRows("braking-keep", champion.version_name, ids, features, served, 0.0))
    store.add_labels("braking-keep", ids, traffic[LABEL_COLUMN].tolist())
    store.flush()

    # A challenger trained on a world with the wrong reaction time: worse on real traffic.
    arguments = {"data_rows": 1500, "tuning_shards": 1, "search_iterations": 1, "cv_folds": 2,
                 "gate_thresholds": open_gate, "model_name": "braking-keep", "fresh_data": True,
                 "scenario": {"reaction_time_s": 3.0}, "inference_log": str(tmp_path / "log"),
                 "evaluation_rows": 500, "log_fraction": 0.1}  # fmt: skip
    started = seed_from_time(time.time())
    second = run_local(PipelineConfig(local_root=tmp_path / "root"), arguments)

    assert second.decision == "keep", second.decision_reasons
    # Fresh data: the seed came from the run's start time (kfp.local gets it from run_local).
    assert started <= second.task("data-seed").parameters["Output"] <= started + 60
    assert second.task("deploy-model") is None and second.endpoint_url is None
    # 150 older logged rows (the latest 500 are the window) went into its training data.
    assert second.task("generate-data").artifact("dataset")["metadata"]["logged_rows"] == 150
    assert champions.champions(registration).champion == champion.version_name
    recorded = champions.model_version_properties(registration, second.registered["version_name"])
    assert recorded["promotion.decision"] == "keep"
    assert recorded["promotion.window"] == "inference-log"
    assert recorded["promotion.rows"] == 500
