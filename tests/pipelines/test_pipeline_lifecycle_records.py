"""A pipeline run on the embedded stack leaves its whole lifecycle in the registry (slow)."""

from __future__ import annotations

import json

import httpx
import pytest


@pytest.mark.slow
def test_a_local_run_records_experiment_run_dataset_card_and_inference_service(
    tmp_path, tiny_search, stack_env, open_gate
):
    from typer.testing import CliRunner

    from braking_cli.main import app
    from braking_release.config import RegistrationConfig
    from braking_release.registry_report import model_report

    result = CliRunner().invoke(
        app,
        [
            "pipeline", "run", "--local", "--rows", "1200", "--shards", "1",
            "-p", "search_iterations=2", "-p", "cv_folds=2",
            "-p", f"gate_thresholds={json.dumps(open_gate)}",
            "--output-dir", str(tmp_path / "root"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output

    config = RegistrationConfig(registry_url=stack_env.registry_url)
    *_, version = model_report(config)  # the stack is shared: this run's is the newest
    assert version.gate_passed is True and version.live
    assert [v.live for v in model_report(config)].count(True) == 1  # one live version
    assert version.pipeline_run_id and version.dataset_sha256 and version.experiment_run_id
    assert [(s.environment, s.desired_state) for s in version.serving] == [("local", "DEPLOYED")]

    base = f"{stack_env.registry_url}/api/model_registry/v1alpha3"
    with httpx.Client(base_url=base) as http:
        run = http.get(f"/experiment_runs/{version.experiment_run_id}").json()
        artifacts = http.get(f"/experiment_runs/{run['id']}/artifacts").json()["items"]
        trials = http.get(
            f"/experiment_runs/{run['id']}/metric_history", params={"name": "trial_cv_rmse"}
        ).json()["items"]
        documents = http.get(
            f"/model_versions/{version.id}/artifacts", params={"artifactType": "doc-artifact"}
        ).json()["items"]
        services = http.get(
            "/inference_services", params={"filterQuery": f"modelVersionId = '{version.id}'"}
        ).json()["items"]

    assert run["name"] == version.pipeline_run_id and run["status"] == "FINISHED"
    (dataset,) = [a for a in artifacts if a["artifactType"] == "dataset-artifact"]
    assert dataset["digest"] == f"sha256:{version.dataset_sha256}"
    assert 0 < int(dataset["customProperties"]["rows"]["int_value"]) < 1200
    assert dataset["uri"] and not dataset["uri"].startswith("urn:")
    assert len(trials) == 2  # search_iterations=2 on one shard
    assert {a["name"] for a in artifacts if a["artifactType"] == "metric"} >= {"rmse", "r2"}
    assert [d["name"] for d in documents] == ["model-card"]
    assert [s["desiredState"] for s in services] == ["DEPLOYED"]

    shown = CliRunner().invoke(
        app, ["registry", "show", f"--registry-url={stack_env.registry_url}"]
    )
    assert shown.exit_code == 0 and "* LIVE" in shown.output, shown.output
