"""Prometheus metrics of the inference server: request count and latency histogram.

The labelled children are resolved once per (model, endpoint, status) and cached, so the
request path pays one dict lookup, one counter increment and one histogram observation.
With several worker processes the values live in prometheus_client's multiprocess files
(`PROMETHEUS_MULTIPROC_DIR`, set by the launcher before the workers start) and `/metrics`
on any worker reports the sum over all of them.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

METRICS_CONTENT_TYPE = CONTENT_TYPE_LATEST
# Loopback inference takes 50 us .. a few ms; the buckets resolve that range.
LATENCY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 2.5)


class ServerMetrics:
    """Request counter and latency histogram, labelled by model, endpoint and status."""

    def __init__(self) -> None:
        self._multiprocess_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        # In multiprocess mode metrics are collected from files, not from a registry.
        registry = None if self._multiprocess_dir else CollectorRegistry()
        self._registry = registry
        self.requests = Counter(
            "braking_serving_requests",
            "Requests answered, by model, endpoint and HTTP status code.",
            ["model", "endpoint", "code"],
            registry=registry,
        )
        self.latency = Histogram(
            "braking_serving_request_duration_seconds",
            "Time from request start to response, by model and endpoint.",
            ["model", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self._children: dict[tuple[str, str, int], tuple] = {}

    @property
    def registry(self) -> CollectorRegistry | None:
        """Where other server metrics register (None in multiprocess mode: files collect)."""
        return self._registry

    def observe(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        """Count one request and record its latency."""
        key = (model, endpoint, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(model, endpoint, str(status)),
                self.latency.labels(model, endpoint),
            )
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of every worker's metrics."""
        if self._multiprocess_dir:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=self._multiprocess_dir)
            return generate_latest(registry)
        assert self._registry is not None  # set whenever metrics are not multiprocess
        return generate_latest(self._registry)
