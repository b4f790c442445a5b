"""The subset of TrustyAI's REST API the project uses, with TrustyAI's request and response
shapes, so a client written against this collector works against a `TrustyAIService`.

One deliberate difference: `drift_detected` applies a Bonferroni correction across the
fitted columns (TrustyAI compares each column's p-value with `thresholdDelta` as is, so with
8 columns and no drift about a third of its evaluations alarm). The per-column `p_value` is
the raw one, as in TrustyAI.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import asdict, dataclass, field
from typing import Protocol

import numpy as np

from braking_data.contract import FEATURE_COLUMNS, INPUT_TENSOR, OUTPUT_TENSOR
from braking_model.reference import PREDICTION, build_profile, ks_test
from braking_monitoring.events import EventError, rows_of
from braking_monitoring.metrics import CollectorMetrics
from braking_monitoring.monitor import ANY_VERSION, ModelMonitor

METRIC_NAME = "KSTEST"
TRAINING_TAG = "TRAINING"
COLUMN_ALIASES = {OUTPUT_TENSOR: PREDICTION}


class TrustyAIError(Exception):
    """A TrustyAI request the collector refuses, with its HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class KSTestRequest:
    """A KS drift request in TrustyAI's camelCase field names."""

    modelId: str
    referenceTag: str = TRAINING_TAG
    fitColumns: list[str] = field(default_factory=lambda: list(FEATURE_COLUMNS))
    batchSize: int = 100
    thresholdDelta: float = 0.05
    requestName: str | None = None


class Collector(Protocol):
    """What these endpoints use of the collector (`braking_monitoring.app.Collector`)."""

    monitors: dict[str, ModelMonitor]
    scheduled: dict[str, KSTestRequest]
    metrics: CollectorMetrics

    def monitor(self, model: str) -> ModelMonitor:
        """The monitor of `model`, created on first use."""
        ...

    def add_labels(self, model: str, ids: list[str], labels: list[float]) -> int:
        """Store labels and join them to served rows; returns how many matched."""
        ...


def parse_kstest(body: dict) -> KSTestRequest:
    """A KS request from TrustyAI's camelCase body; errors name the field and the value."""
    known = set(KSTestRequest.__dataclass_fields__) | {"metricName"}
    unknown = sorted(set(body) - known)
    if unknown:
        raise TrustyAIError(f"unknown field(s) {unknown}; expected some of {sorted(known)}")
    if not isinstance(body.get("modelId"), str) or not body["modelId"]:
        raise TrustyAIError(f"modelId: expected a model name, got {body.get('modelId')!r}")
    body = {k: v for k, v in body.items() if k != "metricName" and v is not None}
    request = KSTestRequest(**body)
    valid = {*FEATURE_COLUMNS, PREDICTION, *COLUMN_ALIASES}
    bad = [c for c in request.fitColumns if c not in valid]
    if not isinstance(request.fitColumns, list) or bad or not request.fitColumns:
        raise TrustyAIError(
            f"fitColumns: unknown column(s) {bad}; expected some of {sorted(valid)}"
        )
    if not isinstance(request.batchSize, int) or request.batchSize < 2:
        raise TrustyAIError(f"batchSize: expected an integer >= 2, got {request.batchSize!r}")
    if not isinstance(request.thresholdDelta, int | float) or not 0 < request.thresholdDelta < 1:
        raise TrustyAIError(
            f"thresholdDelta: expected 0 < alpha < 1, got {request.thresholdDelta!r}"
        )
    request.fitColumns = [COLUMN_ALIASES.get(c, c) for c in request.fitColumns]
    return request


def _reference(collector: Collector, request: KSTestRequest) -> dict[str, np.ndarray]:
    monitor = collector.monitors.get(request.modelId)
    if monitor is None:
        raise TrustyAIError(f"modelId: no data for model {request.modelId!r}", 404)
    profile = monitor.profiles.get(request.referenceTag) or (
        monitor.profiles.get(ANY_VERSION) if request.referenceTag == TRAINING_TAG else None
    )
    if profile is None:
        raise TrustyAIError(
            f"referenceTag: no reference data tagged {request.referenceTag!r} for model "
            f"{request.modelId!r}; upload it with /data/upload",
            404,
        )
    return {name: np.asarray(column.sample) for name, column in profile.columns.items()}


def kstest(collector: Collector, request: KSTestRequest) -> dict:
    """KS test of the last `batchSize` rows against the reference, per fitted column."""
    reference = _reference(collector, request)
    features, predictions = collector.monitors[request.modelId].recent_frame(request.batchSize)
    if len(predictions) == 0:
        raise TrustyAIError(f"no inference data for model {request.modelId!r} yet", 404)
    current = {name: features[:, i] for i, name in enumerate(FEATURE_COLUMNS)}
    current[PREDICTION] = predictions
    results = {}
    for column in request.fitColumns:
        statistic, p_value = ks_test(reference[column], current[column])
        adjusted = min(1.0, p_value * len(request.fitColumns))
        results[column] = {
            "statistic": statistic,
            "p_value": p_value,
            "drift_detected": adjusted < request.thresholdDelta,
        }
    return {
        "status": "success",
        "value": max(r["statistic"] for r in results.values()),
        "drift_detected": any(r["drift_detected"] for r in results.values()),
        "p_value": min(r["p_value"] for r in results.values()),
        "alpha": request.thresholdDelta,
        "feature_results": results,
    }


def schedule(collector: Collector, request: KSTestRequest) -> dict:
    """Schedule a recurring KS computation; returns its requestId."""
    _reference(collector, request)  # refuse a schedule that could never compute
    request_id = str(uuid.uuid4())
    collector.scheduled[request_id] = request
    return {"requestId": request_id}


