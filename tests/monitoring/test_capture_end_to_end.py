"""The inference server logs to a real collector: every answered inference arrives, paired."""

from __future__ import annotations

import time

import httpx
import pytest
from monitoring_fixtures import MODEL, running_app
from serving_fixtures import _export_tiny_model, random_features, running_server

from braking_data.contract import EXPECTED_ERROR_TENSOR, INPUT_TENSOR, OUTPUT_TENSOR
from braking_monitoring.app import build_app
from braking_monitoring.config import CollectorConfig
from braking_monitoring.store import InferenceStore
from braking_serving.client import InferenceClient
from braking_serving.config import ServerConfig


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    """A small real ONNX regressor (no training run needed to test capture)."""
    return _export_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def test_served_inferences_reach_the_collector_paired(tmp_path, monkeypatch, tiny_model_dir):
    collector_app = build_app(CollectorConfig(store=str(tmp_path / "log")))
    with running_app(collector_app) as collector_url:
        monkeypatch.setenv("BRAKING_SERVING_LOGGER_URL", collector_url)
        monkeypatch.setenv("BRAKING_SERVING_LOGGER_BATCH_INTERVAL_SECONDS", "0.05")
        with running_server(ServerConfig(models={MODEL: tiny_model_dir})) as server_url:
            client = InferenceClient(f"{server_url}/v2/models/{MODEL}")
            predictions = [client.predict(random_features(3, seed=s)) for s in range(5)]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                info = httpx.get(f"{collector_url}/info").json()
                if info.get(MODEL, {}).get("data", {}).get("observations") == 15:
                    break
                time.sleep(0.05)
            metrics = httpx.get(f"{server_url}/metrics").text
        status = httpx.get(f"{collector_url}/monitor/status").json()
    assert info[MODEL]["data"]["observations"] == 15
    assert status["pending_events"] == 0  # every request met its response
    assert "braking_serving_inference_log_sent_total 10.0" in metrics
    assert "braking_serving_inference_log_dropped_total 0.0" in metrics
    served = collector_app.state.collector.monitors[MODEL].recent_frame(15)[1]
    assert [round(float(v), 5) for v in served] == [
        round(float(v), 5) for p in predictions for v in p
    ]


def test_the_served_expected_error_reaches_the_log(tmp_path, monkeypatch, trained_model_dir):
    rows = random_features(4, seed=1)
    body = {"inputs": [{"name": INPUT_TENSOR, "shape": [4, 7], "datatype": "FP32",
                        "data": rows.ravel().tolist()}]}  # fmt: skip
    collector_app = build_app(CollectorConfig(store=str(tmp_path / "log")))
    with running_app(collector_app) as collector_url:
        monkeypatch.setenv("BRAKING_SERVING_LOGGER_URL", collector_url)
        monkeypatch.setenv("BRAKING_SERVING_LOGGER_BATCH_INTERVAL_SECONDS", "0.05")
        with running_server(ServerConfig(models={MODEL: trained_model_dir})) as server_url:
            answer = httpx.post(f"{server_url}/v2/models/{MODEL}/infer", json=body).json()
            deadline = time.monotonic() + 10
            while collector_app.state.collector.monitor(MODEL).observations < 4:
                assert time.monotonic() < deadline, "the inference never reached the collector"
                time.sleep(0.05)
    served = {output["name"]: output["data"] for output in answer["outputs"]}
    collector_app.state.collector.store.flush()
    logged = InferenceStore(str(tmp_path / "log")).read(MODEL)
    assert logged.column("prediction").to_pylist() == pytest.approx(served[OUTPUT_TENSOR])
    assert logged.column("expected_error").to_pylist() == pytest.approx(
        served[EXPECTED_ERROR_TENSOR]
    )
