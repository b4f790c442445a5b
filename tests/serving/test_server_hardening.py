"""Hostile and unlucky clients: oversized headers, stalled connections, many large bodies,
large requests next to health checks, concurrent small requests (batched), the row cap."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
from serving_fixtures import MODEL_NAME, _export_tiny_model, random_features, running_server

from braking_common.http_limits import HttpLimits
from braking_data.contract import INPUT_TENSOR
from braking_serving.client import InferenceClient, InferenceError
from braking_serving.config import ServerConfig

INFER = f"/v2/models/{MODEL_NAME}/infer"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory) -> Path:
    """A small forest: these tests are about the server, not the model."""
    return _export_tiny_model(tmp_path_factory.mktemp("hardening-model"))


@pytest.fixture(scope="module")
def reference(tiny_model_dir):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(tiny_model_dir / "model.onnx"), options)


def _config(model_dir: Path, **overrides) -> ServerConfig:
    return ServerConfig(models={MODEL_NAME: model_dir}, **overrides)


def _infer_body(rows: np.ndarray) -> bytes:
    tensor = {"name": INPUT_TENSOR, "shape": list(rows.shape), "datatype": "FP32"}
    return json.dumps({"inputs": [{**tensor, "data": rows.ravel().tolist()}]}).encode()


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=20)
    return sock


def _post_head(length: int) -> bytes:
    return (
        f"POST {INFER} HTTP/1.1\r\nhost: test\r\ncontent-type: application/json\r\n"
        f"content-length: {length}\r\n\r\n"
    ).encode()


def _read_response(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def test_oversized_or_too_many_headers_get_431_before_auth(tiny_model_dir):
    limits = HttpLimits(max_header_bytes=8192, max_headers=20)
    config = _config(tiny_model_dir, token="s3cret", http=limits)
    with running_server(config) as url:
        with _connect(url) as sock:
            sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nx-big: " + b"a" * 200_000)
            response = _read_response(sock)
        assert _status(response) == 431 and b"8192 bytes" in response
        with _connect(url) as sock:
            headers = b"".join(b"x-%d: 1\r\n" % index for index in range(30))
            sock.sendall(b"GET /v2/health/live HTTP/1.1\r\nhost: t\r\n" + headers + b"\r\n")
            response = _read_response(sock)
        assert _status(response) == 431 and b"20 header fields" in response
        assert httpx.get(f"{url}/v2/health/live").status_code == 200


def test_connections_that_stall_are_answered_408_and_closed(tiny_model_dir):
    limits = HttpLimits(header_timeout_seconds=0.5, body_timeout_seconds=0.5)
    with running_server(_config(tiny_model_dir, http=limits)) as url:
        with _connect(url) as silent, _connect(url) as partial, _connect(url) as body:
            partial.sendall(b"GET /v2/health/live HTTP/1.1\r\nhost: t")
            body.sendall(_post_head(1000) + b'{"inputs": [')
            # Each read returns once the server closes: it does not wait for the client.
            assert _status(_read_response(partial)) == 408
            assert _status(_read_response(body)) == 408
            assert _status(_read_response(silent)) == 408
        assert httpx.get(f"{url}/v2/health/live").status_code == 200


def test_health_answers_while_a_large_request_computes(tiny_model_dir):
    rows = random_features(200_000, seed=3)
    config = _config(
        tiny_model_dir,
        max_body_bytes=64 << 20,
        max_rows_per_call=200_000,
        http=HttpLimits(body_timeout_seconds=600),  # a busy test machine sends slowly
    )
    arrivals: list[str] = []  # in the order the answers reach this process
    with (
        running_server(config) as url,
        _connect(url) as large,
        httpx.Client(base_url=url, timeout=60) as http,
    ):
        assert http.get("/v2/health/ready").status_code == 200  # connection open and warm
        large.sendall(_post_head(len(body := _infer_body(rows))) + body[:-1])
        # Once the server holds all but the last byte, complete the body: it then parses
        # and runs 200k rows (hundreds of ms). Ask for health meanwhile, once that has begun.
        _wait_until_read(url)
        large.settimeout(120)
        reader = threading.Thread(
            target=lambda: arrivals.append(f"large {_status(large.recv(64))}")
        )
        large.sendall(body[-1:])
        reader.start()
        time.sleep(0.1)
        health = http.get("/v2/health/ready")
        arrivals.append(f"health {health.status_code}")
        reader.join(timeout=120)
    assert arrivals == ["health 200", "large 200"]


def _proc_net_tcp() -> list[str]:
    return Path("/proc/net/tcp").read_text().splitlines()[1:]


def _wait_until_read(url: str) -> None:
    """Until no byte to or from the server's port waits in a socket queue: the server has
    read everything sent so far (Linux: /proc/net/tcp's tx_queue:rx_queue)."""
    port = f"{int(url.rsplit(':', 1)[1]):04X}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        queued = [
            int(fields[4].split(":")[0], 16) + int(fields[4].split(":")[1], 16)
            for fields in (line.split() for line in _proc_net_tcp())
            if port in (fields[1].split(":")[1], fields[2].split(":")[1])
        ]
        if not any(queued):
            time.sleep(0.2)
            return
        time.sleep(0.1)
    raise TimeoutError("the server did not read the request body")


