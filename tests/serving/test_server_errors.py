"""Bad requests get a 4xx with an OIP error body naming the problem; the server keeps serving."""

from __future__ import annotations

import json

import httpx
import pytest
from serving_fixtures import MODEL_NAME, random_features, running_server

from braking_data.contract import INPUT_TENSOR
from braking_serving.config import ServerConfig

INFER = f"/v2/models/{MODEL_NAME}/infer"


def _tensor(**overrides) -> dict:
    tensor = {"name": INPUT_TENSOR, "shape": [1, 7], "datatype": "FP32", "data": [1.0] * 7}
    return {**tensor, **overrides}


def _body(**overrides) -> bytes:
    return json.dumps({"inputs": [_tensor(**overrides)]}).encode()


CASES = [
    # (case id, method, path, body, status, words the error must contain)
    ("unknown model", "POST", "/v2/models/nope/infer", _body(), 404, ["'nope'", "not loaded"]),
    ("unknown version", "GET", f"/v2/models/{MODEL_NAME}/versions/9", None, 404, ["'9'"]),
    ("unknown model ready", "GET", "/v2/models/nope/ready", None, 404, ["'nope'"]),
    (
        "wrong input name",
        "POST",
        INFER,
        _body(name="dense_input"),
        400,
        ["'dense_input'", INPUT_TENSOR],
    ),
    ("wrong datatype", "POST", INFER, _body(datatype="FP64"), 400, ["'FP64'", "'FP32'"]),
    ("wrong shape", "POST", INFER, _body(shape=[1, 6], data=[1.0] * 6), 400, ["[1, 6]", "[-1, 7]"]),
    ("negative shape", "POST", INFER, _body(shape=[-1, 7]), 400, ["shape", "non-negative"]),
    ("data shorter than shape", "POST", INFER, _body(shape=[2, 7]), 400, ["7 values", "14"]),
    ("data longer than shape", "POST", INFER, _body(data=[1.0] * 8), 400, ["8 values", "7"]),
    (
        "NaN literal",
        "POST",
        INFER,
        b'{"inputs":[{"name":"sensor_features","shape":[1,7],"datatype":"FP32",'
        b'"data":[NaN,1,1,1,1,1,1]}]}',
        400,
        ["NaN", "finite"],
    ),
    (
        "Infinity literal",
        "POST",
        INFER,
        _body(data=[float("inf")] + [1.0] * 6),
        400,
        ["Infinity", "finite"],
    ),
    (
        "overflows FP32",
        "POST",
        INFER,
        _body(data=[1e39] + [1.0] * 6),
        400,
        ["index [0, 0]", "finite"],
    ),
    ("string data", "POST", INFER, _body(data=["a"] * 7), 400, ["non-numeric", "FP32"]),
    ("boolean data", "POST", INFER, _body(data=[True] * 7), 400, ["booleans"]),
    ("ragged data", "POST", INFER, _body(data=[[1.0] * 7, [1.0]]), 400, ["ragged"]),
    ("booleans among numbers", "POST", INFER, _body(data=[True] + [0.2] * 6), 400, ["booleans"]),
    (
        "nested booleans among numbers",
        "POST",
        INFER,
        _body(data=[[0.2] * 6 + [False]]),
        400,
        ["booleans", "FP32"],
    ),
    (
        "nesting other than the shape",
        "POST",
        INFER,
        _body(shape=[2, 7], data=[[1.0, 2.0]] * 7),
        400,
        ["[7, 2]", "[2, 7]"],
    ),
    ("JSON nested 1025 deep", "POST", INFER, b"[" * 1025 + b"]" * 1025, 400, ["1024 levels"]),
    ("JSON nested 100k deep", "POST", INFER, b"[" * 100_000, 400, ["1024 levels"]),
    ("malformed JSON", "POST", INFER, b'{"inputs": [', 400, ["not valid JSON"]),
    ("body not an object", "POST", INFER, b"[1, 2]", 400, ["JSON object"]),
    ("no inputs", "POST", INFER, b'{"inputs": []}', 400, ["'inputs'"]),
    (
        "unknown output",
        "POST",
        INFER,
        json.dumps({"inputs": [_tensor()], "outputs": [{"name": "Identity:0"}]}).encode(),
        400,
        ["'Identity:0'", "brake_amount"],
    ),
    (
        "id not a string",
        "POST",
        INFER,
        json.dumps({"inputs": [_tensor()], "id": 7}).encode(),
        400,
        ["'id'"],
    ),
    (
        "parameters not an object",
        "POST",
        INFER,
        json.dumps({"inputs": [_tensor()], "parameters": [1]}).encode(),
        400,
        ["parameters"],
    ),
    ("GET on infer", "GET", INFER, None, 405, ["GET", "POST"]),
    ("POST on health", "POST", "/v2/health/ready", b"", 405, ["POST", "GET"]),
    ("unknown path", "GET", "/v3/models", None, 404, ["/v3/models"]),
    (
        "bad repository name",
        "POST",
        "/v2/repository/models/Bad_Name/load",
        b"{}",
        400,
        ["DNS-1123"],
    ),
]


