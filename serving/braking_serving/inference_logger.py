"""Inference logging the way a KServe InferenceService `logger` does it, off the request path.

Each inference becomes two CloudEvents that share one `ce-id`: type
`org.kubeflow.serving.inference.request` carrying the Open Inference Protocol request body and
`org.kubeflow.serving.inference.response` carrying the response body, with the extensions
`inferenceservicename`, `namespace`, `component` and `endpoint` (KServe `pkg/logger`). `mode`
picks all, request or response events, `url` where they go.

The request path only appends to a bounded asyncio queue (`log()` never awaits); a sender
task drains it in batches of up to `batch_size` events or every `batch_interval_seconds`.
With `batch_size` 1 every event goes alone in CloudEvents binary mode (exactly KServe's wire
format); larger batches go as one `application/cloudevents-batch+json` body (the CloudEvents
HTTP batch format), so capture costs one HTTP request per batch, not two per inference. A full
queue drops the inference and counts it in `braking_serving_inference_log_dropped_total`;
events the collector refuses or cannot be reached for are counted in `..._failed_total`.
Nothing is lost silently, and nothing ever blocks an inference.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import orjson
from prometheus_client import CollectorRegistry, Counter
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger(__name__)

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"
SPEC_VERSION = "1.0"


class InferenceLoggerConfig(BaseSettings):
    """Where and how inferences are logged. Env prefix BRAKING_SERVING_LOGGER_.

    The field names follow `spec.predictor.logger` of a KServe InferenceService."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_SERVING_LOGGER_")

    url: str | None = Field(None, description="collector URL; None turns logging off")
    mode: Literal["all", "request", "response"] = Field("all", description="events to send")
    batch_size: int = Field(64, ge=1, le=10_000, description="events per HTTP request at most")
    batch_interval_seconds: float = Field(
        0.2, gt=0, description="longest time an event waits for its batch to fill"
    )
    queue_size: int = Field(20_000, ge=1, description="inferences waiting to be sent at most")
    namespace: str = Field("local", description="`namespace` extension (the ISVC's namespace)")
    component: str = Field("predictor", description="`component` extension")
    endpoint: str = Field("default", description="`endpoint` extension: default or canary")
    source: str = Field("braking-serving", description="CloudEvents `source` attribute")
    timeout_seconds: float = Field(5.0, gt=0, description="HTTP timeout of one batch")


@dataclass(frozen=True)
class _Inference:
    model: str
    request: bytes
    response: bytes
    time: float
    id: str | None


