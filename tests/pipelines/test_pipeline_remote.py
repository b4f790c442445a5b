"""Submit and schedule against the checking KFP API double."""

from __future__ import annotations

from pathlib import Path

import pytest

from braking_pipelines import remote
from braking_pipelines.config import DspaConfig, PipelineConfig
from braking_pipelines.cron import CronError
from braking_pipelines.pipeline import compile_pipeline

NAME = "braking-distance"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_pipeline(PipelineConfig(), tmp_path_factory.mktemp("pkg") / "pipeline.yaml")


def dspa(kfp_api, **overrides) -> DspaConfig:
    return DspaConfig(**{"host": kfp_api.url, "token": kfp_api.token, **overrides})


def test_submit_uploads_pipeline_and_starts_a_run_of_that_version(kfp_api, package):
    run = remote.submit(dspa(kfp_api), package, NAME, "d", {"data_rows": 500, "seed": 3}, "r1")

    assert kfp_api.problems == []
    assert [p["display_name"] for p in kfp_api.pipelines.values()] == [NAME]
    (created,) = kfp_api.runs
    assert created["run_id"] == run.run_id
    assert created["display_name"] == "r1"
    assert created["runtime_config"]["parameters"] == {"data_rows": 500, "seed": 3}
    assert created["pipeline_version_reference"] == {
        "pipeline_id": run.pipeline.pipeline_id,
        "pipeline_version_id": run.pipeline.version_id,
    }
    assert kfp_api.experiments[run.experiment_id]["display_name"] == "braking-distance"


def test_resubmitting_the_same_package_reuses_its_version(kfp_api, package):
    first = remote.submit(dspa(kfp_api), package, NAME, "d", {}, "first")
    second = remote.submit(dspa(kfp_api), package, NAME, "d", {}, "second")

    assert kfp_api.problems == []
    assert len(kfp_api.pipelines) == 1
    assert second.pipeline.pipeline_id == first.pipeline.pipeline_id
    # KFP names the first version after the pipeline, so the content-named one is added once.
    third = remote.submit(dspa(kfp_api), package, NAME, "d", {}, "third")
    assert third.pipeline.version_id == second.pipeline.version_id
    assert not third.pipeline.created
    assert len(kfp_api.versions) == 2
    assert len(kfp_api.experiments) == 1
    assert [r["display_name"] for r in kfp_api.runs] == ["first", "second", "third"]


def test_a_changed_package_becomes_a_new_version_of_the_same_pipeline(kfp_api, package, tmp_path):
    remote.submit(dspa(kfp_api), package, NAME, "d", {}, "before")
    changed = compile_pipeline(PipelineConfig(data_rows=999), tmp_path / "changed.yaml")
    after = remote.submit(dspa(kfp_api), changed, NAME, "d", {}, "after")

    assert kfp_api.problems == []
    assert len(kfp_api.pipelines) == 1
    assert len(kfp_api.versions) == 2
    assert after.pipeline.created
    assert after.pipeline.version_name.startswith(f"{NAME}-")
    upload = ("POST", "/apis/v2beta1/pipelines/upload_version")
    assert kfp_api.requests.count(upload) == 1


def test_schedule_creates_an_enabled_recurring_run_with_cron_and_parameters(kfp_api, package):
    scheduled = remote.schedule(
        dspa(kfp_api), package, NAME, "nightly", {"tuning_shards": 3}, "nightly", "0 0 2 * * *"
    )

    assert kfp_api.problems == []
    (job,) = kfp_api.recurring_runs
    assert job["recurring_run_id"] == scheduled.recurring_run_id
    assert job["trigger"]["cron_schedule"]["cron"] == "0 0 2 * * *"
    assert job["runtime_config"]["parameters"] == {"tuning_shards": 3}
    assert job["mode"] == "ENABLE"
    assert job["no_catchup"] is True
    assert int(job["max_concurrency"]) == 1


def test_a_five_field_cron_is_refused_before_any_request(kfp_api, package):
    with pytest.raises(CronError, match="6"):
        remote.schedule(dspa(kfp_api), package, NAME, "d", {}, "nightly", "0 2 * * *")
    assert kfp_api.requests == []


def test_a_parameter_of_the_wrong_type_is_rejected_by_the_server(kfp_api, package):
    with pytest.raises(remote.DspaError, match="HTTP 400"):
        remote.submit(dspa(kfp_api), package, NAME, "d", {"data_rows": "many"}, "bad")
    assert any("data_rows" in problem for problem in kfp_api.problems)


def test_a_refused_token_names_the_fix(kfp_api, package):
    with pytest.raises(remote.DspaError, match=r"refused the token \(HTTP 401\).*--token"):
        remote.submit(dspa(kfp_api, token="wrong"), package, NAME, "d", {}, "r")
    assert kfp_api.runs == []


def test_the_token_can_come_from_a_file(kfp_api, package, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text(kfp_api.token + "\n")
    config = DspaConfig(host=kfp_api.url, token_file=token_file)
    remote.submit(config, package, NAME, "d", {}, "from-file")
    assert kfp_api.problems == []
    assert len(kfp_api.runs) == 1


def test_an_unreachable_host_is_reported_with_the_host(package):
    import socket

    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    host = f"http://127.0.0.1:{port}"
    with pytest.raises(remote.DspaError, match=f"cannot reach the KFP API at {host}"):
        remote.submit(DspaConfig(host=host, token="t"), package, NAME, "d", {}, "r")


def test_a_missing_host_says_how_to_set_it(package):
    with pytest.raises(remote.DspaError, match="BRAKING_DSPA_HOST"):
        remote.submit(DspaConfig(token="t"), package, NAME, "d", {}, "r")


def test_the_retraining_trigger_submits_a_run_the_api_accepts(kfp_api, tmp_path, monkeypatch):
    """The trigger's DSPA starter: its seed, the log share, the inference log and the world of
    the alarmed version's traffic, typed as the compiled pipeline's inputs (the double refuses
    anything else)."""
    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.scenario import Scenario, generate_scenario_frame
    from braking_feedback.starters import pipeline_starter
    from braking_monitoring.events import InferenceRows
    from braking_monitoring.store import InferenceStore

    log = tmp_path / "log"
    fast = generate_scenario_frame(500, 2, Scenario(speed_shift_kmh=15))
    features = fast[list(FEATURE_COLUMNS)].to_numpy("float32")
    store = InferenceStore(str(log))
    store.add(InferenceRows(NAME, "4", [f"i{n}" for n in range(500)], features, features[:, 0], 0))
    store.flush()
    monkeypatch.setenv("BRAKING_DSPA_HOST", kfp_api.url)
    monkeypatch.setenv("BRAKING_DSPA_TOKEN", kfp_api.token)
    monkeypatch.setenv("BRAKING_PIPELINE_INFERENCE_LOG", str(log))
    alarm = {"model": NAME, "version": "4", "reason": "drift"}

    run = pipeline_starter("dspa")(
        {"seed": 796197391, "data_rows": 100_000, "log_fraction": 0.2, "alarm": alarm}
    )

    assert kfp_api.problems == []
    (created,) = kfp_api.runs
    assert created["run_id"] == run.run_id
    assert created["display_name"] == f"retrain-{NAME}-v4-drift-796197391"
    parameters = created["runtime_config"]["parameters"]
    assert parameters["seed"] == 796197391 and parameters["data_rows"] == 100_000
    assert parameters["log_fraction"] == 0.2 and parameters["inference_log"] == str(log)
    assert parameters["scenario"]["speed_shift_kmh"] == pytest.approx(15, abs=2)
