"""Inference CloudEvents in, inference rows out: parsing (binary, structured and batch content
modes), pairing a request with its response by `ce-id`, and turning the pair's Open Inference
Protocol bodies into one row per inference (features, prediction, ids).
"""

from __future__ import annotations

import base64
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import orjson

from braking_data.contract import (
    EXPECTED_ERROR_TENSOR,
    FEATURE_COLUMNS,
    INPUT_TENSOR,
    OUTPUT_TENSOR,
)

REQUEST_TYPE = "org.kubeflow.serving.inference.request"
RESPONSE_TYPE = "org.kubeflow.serving.inference.response"
STRUCTURED = "application/cloudevents+json"
BATCH = "application/cloudevents-batch+json"
REQUIRED = ("id", "type", "source", "specversion")


class EventError(ValueError):
    """An HTTP request that is not a valid inference CloudEvent; the message says why."""


@dataclass(frozen=True)
class InferenceEvent:
    """One request or response event of an inference."""

    id: str
    type: str
    model: str
    data: dict
    attributes: dict[str, str] = field(default_factory=dict)


def parse_events(headers: dict[str, str], body: bytes) -> list[InferenceEvent]:
    """The inference events of one HTTP request in any of the three content modes."""
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if content_type == BATCH:
            document = orjson.loads(body)
            if not isinstance(document, list):
                raise EventError(f"a {BATCH} body must be a JSON array of events")
            return [_structured(item, f"event[{i}]") for i, item in enumerate(document)]
        if content_type == STRUCTURED:
            return [_structured(orjson.loads(body), "event")]
        attributes = {k[3:]: v for k, v in headers.items() if k.startswith("ce-")}
        return [_event(attributes, orjson.loads(body) if body else None, "headers")]
    except orjson.JSONDecodeError as error:
        raise EventError(f"event body is not valid JSON: {error}") from None


def _structured(document: object, where: str) -> InferenceEvent:
    if not isinstance(document, dict):
        raise EventError(f"{where}: expected a JSON object, got {type(document).__name__}")
    attributes = {k: v for k, v in document.items() if k not in ("data", "data_base64")}
    data = document.get("data")
    if data is None and "data_base64" in document:
        data = orjson.loads(base64.b64decode(document["data_base64"]))
    return _event(attributes, data, where)


def _event(attributes: dict, data: object, where: str) -> InferenceEvent:
    missing = [name for name in REQUIRED if not attributes.get(name)]
    if missing:
        raise EventError(f"{where}: missing CloudEvents attribute(s) {', '.join(missing)}")
    event_type = attributes["type"]
    if event_type not in (REQUEST_TYPE, RESPONSE_TYPE):
        raise EventError(
            f"{where}: type {event_type!r} is not an inference event; expected "
            f"{REQUEST_TYPE!r} or {RESPONSE_TYPE!r}"
        )
    if not isinstance(data, dict):
        raise EventError(f"{where}: data must be an Open Inference Protocol JSON object")
    model = attributes.get("inferenceservicename") or data.get("model_name")
    if not model:
        raise EventError(f"{where}: no 'inferenceservicename' extension and no model_name")
    return InferenceEvent(attributes["id"], event_type, str(model), data, attributes)


@dataclass(frozen=True)
class InferenceRows:
    """The rows of one inference: ids, features (n x 7), predictions (n), the model's own
    expected errors (n, NaN when the response did not carry them) and its version."""

    model: str
    version: str
    ids: list[str]
    features: np.ndarray
    predictions: np.ndarray
    time: float
    expected_errors: np.ndarray | None = None

    def expected(self) -> np.ndarray:
        """The expected errors, NaN where the response had none."""
        if self.expected_errors is None:
            return np.full(len(self.ids), np.nan)
        return self.expected_errors


