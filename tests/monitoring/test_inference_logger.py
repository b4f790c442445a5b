"""The KServe-style inference logger: wire format, modes, batching, the bounded queue."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from monitoring_fixtures import running_app
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from braking_monitoring.events import parse_events
from braking_serving.inference_logger import (
    REQUEST_TYPE,
    RESPONSE_TYPE,
    InferenceLogger,
    InferenceLoggerConfig,
)

REQUEST = orjson.dumps(
    {
        "inputs": [
            {
                "name": "sensor_features",
                "shape": [1, 7],
                "datatype": "FP32",
                "data": [294, 302, 338, 324, 50, 80, 0.85],
            }
        ]
    }
)
RESPONSE = orjson.dumps(
    {
        "model_name": "braking-distance",
        "model_version": "2",
        "outputs": [{"name": "brake_amount", "shape": [1, 1], "datatype": "FP32", "data": [0.5]}],
    }
)


@pytest.fixture(scope="module")
def recorder():
    """A logger URL that records every HTTP request it receives."""
    received: list[tuple[dict, bytes]] = []

    async def record(request: Request) -> Response:
        received.append(({k.lower(): v for k, v in request.headers.items()}, await request.body()))
        return Response(status_code=202)

    with running_app(Starlette(routes=[Route("/", record, methods=["POST"])])) as url:
        yield url, received


def _log(config: InferenceLoggerConfig, inferences: int, registry=None) -> InferenceLogger:
    async def main() -> InferenceLogger:
        logger = InferenceLogger(config, registry or CollectorRegistry())
        await logger.start()
        for _ in range(inferences):
            logger.log("braking-distance", REQUEST, RESPONSE)
        await logger.stop()
        return logger

    return asyncio.run(main())


def test_batch_of_one_is_kserve_binary_mode(recorder):
    url, received = recorder
    received.clear()
    _log(InferenceLoggerConfig(url=url, batch_size=1), 1)
    assert len(received) == 2
    (req_headers, req_body), (resp_headers, resp_body) = received
    assert req_headers["ce-type"] == REQUEST_TYPE and resp_headers["ce-type"] == RESPONSE_TYPE
    assert req_headers["ce-id"] == resp_headers["ce-id"]
    for name, value in {
        "ce-specversion": "1.0",
        "ce-inferenceservicename": "braking-distance",
        "ce-namespace": "local",
        "ce-component": "predictor",
        "ce-endpoint": "default",
        "content-type": "application/json",
    }.items():
        assert req_headers[name] == value
    assert orjson.loads(req_body) == orjson.loads(REQUEST)
    assert orjson.loads(resp_body) == orjson.loads(RESPONSE)


def test_batches_carry_many_events_in_one_request(recorder):
    url, received = recorder
    received.clear()
    logger = _log(InferenceLoggerConfig(url=url, batch_size=64, batch_interval_seconds=0.5), 40)
    assert len(received) <= 3  # 80 events in at most ceil(80 / 64) + 1 requests
    events = [e for headers, body in received for e in parse_events(headers, body)]
    assert len(events) == 80
    assert {e.type for e in events} == {REQUEST_TYPE, RESPONSE_TYPE}
    assert len({e.id for e in events}) == 40
    assert logger.metrics.sent._value.get() == 80


@pytest.mark.parametrize(
    ("mode", "types"), [("request", {REQUEST_TYPE}), ("response", {RESPONSE_TYPE})]
)
def test_modes_send_only_their_half(recorder, mode, types):
    url, received = recorder
    received.clear()
    _log(InferenceLoggerConfig(url=url, mode=mode, batch_size=8), 3)
    events = [e for headers, body in received for e in parse_events(headers, body)]
    assert len(events) == 3 and {e.type for e in events} == types


def test_full_queue_drops_and_counts_without_blocking():
    async def main() -> InferenceLogger:
        logger = InferenceLogger(
            InferenceLoggerConfig(url="http://127.0.0.1:9/", queue_size=3), CollectorRegistry()
        )
        for _ in range(5):  # no sender running: the queue fills
            logger.log("braking-distance", REQUEST, RESPONSE)
        return logger

    logger = asyncio.run(main())
    assert logger.metrics.dropped._value.get() == 2


def test_unreachable_collector_counts_failed_events():
    registry = CollectorRegistry()
    config = InferenceLoggerConfig(url="http://127.0.0.1:9/", batch_size=4, timeout_seconds=1)
    _log(config, 2, registry)
    assert registry.get_sample_value("braking_serving_inference_log_failed_total") == 4
    assert registry.get_sample_value("braking_serving_inference_log_dropped_total") == 0


def test_logger_needs_a_url():
    with pytest.raises(ValueError, match="url"):
        InferenceLogger(InferenceLoggerConfig())
