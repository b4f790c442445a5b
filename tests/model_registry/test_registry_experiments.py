"""Experiments, runs, their artifacts and metric history, as an ML engineer records a run."""

from __future__ import annotations


def _run(http) -> tuple[str, str]:
    experiment = http.post("/experiments", json={"name": "braking"}).json()["id"]
    run = http.post(
        f"/experiments/{experiment}/experiment_runs", json={"name": "pipeline-run-1"}
    ).json()
    assert run["status"] == "RUNNING" and run["state"] == "LIVE"  # the spec's defaults
    return experiment, run["id"]


def test_logging_a_metric_keeps_the_latest_value_and_every_step(registry):
    with registry.http() as http:
        experiment, run = _run(http)
        for step, score in enumerate([0.7, 0.9, 0.8], start=1):
            metric = {"artifactType": "metric", "name": "cv_score", "value": score, "step": step}
            logged = http.post(f"/experiment_runs/{run}/artifacts", json=metric)
            assert logged.status_code == (201 if step == 1 else 200)
        artifacts = http.get(f"/experiment_runs/{run}/artifacts").json()["items"]
        history = http.get(f"/experiment_runs/{run}/metric_history").json()["items"]
        some_steps = http.get(
            f"/experiment_runs/{run}/metric_history", params={"stepIds": "1,3"}
        ).json()["items"]
        best = http.get(
            "/experiment_runs/metric_history", params={"filterQuery": "value > 0.85"}
        ).json()["items"]
        bad_steps = http.get(f"/experiment_runs/{run}/metric_history", params={"stepIds": "1;2"})

    assert [(a["name"], a["value"], a["step"]) for a in artifacts] == [("cv_score", 0.8, 3)]
    assert artifacts[0]["experimentRunId"] == run and artifacts[0]["experimentId"] == experiment
    assert [(m["step"], m["value"]) for m in history] == [(1, 0.7), (2, 0.9), (3, 0.8)]
    assert [m["step"] for m in some_steps] == [1, 3]
    assert [(m["step"], m["experimentRunId"]) for m in best] == [(2, run)]
    assert bad_steps.status_code == 400 and bad_steps.json()["message"].startswith("stepIds:")


def test_a_run_records_parameters_and_its_dataset(registry):
    with registry.http() as http:
        _, run = _run(http)
        parameter = {"artifactType": "parameter", "name": "max_depth", "value": "6"}
        dataset = {
            "artifactType": "dataset-artifact",
            "name": "training-data",
            "uri": "s3://data/braking.parquet",
            "digest": "sha256:" + "0" * 64,
            "customProperties": {
                "rows": {"metadataType": "MetadataIntValue", "int_value": "20000"}
            },
        }
        for artifact in (parameter, dataset):
            assert http.post(f"/experiment_runs/{run}/artifacts", json=artifact).status_code == 201
        datasets = http.get(
            f"/experiment_runs/{run}/artifacts", params={"artifactType": "dataset-artifact"}
        ).json()["items"]
        big = http.get("/artifacts", params={"filterQuery": "rows >= 10000"}).json()["items"]
        finished = http.patch(f"/experiment_runs/{run}", json={"status": "FINISHED"}).json()

    assert [d["digest"] for d in datasets] == [dataset["digest"]]
    assert [a["name"] for a in big] == ["training-data"]
    assert finished["status"] == "FINISHED"


def test_run_names_are_unique_per_experiment(registry):
    with registry.http() as http:
        experiment, _ = _run(http)
        other = http.post("/experiments", json={"name": "other"}).json()["id"]
        again = {"name": "pipeline-run-1", "experimentId": experiment}
        assert http.post("/experiment_runs", json=again).status_code == 409
        assert (
            http.post("/experiment_runs", json={**again, "experimentId": other}).status_code == 201
        )