def test_bodies_in_flight_are_bounded_in_total(tiny_model_dir):
    rows = random_features(4000, seed=4)
    body = _infer_body(rows)
    config = _config(
        tiny_model_dir,
        max_body_bytes=len(body),
        max_inflight_body_bytes=len(body),
        max_rows_per_call=len(rows),
    )
    with running_server(config) as url, _connect(url) as first, _connect(url) as second:
        first.sendall(_post_head(len(body)) + body[:-1])  # holds the whole budget
        second.sendall(_post_head(len(body)) + body)
        second.settimeout(0.5)
        with pytest.raises(TimeoutError):  # not read, let alone answered, while it waits
            second.recv(64)
        first.sendall(body[-1:])
        first.settimeout(20)
        second.settimeout(20)
        assert _status(first.recv(64)) == 200
        assert _status(second.recv(64)) == 200


def test_rows_beyond_the_limit_get_413_naming_it(tiny_model_dir):
    with running_server(_config(tiny_model_dir, max_rows_per_call=100)) as url:
        response = httpx.post(f"{url}{INFER}", content=_infer_body(random_features(101)))
        assert response.status_code == 413
        assert "100 rows" in response.json()["error"] and "max_rows_per_call" in response.text
        response = httpx.post(f"{url}{INFER}", content=_infer_body(random_features(100)))
        assert response.status_code == 200


def test_the_client_sends_batches_above_the_limit_in_parts(tiny_model_dir, reference):
    rows = random_features(1_050, seed=3)
    expected = reference.run(None, {INPUT_TENSOR: rows})[0].reshape(-1)
    with running_server(_config(tiny_model_dir, max_rows_per_call=100)) as url:
        model_url = f"{url}/v2/models/{MODEL_NAME}"
        with InferenceClient(model_url, max_rows_per_call=100) as client:
            np.testing.assert_allclose(client.predict(rows), expected, atol=1e-6)
        with (
            InferenceClient(model_url, max_rows_per_call=1_050) as client,
            pytest.raises(InferenceError, match="at most 100 rows"),
        ):
            client.predict(rows)


@pytest.mark.parametrize("batching", [True, False], ids=["batching", "no-batching"])
def test_concurrent_requests_each_get_their_own_rows(tiny_model_dir, reference, batching):
    config = _config(tiny_model_dir, batching=batching, batch_max_wait_ms=2 if batching else 0)
    requests = [random_features(1 + index % 3, seed=index) for index in range(48)]

    async def send_all(url: str) -> list[np.ndarray]:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            responses = await asyncio.gather(
                *(client.post(INFER, content=_infer_body(rows)) for rows in requests)
            )
        return [np.asarray(r.json()["outputs"][0]["data"]).reshape(-1, 1) for r in responses]

    with running_server(config) as url:
        answers = asyncio.run(send_all(url))
    for rows, answer in zip(requests, answers, strict=True):
        expected = reference.run(None, {INPUT_TENSOR: rows})[0]
        np.testing.assert_allclose(answer, expected, rtol=0, atol=1e-6)


def test_the_batcher_gathers_concurrent_requests_into_one_call():
    from braking_serving.batching import Batcher

    class CountingModel:
        def __init__(self) -> None:
            self.calls: list[int] = []

        def run(self, output_names, feeds):
            self.calls.append(len(feeds["x"]))
            return [feeds["x"] * 2]

    model = CountingModel()

    async def sixteen_requests(batcher):
        feeds = [{"x": np.full((1, 2), index, np.float32)} for index in range(16)]
        return await asyncio.gather(*(batcher.infer(model, ["y"], f, 1) for f in feeds))

    answers = asyncio.run(sixteen_requests(Batcher(10, 0.0, True, executor=None)))
    assert model.calls == [10, 6]  # bounded by max rows; nothing left waiting
    assert [float(answer[0][0, 0]) for answer in answers] == [2.0 * i for i in range(16)]
    model.calls.clear()
    asyncio.run(sixteen_requests(Batcher(10, 0.0, False, executor=None)))
    assert model.calls == [1] * 16


def test_a_request_alone_is_not_held_back_by_the_batcher():
    from braking_serving.batching import Batcher

    class Model:
        def run(self, output_names, feeds):
            return [feeds["x"]]

    async def one():
        batcher = Batcher(64, 10.0, True, executor=None)  # a 10 s wait would show
        loop = asyncio.get_running_loop()
        started = loop.time()
        await asyncio.wait_for(batcher.infer(Model(), ["y"], {"x": np.ones((64, 1))}, 64), 5)
        return loop.time() - started

    assert asyncio.run(one()) < 5  # a full batch goes at once; the wait is an upper bound


def test_a_client_that_leaves_mid_body_costs_nothing(tiny_model_dir):
    with running_server(_config(tiny_model_dir)) as url:
        for _ in range(20):
            with _connect(url) as sock:
                sock.sendall(_post_head(10_000) + b'{"inputs": [')
        response = httpx.post(f"{url}{INFER}", content=_infer_body(random_features(2)))
        assert response.status_code == 200