def _tensor(tensors: object, name: str, where: str, fallback: bool = True) -> np.ndarray | None:
    """The tensor called `name`; when absent and `fallback`, the first one that is not the
    expected error (a server that names its output otherwise); else None."""
    if not isinstance(tensors, list) or not tensors:
        raise EventError(f"{where}: expected a non-empty list of tensors")
    chosen = next((t for t in tensors if isinstance(t, dict) and t.get("name") == name), None)
    if chosen is None and fallback:
        chosen = next(
            (
                t
                for t in tensors
                if not isinstance(t, dict) or t.get("name") != EXPECTED_ERROR_TENSOR
            ),
            None,
        )
    if chosen is None:
        return None
    try:
        return np.asarray(chosen["data"], dtype=np.float64).reshape(chosen["shape"])
    except (KeyError, TypeError, ValueError) as error:
        label = chosen.get("name") if isinstance(chosen, dict) else chosen
        raise EventError(f"{where}: tensor {label!r} is malformed ({error})") from None


def rows_of(
    request: dict | None, response: dict | None, event_id: str, model: str
) -> InferenceRows:
    """Rows of a request/response pair (either may be missing, and a response may carry
    only some outputs: NaN fills the missing columns)."""
    features: np.ndarray | None = None
    predictions: np.ndarray | None = None
    expected: np.ndarray | None = None
    if request is not None:
        features = _tensor(request.get("inputs"), INPUT_TENSOR, "request.inputs")
        if features is not None:
            features = features.reshape(-1, len(FEATURE_COLUMNS))
    if response is not None:
        outputs = response.get("outputs")
        predictions = _tensor(outputs, OUTPUT_TENSOR, "response.outputs")
        expected = _tensor(outputs, EXPECTED_ERROR_TENSOR, "response.outputs", fallback=False)
        predictions = None if predictions is None else predictions.reshape(-1)
        expected = None if expected is None else expected.reshape(-1)
    present = [v for v in (features, predictions, expected) if v is not None]
    if not present:
        raise EventError(f"inference {event_id}: neither a request nor a response")
    count = len(present[0])
    if features is None:
        features = np.full((count, len(FEATURE_COLUMNS)), np.nan)
    if predictions is None:
        predictions = np.full(count, np.nan)
    if len(predictions) != count:
        raise EventError(f"inference {event_id}: {count} input rows but {len(predictions)} outputs")
    if expected is not None and expected.size != count:
        raise EventError(
            f"inference {event_id}: {count} input rows but {expected.size} expected errors"
        )
    version = str((response or {}).get("model_version") or "unknown")
    ids = [event_id] if count == 1 else [f"{event_id}:{i}" for i in range(count)]
    return InferenceRows(model, version, ids, features, predictions, time.time(), expected)


class Pairer:
    """Joins request and response events by id; unpaired halves expire after `timeout`.

    With `expect` = ("request",) or ("response",) (a logger in that mode) a single event is a
    whole inference. At most `max_pending` halves wait; older ones are evicted first.
    """

    def __init__(self, timeout_seconds: float = 60.0, max_pending: int = 100_000) -> None:
        self.timeout = timeout_seconds
        self.max_pending = max_pending
        self._pending: OrderedDict[str, tuple[float, InferenceEvent]] = OrderedDict()
        self.expired = 0

    def add(self, event: InferenceEvent) -> InferenceRows | None:
        """The inference's rows once both halves are here, else None."""
        other = self._pending.pop(event.id, None)
        if other is None:
            self._pending[event.id] = (time.monotonic(), event)
            while len(self._pending) > self.max_pending:
                self._pending.popitem(last=False)
                self.expired += 1
            return None
        halves = {event.type: event.data, other[1].type: other[1].data}
        return rows_of(halves.get(REQUEST_TYPE), halves.get(RESPONSE_TYPE), event.id, event.model)

    def expire(self) -> list[InferenceRows]:
        """Halves older than the timeout: requests become rows without prediction."""
        cutoff = time.monotonic() - self.timeout
        rows = []
        while self._pending:
            event_id, (seen, event) = next(iter(self._pending.items()))
            if seen > cutoff:
                break
            del self._pending[event_id]
            self.expired += 1
            if event.type == REQUEST_TYPE:
                rows.append(rows_of(event.data, None, event.id, event.model))
        return rows

    @property
    def pending(self) -> int:
        """Halves waiting for their other half."""
        return len(self._pending)