class LoggerMetrics:
    """Counters of sent, dropped (queue full) and failed (collector error) inferences."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        def counter(name: str, doc: str) -> Counter:
            return Counter(f"braking_serving_inference_log_{name}", doc, registry=registry)

        self.sent = counter("sent", "Inference events delivered to the logger URL.")
        self.dropped = counter("dropped", "Inferences not logged because the queue was full.")
        self.failed = counter("failed", "Inference events the logger URL refused or missed.")


class InferenceLogger:
    """Bounded, batched CloudEvents sender; `log()` is the only call on the request path."""

    def __init__(
        self, config: InferenceLoggerConfig, registry: CollectorRegistry | None = None
    ) -> None:
        if not config.url:
            raise ValueError("InferenceLoggerConfig.url: expected a collector URL, got none")
        self.config = config
        self.url: str = config.url
        self.metrics = LoggerMetrics(registry)
        self._queue: asyncio.Queue[_Inference] = asyncio.Queue(config.queue_size)
        self._sender: asyncio.Task | None = None
        self._types = {
            "all": (REQUEST_TYPE, RESPONSE_TYPE),
            "request": (REQUEST_TYPE,),
            "response": (RESPONSE_TYPE,),
        }[config.mode]

    def log(
        self, model: str, request: bytes, response: bytes, request_id: str | None = None
    ) -> None:
        """Queue one inference; drops and counts it when the queue is full. Never waits.

        The request's own `id` (OIP) becomes the events' `ce-id` when given, so labels that
        arrive later can name the inference by the id the client chose."""
        try:
            self._queue.put_nowait(_Inference(model, request, response, time.time(), request_id))
        except asyncio.QueueFull:
            self.metrics.dropped.inc()

    async def start(self) -> None:
        """Start the sender task on the running event loop."""
        import httpx

        self._http = httpx.AsyncClient(timeout=self.config.timeout_seconds)
        self._sender = asyncio.create_task(self._send_forever(), name="inference-logger")

    async def stop(self, drain_seconds: float = 5.0) -> None:
        """Send what is queued (for at most `drain_seconds`), then stop."""
        if self._sender is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._queue.join(), drain_seconds)
        self._sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._sender
        await self._http.aclose()
        self._sender = None

    async def _send_forever(self) -> None:
        events_per_inference = len(self._types)
        while True:
            batch = [await self._queue.get()]
            deadline = time.monotonic() + self.config.batch_interval_seconds
            while (len(batch) + 1) * events_per_inference <= self.config.batch_size:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), remaining))
                except TimeoutError:
                    break
            try:
                await self._send([e for inference in batch for e in self.events(inference)])
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _send(self, events: list[CloudEvent]) -> None:
        """One batch request, or (batch size 1) one binary-mode request per event."""
        if self.config.batch_size == 1:
            requests = [binary_mode(event) for event in events]
        else:
            body = orjson.dumps([structured(event) for event in events])
            requests = [({"content-type": BATCH_CONTENT_TYPE}, body)]
        per_request = len(events) // len(requests)
        for headers, body in requests:
            try:
                response = await self._http.post(self.url, content=body, headers=headers)
                ok = response.status_code < 300
                if not ok:
                    log.warning(
                        "logger URL answered %s: %s", response.status_code, response.text[:200]
                    )
            except Exception as error:  # the collector may be down: count, never crash the server
                log.warning("cannot send %d inference events: %s", per_request, error)
                ok = False
            (self.metrics.sent if ok else self.metrics.failed).inc(per_request)

    def events(self, inference: _Inference) -> list[CloudEvent]:
        """The CloudEvents of one inference: request and/or response with one shared id."""
        event_id = inference.id or str(uuid.uuid4())
        when = datetime.fromtimestamp(inference.time, UTC).isoformat().replace("+00:00", "Z")
        bodies = {REQUEST_TYPE: inference.request, RESPONSE_TYPE: inference.response}
        return [
            CloudEvent(
                id=event_id,
                type=event_type,
                source=self.config.source,
                time=when,
                extensions={
                    "inferenceservicename": inference.model,
                    "namespace": self.config.namespace,
                    "component": self.config.component,
                    "endpoint": self.config.endpoint,
                },
                data=bodies[event_type],
            )
            for event_type in self._types
        ]


@dataclass(frozen=True)
class CloudEvent:
    """A CloudEvent whose data is a JSON document held as bytes."""

    id: str
    type: str
    source: str
    time: str
    extensions: dict[str, str]
    data: bytes


def binary_mode(event: CloudEvent) -> tuple[dict[str, str], bytes]:
    """HTTP headers and body of `event` in binary content mode (attributes as ce-* headers)."""
    headers = {
        "ce-specversion": SPEC_VERSION,
        "ce-id": event.id,
        "ce-type": event.type,
        "ce-source": event.source,
        "ce-time": event.time,
        "content-type": "application/json",
    }
    headers.update({f"ce-{name}": value for name, value in event.extensions.items()})
    return headers, event.data


def structured(event: CloudEvent) -> dict:
    """`event` in structured content mode: attributes and the JSON data in one object."""
    return {
        "specversion": SPEC_VERSION,
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "datacontenttype": "application/json",
        **event.extensions,
        "data": orjson.Fragment(event.data),
    }


def inference_logger_for(metrics) -> InferenceLogger | None:
    """The server's logger when BRAKING_SERVING_LOGGER_URL is set, its counters registered
    with the server's own metrics (`metrics` may be None: metrics off)."""
    config = InferenceLoggerConfig()
    if not config.url:
        return None
    registry = metrics.registry if metrics is not None else CollectorRegistry()
    return InferenceLogger(config, registry)
