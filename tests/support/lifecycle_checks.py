"""What a pipeline run leaves in the registry: the checks of the local end-to-end run."""

from __future__ import annotations

import httpx


def check_lifecycle_records(registry_url: str, rows: int) -> None:
    """The newest version's experiment run, dataset, trials, model card and inference service
    are recorded, and `braking registry show` marks it live."""
    from typer.testing import CliRunner

    from braking_cli.main import app
    from braking_release.config import RegistrationConfig
    from braking_release.registry_report import model_report

    config = RegistrationConfig(registry_url=registry_url)
    *_, version = model_report(config)  # the stack is shared: this run's is the newest
    assert version.gate_passed is True and version.live
    assert [v.live for v in model_report(config)].count(True) == 1  # one live version
    assert version.pipeline_run_id and version.dataset_sha256 and version.experiment_run_id
    assert [(s.environment, s.desired_state) for s in version.serving] == [("local", "DEPLOYED")]

    base = f"{registry_url}/api/model_registry/v1alpha3"
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
    assert 0 < int(dataset["customProperties"]["rows"]["int_value"]) < rows
    assert dataset["uri"] and not dataset["uri"].startswith("urn:")
    assert len(trials) >= 2 and len({m["step"] for m in trials}) == len(trials)  # one per trial
    assert {a["name"] for a in artifacts if a["artifactType"] == "metric"} >= {"rmse", "r2"}
    assert [d["name"] for d in documents] == ["model-card"]
    assert [s["desiredState"] for s in services] == ["DEPLOYED"]

    shown = CliRunner().invoke(app, ["registry", "show", f"--registry-url={registry_url}"])
    assert shown.exit_code == 0 and "* LIVE" in shown.output, shown.output
