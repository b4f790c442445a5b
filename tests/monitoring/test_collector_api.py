"""The collector's API against recorded KServe logger events and TrustyAI request shapes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import orjson
import pytest
from monitoring_fixtures import MODEL, baseline_predict, features_of
from starlette.testclient import TestClient

from braking_data.scenario import Scenario, generate_scenario_frame
from braking_monitoring import trustyai
from braking_monitoring.app import build_app
from braking_monitoring.config import CollectorConfig
from braking_monitoring.store import InferenceStore

RECORDED = json.loads((Path(__file__).parent / "data" / "kserve_logger_events.json").read_text())


@pytest.fixture
def client(tmp_path):
    config = CollectorConfig(store=str(tmp_path / "log"), window_rows=200)
    with TestClient(build_app(config)) as client:
        yield client


def _post_recorded(client, part: str):
    recorded = RECORDED[part]
    return client.post("/", content=orjson.dumps(recorded["body"]), headers=recorded["headers"])


def _upload_training(client, rows: int = 2000, seed: int = 1):
    X = features_of(generate_scenario_frame(rows, seed, Scenario()))
    body = {
        "model_name": MODEL,
        "data_tag": "TRAINING",
        "request": {
            "inputs": [
                {
                    "name": "sensor_features",
                    "shape": list(X.shape),
                    "datatype": "FP32",
                    "data": X.tolist(),
                }
            ]
        },
        "response": {
            "outputs": [
                {
                    "name": "brake_amount",
                    "shape": [len(X), 1],
                    "datatype": "FP32",
                    "data": baseline_predict(X).tolist(),
                }
            ]
        },
    }
    return client.post("/data/upload", json=body)


def _serve(
    client, scenario: Scenario, rows: int, seed: int, batch: int = 50, expected_error=None
) -> list[str]:
    """Send `rows` inferences as the logger would (batch mode); returns their ids. With
    `expected_error` (a value) responses also carry that output, as the served graph does."""
    X = features_of(generate_scenario_frame(rows, seed, scenario))
    y = baseline_predict(X)
    events, ids = [], []
    for start in range(0, rows, batch):
        part = X[start : start + batch]
        event_id = f"{seed}-{start}"
        ids += [f"{event_id}:{i}" for i in range(len(part))]
        common = {
            "specversion": "1.0",
            "id": event_id,
            "source": "test",
            "inferenceservicename": MODEL,
        }
        events.append(
            {
                **common,
                "type": "org.kubeflow.serving.inference.request",
                "data": {
                    "inputs": [
                        {
                            "name": "sensor_features",
                            "shape": list(part.shape),
                            "datatype": "FP32",
                            "data": part.tolist(),
                        }
                    ]
                },
            }
        )
        events.append(
            {
                **common,
                "type": "org.kubeflow.serving.inference.response",
                "data": {
                    "model_version": "1",
                    "outputs": [
                        {
                            "name": "brake_amount",
                            "shape": [len(part), 1],
                            "datatype": "FP32",
                            "data": y[start : start + batch].tolist(),
                        },
                        *_expected_output(len(part), expected_error),
                    ],
                },
            }
        )
    response = client.post(
        "/",
        content=orjson.dumps(events),
        headers={"content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code == 202, response.text
    return ids


def test_recorded_kserve_binary_events_pair_into_rows(client):
    assert _post_recorded(client, "request").status_code == 202
    assert client.get("/info").json() == {}  # half an inference is not an observation
    assert _post_recorded(client, "response").status_code == 202
    info = client.get("/info").json()[MODEL]
    assert info["data"]["observations"] == 2
    assert info["data"]["inputTensorName"] == "sensor_features"
    assert list(info["data"]["inputSchema"]["items"])[:2] == ["other_bottom", "other_left"]
    ids = [row["id"] for row in client.get(f"/info/inference/ids/{MODEL}").json()]
    event_id = RECORDED["request"]["headers"]["ce-id"]
    assert ids == [f"{event_id}:0", f"{event_id}:1"]


def test_structured_mode_event_is_accepted(client):
    recorded = RECORDED["request"]
    attributes = {k[3:]: v for k, v in recorded["headers"].items() if k.startswith("ce-")}
    for part in ("request", "response"):
        headers = RECORDED[part]["headers"]
        event = {**attributes, "type": headers["ce-type"], "data": RECORDED[part]["body"]}
        response = client.post(
            "/",
            content=orjson.dumps(event),
            headers={"content-type": "application/cloudevents+json"},
        )
        assert response.status_code == 202
    assert client.get("/info").json()[MODEL]["data"]["observations"] == 2


@pytest.mark.parametrize(
    ("headers", "body", "message"),
    [
        ({"ce-id": "1", "ce-source": "x", "ce-specversion": "1.0"}, b"{}", "missing CloudEvents"),
        (
            {"ce-id": "1", "ce-source": "x", "ce-specversion": "1.0", "ce-type": "other"},
            b"{}",
            "not an inference event",
        ),
        ({"content-type": "application/cloudevents+json"}, b"{not json", "not valid JSON"),
        ({"content-type": "application/cloudevents-batch+json"}, b"{}", "JSON array"),
    ],
)
def test_malformed_events_get_400_and_the_collector_keeps_serving(client, headers, body, message):
    response = client.post("/", content=body, headers=headers)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert _post_recorded(client, "request").status_code == 202


def test_trustyai_upload_and_one_off_kstest_shapes(client):
    upload = _upload_training(client)
    assert upload.status_code == 200
    assert upload.json() == {
        "status": "success",
        "message": f"2000 datapoints successfully added to {MODEL} data.",
    }
    _serve(client, Scenario(speed_shift_kmh=15), 300, seed=7)
    body = {
        "modelId": MODEL,
        "referenceTag": "TRAINING",
        "batchSize": 300,
        "fitColumns": ["your_speed", "road_friction"],
    }
    result = client.post("/metrics/drift/kstest", json=body).json()
    assert set(result) == {
        "status",
        "value",
        "drift_detected",
        "p_value",
        "alpha",
        "feature_results",
    }
    assert result["drift_detected"] is True
    assert result["feature_results"]["your_speed"]["drift_detected"] is True
    assert result["feature_results"]["road_friction"]["drift_detected"] is False


def test_scheduled_kstest_publishes_trustyai_gauges_until_deleted(client):
    _upload_training(client)
    _serve(client, Scenario(), 200, seed=8)
    request_id = client.post(
        "/metrics/drift/kstest/request", json={"modelId": MODEL, "batchSize": 200}
    ).json()["requestId"]
    listed = client.get("/metrics/drift/kstest/requests").json()["requests"]
    assert [(r["requestId"], r["modelId"], r["metricName"]) for r in listed] == [
        (request_id, MODEL, "KSTEST")
    ]
    assert client.get("/info").json()[MODEL]["metrics"]["scheduledMetadata"] == {
        "metricCounts": {"KSTEST": 1}
    }
    trustyai.run_scheduled(client.app.state.collector)
    metrics = client.get("/q/metrics").text
    line = f'trustyai_kstest{{model="{MODEL}",request="{request_id}",subcategory="your_speed"}}'
    assert line in metrics
    deleted = client.request(
        "DELETE", "/metrics/drift/kstest/request", json={"requestId": request_id}
    )
    assert deleted.json()["status"] == "success"
    assert request_id not in client.get("/metrics").text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"batchSize": 10}, "modelId"),
        ({"modelId": MODEL, "fitColumns": ["speed"]}, "fitColumns"),
        ({"modelId": MODEL, "thresholdDelta": 2}, "thresholdDelta"),
        ({"modelId": MODEL, "colour": 1}, "unknown field"),
        ({"modelId": "nobody"}, "no data for model"),
    ],
)
def test_bad_metric_requests_name_the_field(client, body, message):
    _upload_training(client, rows=300)
    response = client.post("/metrics/drift/kstest", json=body)
    assert response.status_code in (400, 404)
    assert message in response.json()["detail"]


def _expected_output(rows: int, value: float | None) -> list[dict]:
    if value is None:
        return []
    return [
        {"name": "expected_error", "shape": [rows, 1], "datatype": "FP32", "data": [value] * rows}
    ]


def _gauge(client, name: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no gauge {name}")


def test_estimated_and_true_error_reach_status_and_gauges(client):
    _upload_training(client)
    ids = _serve(client, Scenario(), 250, seed=7, expected_error=0.02)
    (window,) = client.get("/monitor/status").json()["models"][MODEL]["versions"]["1"]["windows"]
    assert window["estimated_mae"] == pytest.approx(0.02)
    assert window["physics_disagreement"] == 0.0  # the stand-in model is the physics estimate
    outputs = client.get("/info").json()[MODEL]["data"]["outputSchema"]["items"]
    assert list(outputs) == ["brake_amount", "expected_error"]  # both served outputs
    assert _gauge(client, "braking_monitoring_expected_error") == pytest.approx(0.02)
    assert _gauge(client, "braking_monitoring_physics_disagreement") == 0.0
    # labels 0.05 off every served brake: true MAE 0.05 next to the estimate's 0.02
    served = baseline_predict(features_of(generate_scenario_frame(250, 7, Scenario())))
    labels = np.where(served > 0.5, served - 0.05, served + 0.05).tolist()
    client.post("/data/labels", json={"model_name": MODEL, "ids": ids, "labels": labels})
    status = client.get("/monitor/status").json()["models"][MODEL]["versions"]["1"]
    (labelled,) = status["labelled_windows"]
    assert labelled["mae"] == pytest.approx(0.05, abs=1e-6)
    assert labelled["estimated_mae"] == pytest.approx(0.02)
    assert labelled["estimated_to_true_mae"] == pytest.approx(0.4, abs=1e-4)
    metrics = client.get("/metrics").text
    assert 'braking_monitoring_labelled{metric="estimated_mae",model="braking-distance"' in metrics


def _gauge_line(client, name: str, label: str) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith(name + "{") and label in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no gauge {name} with {label}")


def test_sensor_faults_reach_status_and_gauges(client):
    _upload_training(client)
    _serve(client, Scenario(box_scale=0.9, friction_stuck=0.8), 200, seed=7, expected_error=1e-4)
    (window,) = client.get("/monitor/status").json()["models"][MODEL]["versions"]["1"]["windows"]
    assert window["box_scale"] == pytest.approx(0.9, abs=0.005)
    assert window["stuck_features"] == ["road_friction"]
    assert window["sensor_faults"][1] == "road_friction stuck"
    assert window["fault_aware_mae"] > 100 * window["estimated_mae"]
    assert _gauge(client, "braking_monitoring_box_scale") == pytest.approx(window["box_scale"])
    assert _gauge(client, "braking_monitoring_fault_aware_error") == pytest.approx(
        window["fault_aware_mae"]
    )
    stuck = "braking_monitoring_stuck_feature"
    assert _gauge_line(client, stuck, 'column="road_friction"') == 1.0
    assert _gauge_line(client, stuck, 'column="your_speed"') == 0.0


def test_constant_labels_leave_r2_undefined_and_status_valid_json(client):
    _upload_training(client)
    ids = _serve(client, Scenario(), 250, seed=9)
    client.post("/data/labels", json={"model_name": MODEL, "ids": ids, "labels": [0.5] * 250})
    response = client.get("/monitor/status")
    assert response.status_code == 200
    (labelled,) = response.json()["models"][MODEL]["versions"]["1"]["labelled_windows"]
    assert labelled["r2"] is None and labelled["mae"] > 0


def test_responses_without_expected_error_leave_the_estimate_empty(client):
    _upload_training(client)
    _serve(client, Scenario(), 200, seed=8)
    (window,) = client.get("/monitor/status").json()["models"][MODEL]["versions"]["1"]["windows"]
    assert window["estimated_mae"] is None
    assert "braking_monitoring_expected_error{" not in client.get("/metrics").text
    outputs = client.get("/info").json()[MODEL]["data"]["outputSchema"]["items"]
    assert list(outputs) == ["brake_amount"]


def test_two_drifted_windows_raise_the_alarm_gauge(client):
    _upload_training(client)
    _serve(client, Scenario(), 200, seed=2)
    alarm = f'braking_monitoring_alarm{{model="{MODEL}",reason="drift",version="1"}}'
    assert f"{alarm} 0.0" in client.get("/metrics").text
    _serve(client, Scenario(friction_stuck=0.8), 200, seed=3)
    assert f"{alarm} 0.0" in client.get("/metrics").text  # one drifted window is no alarm
    _serve(client, Scenario(friction_stuck=0.8), 200, seed=4)
    assert f"{alarm} 1.0" in client.get("/metrics").text
    versions = client.get("/monitor/status").json()["models"][MODEL]["versions"]
    assert [w["drifted"] for w in versions["1"]["windows"]] == [False, True, True]


def test_ground_truth_upload_joins_labels_to_inferences(client):
    _upload_training(client)
    ids = _serve(client, Scenario(), 100, seed=5)
    body = {
        "model_name": MODEL,
        "is_ground_truth": True,
        "request": {"parameters": {"execution_ids": ids[:60]}, "inputs": []},
        "response": {
            "outputs": [
                {"name": "brake_amount", "shape": [60, 1], "datatype": "FP32", "data": [0.5] * 60}
            ]
        },
    }
    response = client.post("/data/upload", json=body)
    assert response.json()["message"] == f"60 ground truths added to {MODEL}."
    labels = client.post("/data/labels", json={"model_name": MODEL, "ids": ["nope"], "labels": [1]})
    assert labels.json()["matched"] == 0


def test_rows_and_labels_land_in_parquet_partitions(client, tmp_path):
    _upload_training(client, rows=300)
    ids = _serve(client, Scenario(), 120, seed=6)
    client.post("/data/labels", json={"model_name": MODEL, "ids": ids[:10], "labels": [0.1] * 10})
    collector = client.app.state.collector
    assert collector.store.flush() == 120
    partitions = sorted(
        p.relative_to(tmp_path / "log").parts[:3] for p in (tmp_path / "log").rglob("*.parquet")
    )
    assert partitions[-1][:2] == ("model=braking-distance", "version=1")
    assert partitions[-1][2].startswith("date=")
    table = InferenceStore(str(tmp_path / "log")).read(MODEL, "1")
    assert table.num_rows == 120 and table.column("inference_id").to_pylist() == ids
    assert np.isfinite(table.column("prediction").to_numpy()).all()
    assert np.isnan(table.column("expected_error").to_numpy()).all()  # none was served
    assert InferenceStore(str(tmp_path / "log")).read_labels(MODEL).num_rows == 10
