"""The collector's HTTP API (starlette): inference CloudEvents in, windows, alarms and the
TrustyAI REST subset out.

    POST /                                 CloudEvents: binary, structured or batch mode
    POST /data/upload                      TrustyAI upload: TRAINING reference or ground truth
    POST /data/labels                      ground truth {model_name, ids, labels}
    PUT  /profiles/{model}[?version=v]     a reference_profile.json written by training
    GET  /info, /info/inference/ids/{m}    TrustyAI model info, inference ids
    POST /metrics/drift/kstest[/request]   KS drift, one-off or scheduled (TrustyAI shapes)
    GET  /metrics/drift/kstest/requests    scheduled requests; DELETE .../request stops one
    GET  /monitor/status                   windows, labelled windows and alarms per version
    GET  /monitor/profile/{m}, /recent/{m} reference profile, last served rows (for reports)
    GET  /metrics, /q/metrics              Prometheus
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from braking_model.reference import ReferenceProfile
from braking_monitoring import trustyai
from braking_monitoring.config import CollectorConfig
from braking_monitoring.events import EventError, InferenceRows, Pairer, parse_events
from braking_monitoring.metrics import METRICS_CONTENT_TYPE, CollectorMetrics
from braking_monitoring.monitor import ANY_VERSION, ModelMonitor
from braking_monitoring.store import InferenceStore

log = logging.getLogger(__name__)


class BadRequest(Exception):
    """A request the collector refuses; answered as {detail} with its status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class Collector:
    """Everything the collector holds: pairer, monitors per model, store, gauges, schedules."""

    def __init__(self, config: CollectorConfig) -> None:
        self.config = config
        self.pairer = Pairer(config.pair_timeout_seconds)
        self.monitors: dict[str, ModelMonitor] = {}
        self.store = InferenceStore(config.store)
        self.metrics = CollectorMetrics()
        self.scheduled: dict[str, trustyai.KSTestRequest] = {}
        self._published: set[tuple[str, str]] = set()

    def monitor(self, model: str) -> ModelMonitor:
        """The monitor of `model`, created on first use."""
        if model not in self.monitors:
            self.monitors[model] = ModelMonitor(model, self.config.window_rows)
        return self.monitors[model]

    def ingest(self, rows: InferenceRows) -> None:
        """Store, count and window one inference's rows."""
        self.store.add(rows)
        self.metrics.inferences.labels(rows.model).inc(len(rows.ids))
        verdicts = self.monitor(rows.model).ingest(rows)
        for verdict in verdicts:
            self.metrics.window(rows.model, rows.version, verdict)
        key = (rows.model, rows.version)
        if verdicts or key not in self._published:  # alarms change with windows only
            self._published.add(key)
            self.publish_alarms(rows.model)

    def add_labels(self, model: str, ids: list[str], labels: list[float]) -> int:
        """Store labels and join them to served rows; returns how many matched."""
        self.store.add_labels(model, ids, labels)
        matched, verdicts = self.monitor(model).add_labels(ids, labels)
        for verdict in verdicts:
            version = self.monitor(model).predictions.get(ids[-1], ("unknown",))[0]
            self.metrics.labelled_window(model, version, verdict)
        self.publish_alarms(model)
        return matched

    def publish_alarms(self, model: str) -> None:
        """Set the alarm gauge of every version of `model`."""
        for alarm in self.monitor(model).alarms():
            self.metrics.alarm.labels(alarm.model, alarm.version, alarm.reason).set(
                float(alarm.active)
            )

    def status(self) -> dict:
        """Windows, labelled windows and alarms of every model version."""
        models = {}
        for name, monitor in self.monitors.items():
            models[name] = {
                "observations": monitor.observations,
                "profiles": sorted(monitor.profiles),
                "versions": {
                    version: {
                        "windows": state.windows,
                        "labelled_windows": state.labelled,
                        "buffered_rows": state.buffered,
                        "alarms": [vars(a) for a in (state.drift, state.performance) if a],
                    }
                    for version, state in monitor.versions.items()
                },
            }
        return {
            "models": models,
            "pending_events": self.pairer.pending,
            "expired": self.pairer.expired,
        }


async def _json(request: Request) -> dict:
    try:
        body = await request.json()
    except ValueError as error:
        raise BadRequest(f"request body is not valid JSON: {error}") from None
    if not isinstance(body, dict):
        raise BadRequest("request body must be a JSON object")
    return body


