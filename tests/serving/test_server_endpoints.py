"""Every endpoint of the local server, its answers checked against the OIP spec's schemas."""

from __future__ import annotations

import httpx
import jsonschema
import numpy as np
import pytest
import yaml
from serving_fixtures import MODEL_NAME, random_features

from braking_data.contract import EXPECTED_ERROR_TENSOR, INPUT_TENSOR, OUTPUT_TENSOR
from braking_serving.client import InferenceClient


@pytest.fixture(scope="module")
def oip_schema(shared_reference):
    spec = yaml.safe_load((shared_reference / "openapi" / "open-inference-rest.yaml").read_text())

    def check(instance: object, schema_name: str) -> None:
        schema = {"$ref": f"#/components/schemas/{schema_name}", "components": spec["components"]}
        jsonschema.validate(instance, schema)

    return check


@pytest.fixture(scope="module")
def http(server_url):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        yield client


def _infer_body(rows: np.ndarray, **extra) -> dict:
    tensor = {"name": INPUT_TENSOR, "shape": list(rows.shape), "datatype": "FP32"}
    return {"inputs": [{**tensor, "data": rows.ravel().tolist()}], **extra}


def test_health_endpoints_answer_ok(http):
    assert http.get("/v2/health/live").status_code == 200
    assert http.get("/v2/health/ready").status_code == 200


@pytest.mark.parametrize("path", ["/v2", "/v2/"])
def test_server_metadata_matches_spec(http, oip_schema, path):
    response = http.get(path)
    assert response.status_code == 200
    oip_schema(response.json(), "metadata_server_response")
    assert "model_repository" in response.json()["extensions"]


@pytest.mark.parametrize(
    "path", [f"/v2/models/{MODEL_NAME}", f"/v2/models/{MODEL_NAME}/versions/1"]
)
def test_model_metadata_describes_the_contract_tensors(http, oip_schema, path):
    response = http.get(path)
    assert response.status_code == 200
    metadata = response.json()
    oip_schema(metadata, "metadata_model_response")
    assert metadata["name"] == MODEL_NAME
    assert metadata["inputs"] == [{"name": INPUT_TENSOR, "datatype": "FP32", "shape": [-1, 7]}]
    assert [output["name"] for output in metadata["outputs"]] == [
        OUTPUT_TENSOR,
        EXPECTED_ERROR_TENSOR,
    ]


@pytest.mark.parametrize(
    "path", [f"/v2/models/{MODEL_NAME}/ready", f"/v2/models/{MODEL_NAME}/versions/1/ready"]
)
def test_model_ready(http, path):
    response = http.get(path)
    assert response.status_code == 200
    assert response.json()["ready"] is True


@pytest.mark.parametrize("rows", [1, 3, 64, 1000])
def test_infer_equals_onnxruntime_in_process(http, oip_schema, reference_session, rows):
    features = random_features(rows, seed=rows)
    response = http.post(f"/v2/models/{MODEL_NAME}/infer", json=_infer_body(features, id="r-1"))
    assert response.status_code == 200, response.text
    body = response.json()
    oip_schema(body, "inference_response")
    # No `outputs` in the request: the brake and its expected error, in the graph's order.
    names = [OUTPUT_TENSOR, EXPECTED_ERROR_TENSOR]
    assert [output["name"] for output in body["outputs"]] == names
    for output, expected in zip(
        body["outputs"], reference_session.run(names, {INPUT_TENSOR: features}), strict=True
    ):
        assert output["datatype"] == "FP32"
        assert output["shape"] == list(expected.shape)
        np.testing.assert_array_equal(np.asarray(output["data"], np.float32), expected.ravel())
    assert body["id"] == "r-1"
    assert body["model_name"] == MODEL_NAME
    assert body["model_version"] == "1"


def test_infer_on_versioned_path_with_parameters_and_output_selection(http, oip_schema):
    features = random_features(2)
    body = _infer_body(
        features,
        parameters={"priority": 1, "content_type": "np"},
        outputs=[{"name": OUTPUT_TENSOR, "parameters": {"binary_data": False}}],
    )
    body["inputs"][0]["parameters"] = {"content_type": "np"}
    response = http.post(f"/v2/models/{MODEL_NAME}/versions/1/infer", json=body)
    assert response.status_code == 200, response.text
    oip_schema(response.json(), "inference_response")
    assert "id" not in response.json()


@pytest.mark.parametrize("names", [[OUTPUT_TENSOR], [EXPECTED_ERROR_TENSOR]])
def test_infer_returns_only_the_outputs_a_request_names(http, reference_session, names):
    features = random_features(4, seed=9)
    body = _infer_body(features, outputs=[{"name": name} for name in names])
    response = http.post(f"/v2/models/{MODEL_NAME}/infer", json=body)
    assert response.status_code == 200, response.text
    (output,) = response.json()["outputs"]
    (expected,) = reference_session.run(names, {INPUT_TENSOR: features})
    assert output["name"] == names[0]
    np.testing.assert_array_equal(np.float32(output["data"]), expected.ravel())


def test_infer_accepts_nested_row_data(http, reference_session):
    features = random_features(2)
    body = _infer_body(features)
    body["inputs"][0]["data"] = features.tolist()
    response = http.post(f"/v2/models/{MODEL_NAME}/infer", json=body)
    assert response.status_code == 200, response.text
    expected = reference_session.run([OUTPUT_TENSOR], {INPUT_TENSOR: features})[0]
    np.testing.assert_array_equal(
        np.float32(response.json()["outputs"][0]["data"]), expected.ravel()
    )


def test_client_predict_and_metadata(server_url, reference_session):
    features = random_features(5, seed=3)
    with InferenceClient(f"{server_url}/v2/models/{MODEL_NAME}") as client:
        assert client.model_ready()
        assert client.metadata()["name"] == MODEL_NAME
        amounts = client.predict(features)
        single = client.predict(features[0].tolist())
    expected = reference_session.run([OUTPUT_TENSOR], {INPUT_TENSOR: features})[0].ravel()
    np.testing.assert_array_equal(amounts, expected)
    assert single.shape == (1,) and single[0] == expected[0]


def test_metrics_count_requests_by_model_and_status(http):
    http.post(f"/v2/models/{MODEL_NAME}/infer", json=_infer_body(random_features(1)))
    http.get("/v2/models/no-such-model")
    text = http.get("/metrics").text
    assert (
        f'braking_serving_requests_total{{code="200",endpoint="infer",model="{MODEL_NAME}"}}'
        in text
    )
    assert 'braking_serving_requests_total{code="404"' in text
    assert "braking_serving_request_duration_seconds_bucket" in text