def unschedule(collector: Collector, body: dict) -> dict:
    """Stop a scheduled computation and remove its gauges."""
    request_id = body.get("requestId")
    if collector.scheduled.pop(str(request_id), None) is None:
        raise TrustyAIError(f"requestId: no scheduled request {request_id!r}", 404)
    for column in (*FEATURE_COLUMNS, PREDICTION):
        for model in collector.monitors:
            with contextlib.suppress(KeyError):
                collector.metrics.kstest.remove(model, request_id, column)
    return {"status": "success", "message": f"Schedule {request_id} deleted"}


def list_requests(collector: Collector) -> dict:
    """The scheduled KS requests, in TrustyAI's listing shape."""
    return {
        "requests": [
            {"id": rid, "requestId": rid, "metricName": METRIC_NAME, **asdict(request)}
            for rid, request in collector.scheduled.items()
        ]
    }


def run_scheduled(collector: Collector) -> None:
    """Compute every scheduled request and publish `trustyai_kstest` per column."""
    for request_id, request in list(collector.scheduled.items()):
        try:
            result = kstest(collector, request)
        except TrustyAIError:
            continue  # no data yet: nothing to publish
        for column, values in result["feature_results"].items():
            collector.metrics.kstest.labels(request.modelId, request_id, column).set(
                values["statistic"]
            )


def _schema(names: list[str]) -> dict:
    items = {name: {"type": "FLOAT", "name": name, "index": i} for i, name in enumerate(names)}
    return {"items": items, "nameMapping": {}}


def info(collector: Collector) -> dict:
    """TrustyAI's /info: observations, tensor names, schemas, scheduled metric counts."""
    result = {}
    for model, monitor in collector.monitors.items():
        counts = sum(1 for r in collector.scheduled.values() if r.modelId == model)
        result[model] = {
            "data": {
                "observations": monitor.observations,
                "inputTensorName": INPUT_TENSOR,
                "outputTensorName": OUTPUT_TENSOR,
                "inputSchema": _schema(list(FEATURE_COLUMNS)),
                "outputSchema": _schema(monitor.output_names or [OUTPUT_TENSOR]),
            },
            "metrics": {
                "scheduledMetadata": {"metricCounts": {METRIC_NAME: counts} if counts else {}}
            },
        }
    return result


def inference_ids(collector: Collector, model: str) -> list[dict]:
    """The inference ids the collector remembers for `model`, with their version."""
    monitor = collector.monitors.get(model)
    if monitor is None:
        raise TrustyAIError(f"model: no inferences for {model!r}", 404)
    return [{"id": i, "version": v} for i, (v, *_) in monitor.predictions.items()]


def label_fields(body: dict) -> tuple[str, list[str], list[float]]:
    """(model, ids, labels) of a {model_name, ids, labels} body."""
    model, ids, labels = body.get("model_name"), body.get("ids"), body.get("labels")
    if not isinstance(model, str) or not model:
        raise TrustyAIError(f"model_name: expected a model name, got {model!r}")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise TrustyAIError("ids: expected a list of inference id strings")
    if not isinstance(labels, list) or len(labels) != len(ids):
        raise TrustyAIError(f"labels: expected {len(ids)} numbers, one per id")
    try:
        return model, ids, [float(v) for v in labels]
    except (TypeError, ValueError):
        raise TrustyAIError("labels: expected numbers") from None


def upload(collector: Collector, body: dict) -> dict:
    """TrustyAI's /data/upload: tagged reference data, or ground truth for inference ids.

    Ground truth (`is_ground_truth: true`) names its inference ids in `request.id` (one row)
    or `request.parameters.execution_ids`; the response's output holds the true values.
    """
    model = body.get("model_name")
    if not isinstance(model, str) or not model:
        raise TrustyAIError(f"model_name: expected a model name, got {model!r}")
    request, response = body.get("request"), body.get("response")
    if not isinstance(request, dict) or not isinstance(response, dict):
        raise TrustyAIError("request and response: expected KServe inference JSON objects")
    if body.get("is_ground_truth"):
        ids = (request.get("parameters") or {}).get("execution_ids") or [request.get("id")]
        labels = list(np.asarray(_outputs(response)).reshape(-1))
        _, ids, labels = label_fields({"model_name": model, "ids": ids, "labels": labels})
        matched = collector.add_labels(model, ids, labels)
        return {"status": "success", "message": f"{matched} ground truths added to {model}."}
    tag = body.get("data_tag") or TRAINING_TAG
    if tag.startswith("_trustyai"):
        raise TrustyAIError(f"data_tag: the prefix '_trustyai' is reserved, got {tag!r}")
    try:
        rows = rows_of(request, response, "upload", model)
    except EventError as error:
        raise TrustyAIError(f"request/response: {error}") from None
    profile = build_profile(rows.features, rows.predictions, rows.features, rows.predictions)
    monitor = collector.monitor(model)
    monitor.set_profile(profile, tag)
    if tag == TRAINING_TAG and ANY_VERSION not in monitor.profiles:
        monitor.set_profile(profile, ANY_VERSION)
    count = len(rows.ids)
    return {
        "status": "success",
        "message": f"{count} datapoints successfully added to {model} data.",
    }


def _outputs(response: dict) -> list:
    outputs = response.get("outputs")
    if not isinstance(outputs, list) or not outputs or "data" not in outputs[0]:
        raise TrustyAIError("response.outputs: expected a list with the ground-truth tensor")
    return outputs[0]["data"]
