"""`braking monitor report` and `status` against a running collector."""

from __future__ import annotations

import httpx
import numpy as np
import orjson
from monitoring_fixtures import MODEL, baseline_predict, features_of, running_app
from typer.testing import CliRunner

from braking_cli.main import app
from braking_data.scenario import Scenario, generate_scenario_frame
from braking_monitoring.app import build_app
from braking_monitoring.config import CollectorConfig


def _send(url: str, scenario: Scenario, rows: int, seed: int) -> None:
    X = features_of(generate_scenario_frame(rows, seed, scenario))
    common = {"specversion": "1.0", "id": f"r{seed}", "source": "t", "inferenceservicename": MODEL}
    events = [
        {**common, "type": "org.kubeflow.serving.inference.request",
         "data": {"inputs": [{"name": "sensor_features", "shape": list(X.shape),
                              "datatype": "FP32", "data": X.tolist()}]}},
        {**common, "type": "org.kubeflow.serving.inference.response",
         "data": {"model_version": "1", "outputs": [{"name": "brake_amount", "shape": [rows, 1],
                  "datatype": "FP32", "data": baseline_predict(X).tolist()},
                 {"name": "expected_error", "shape": [rows, 1], "datatype": "FP32",
                  "data": [0.01] * rows}]}},
    ]  # fmt: skip
    headers = {"content-type": "application/cloudevents-batch+json"}
    httpx.post(url, content=orjson.dumps(events), headers=headers, timeout=60).raise_for_status()


def test_report_and_status_show_windows_thresholds_and_the_alarm(tmp_path, reference_profile):
    collector = build_app(CollectorConfig(store=str(tmp_path / "log"), window_rows=300))
    with running_app(collector) as url:
        httpx.put(
            f"{url}/profiles/{MODEL}", content=reference_profile.model_dump_json(), timeout=60
        )
        _send(url, Scenario(), 300, 1)
        labels = np.linspace(0, 1, 300).tolist()  # constant labels leave r2 NaN
        truth = {"model_name": MODEL, "ids": [f"r1:{i}" for i in range(300)], "labels": labels}
        httpx.post(f"{url}/data/labels", json=truth, timeout=60).raise_for_status()
        _send(url, Scenario(friction_stuck=0.8), 600, 2)
        env = {"BRAKING_MONITOR_URL": url}
        status = CliRunner().invoke(app, ["monitor", "status"], env=env)
        report = CliRunner().invoke(
            app, ["monitor", "report", "--output-dir", str(tmp_path / "report")], env=env
        )
    assert status.exit_code == 0, status.output
    assert "v1 windows [.DD]" in status.output and "drift: ALARM" in status.output
    assert "error: estimated MAE 0.0100, physics disagreement 0.0000, fault-aware" in status.output
    assert "(road_friction stuck), labelled MAE" in status.output  # the last windows' fault
    assert report.exit_code == 0, report.output
    markdown = (tmp_path / "report" / "report.md").read_text()
    assert "| road_friction |" in markdown and "**yes**" in markdown
    assert (tmp_path / "report" / "distributions.png").stat().st_size > 10_000
    assert (tmp_path / "report" / "windows-v1.png").is_file()
    assert "![error](error-v1.png)" in markdown
    assert (tmp_path / "report" / "error-v1.png").stat().st_size > 10_000
    assert "Estimated MAE (expected_error): 0.0100" in markdown
    assert "Sensor faults: road_friction stuck" in markdown
    assert "(estimated 0.0100)" in markdown  # next to the labelled window's true MAE
    assert "<table>" in (tmp_path / "report" / "report.html").read_text()


def test_status_without_a_collector_fails_cleanly():
    result = CliRunner().invoke(app, ["monitor", "status", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "no collector answers" in result.output