def build_app(config: CollectorConfig | None = None) -> Starlette:
    """The collector as an ASGI app; `app.state.collector` holds its state."""
    collector = Collector(config or CollectorConfig())

    async def events(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        try:
            for event in parse_events(headers, await request.body()):
                rows = collector.pairer.add(event)
                if rows is not None:
                    collector.ingest(rows)
        except EventError as error:
            collector.metrics.rejected.inc()
            raise BadRequest(str(error)) from None
        return Response(status_code=202)

    async def upload(request: Request) -> Response:
        return JSONResponse(trustyai.upload(collector, await _json(request)))

    async def labels(request: Request) -> Response:
        body = await _json(request)
        model, ids, values = trustyai.label_fields(body)
        matched = collector.add_labels(model, ids, values)
        return JSONResponse({"status": "success", "matched": matched, "received": len(ids)})

    async def put_profile(request: Request) -> Response:
        model = request.path_params["model"]
        version = request.query_params.get("version", ANY_VERSION)
        try:
            profile = ReferenceProfile.model_validate_json(await request.body())
        except ValueError as error:
            raise BadRequest(f"body is not a reference profile: {str(error)[:300]}") from None
        collector.monitor(model).set_profile(profile, version)
        return JSONResponse({"model": model, "version": version, "rows": profile.rows})

    async def info(request: Request) -> Response:
        return JSONResponse(trustyai.info(collector))

    async def inference_ids(request: Request) -> Response:
        return JSONResponse(trustyai.inference_ids(collector, request.path_params["model"]))

    async def kstest(request: Request) -> Response:
        return JSONResponse(trustyai.kstest(collector, trustyai.parse_kstest(await _json(request))))

    async def schedule(request: Request) -> Response:
        if request.method == "DELETE":
            return JSONResponse(trustyai.unschedule(collector, await _json(request)))
        body = trustyai.parse_kstest(await _json(request))
        return JSONResponse(trustyai.schedule(collector, body))

    async def requests(request: Request) -> Response:
        return JSONResponse(trustyai.list_requests(collector))

    async def status(request: Request) -> Response:
        return JSONResponse(collector.status())

    async def profile(request: Request) -> Response:
        monitor = collector.monitors.get(request.path_params["model"])
        found = monitor and monitor.profile(request.query_params.get("version", ANY_VERSION))
        if not found:
            raise BadRequest(f"no reference profile for {request.path_params['model']!r}", 404)
        return Response(found.model_dump_json(), media_type="application/json")

    async def recent(request: Request) -> Response:
        monitor = collector.monitors.get(request.path_params["model"])
        if monitor is None:
            raise BadRequest(f"no inferences for {request.path_params['model']!r}", 404)
        try:
            rows = int(request.query_params.get("rows", "1000"))
        except ValueError:
            raise BadRequest("rows: expected an integer") from None
        features, predictions = monitor.recent_frame(rows)
        return JSONResponse({"features": features.tolist(), "predictions": predictions.tolist()})

    async def metrics(request: Request) -> Response:
        return Response(collector.metrics.render(), media_type=METRICS_CONTENT_TYPE)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "UP"})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        config = collector.config
        tasks = [
            asyncio.create_task(_every(config.flush_seconds, collector.store.flush, collector)),
            asyncio.create_task(
                _every(config.schedule_seconds, lambda: trustyai.run_scheduled(collector))
            ),
        ]
        yield
        for task in tasks:
            task.cancel()
        _expire(collector)
        collector.store.flush()

    routes = [
        Route("/", events, methods=["POST"]),
        Route("/data/upload", upload, methods=["POST"]),
        Route("/data/labels", labels, methods=["POST"]),
        Route("/profiles/{model}", put_profile, methods=["PUT"]),
        Route("/info", info, methods=["GET"]),
        Route("/info/inference/ids/{model}", inference_ids, methods=["GET"]),
        Route("/metrics/drift/kstest", kstest, methods=["POST"]),
        Route("/metrics/drift/kstest/request", schedule, methods=["POST", "DELETE"]),
        Route("/metrics/drift/kstest/requests", requests, methods=["GET"]),
        Route("/monitor/status", status, methods=["GET"]),
        Route("/monitor/profile/{model}", profile, methods=["GET"]),
        Route("/monitor/recent/{model}", recent, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
        Route("/q/metrics", metrics, methods=["GET"]),
        Route("/q/health/ready", health, methods=["GET"]),
    ]

    async def bad_request(request: Request, error: Exception) -> Response:
        status = getattr(error, "status", 400)
        return JSONResponse({"detail": str(error)}, status_code=status)

    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={BadRequest: bad_request, trustyai.TrustyAIError: bad_request},
    )
    app.state.collector = collector
    return app


def _expire(collector: Collector) -> None:
    for rows in collector.pairer.expire():
        collector.ingest(rows)


async def _every(seconds: float, action, collector: Collector | None = None) -> None:
    """Run `action` in a thread every `seconds` (expiring unpaired halves first, on the loop,
    where the pairer lives)."""
    while True:
        await asyncio.sleep(seconds)
        try:
            if collector is not None:
                _expire(collector)
            await asyncio.to_thread(action)
        except Exception:  # a failed flush or metric must not stop the next one
            log.exception("periodic collector task failed")