@pytest.fixture(scope="module")
def http(server_url):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        yield client


def _assert_still_serving(http: httpx.Client) -> None:
    rows = random_features(2)
    tensor = _tensor(shape=[2, 7], data=rows.ravel().tolist())
    response = http.post(INFER, json={"inputs": [tensor]})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_bad_request_is_named_and_server_keeps_serving(http, method, path, body, status, words):
    response = http.request(method, path, content=body)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    message = response.json()["error"]
    for word in words:
        assert word in message, f"{word!r} not in error {message!r}"
    assert "Error" not in message and "Traceback" not in message  # no exception text
    if status == 405:
        assert response.headers["allow"] == words[-1]
    _assert_still_serving(http)


def test_a_rejected_request_logs_at_most_one_line(http, caplog):
    with caplog.at_level("DEBUG"):
        response = http.post(INFER, content=b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 400
    assert "exceeded" not in response.text and "Recursion" not in response.text
    server_logs = [
        record for record in caplog.records if not record.name.startswith(("httpx", "httpcore"))
    ]
    # today: two tracebacks, about 2 KB
    assert sum(len(caplog.handler.format(record)) for record in server_logs) < 300


def test_body_over_the_limit_is_413(serving_model_dir):
    config = ServerConfig(models={MODEL_NAME: serving_model_dir}, max_body_bytes=4096)
    with running_server(config) as url, httpx.Client(base_url=url) as http:
        big = _tensor(shape=[200, 7], data=[1.0] * 1400)
        response = http.post(INFER, json={"inputs": [big]})
        assert response.status_code == 413
        assert "4096" in response.json()["error"]

        def chunks():  # no content-length: the limit still holds while streaming
            yield b'{"inputs": [' + b" " * 5000

        response = http.post(INFER, content=chunks())
        assert response.status_code == 413
        _assert_still_serving(http)


def test_bearer_token_is_required_except_for_health(serving_model_dir):
    config = ServerConfig(models={MODEL_NAME: serving_model_dir}, token="s3cret")
    with running_server(config) as url, httpx.Client(base_url=url) as http:
        assert http.get("/v2/health/live").status_code == 200
        missing = http.get(f"/v2/models/{MODEL_NAME}")
        assert missing.status_code == 401
        assert "Authorization" in missing.json()["error"]
        assert missing.headers["www-authenticate"] == "Bearer"
        wrong = http.get(f"/v2/models/{MODEL_NAME}", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        other_scheme = http.get(f"/v2/models/{MODEL_NAME}", headers={"Authorization": "s3cret"})
        assert other_scheme.status_code == 401
        for scheme in ("bearer", "BEARER", "BeArEr"):  # RFC 7235: the scheme is case-insensitive
            lower = http.get(
                f"/v2/models/{MODEL_NAME}", headers={"Authorization": f"{scheme} s3cret"}
            )
            assert lower.status_code == 200, scheme
        http.headers["Authorization"] = "Bearer s3cret"
        assert http.get(f"/v2/models/{MODEL_NAME}").status_code == 200
        _assert_still_serving(http)
