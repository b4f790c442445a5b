"""Client-side latency of a served model, as a notebook user measures and plots it.

Sequential requests (one in flight), so the numbers are what a single caller sees; the
throughput under concurrency is measured by the serving benchmark, not here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Predict = Callable[[np.ndarray], Any]


@dataclass(frozen=True)
class LatencySample:
    """Wall-clock seconds of each request, with the batch size that was sent."""

    seconds: np.ndarray
    batch_rows: int

    def percentiles_ms(self, points: tuple[float, ...] = (50.0, 90.0, 99.0)) -> dict[str, float]:
        """{"p50": ..., "p90": ..., "p99": ...} in milliseconds."""
        values = np.percentile(self.seconds * 1e3, points)
        return {f"p{point:g}": float(value) for point, value in zip(points, values, strict=True)}

    def summary(self) -> dict[str, float]:
        """Requests, batch rows, mean and percentiles (ms), and rows per second."""
        total = float(self.seconds.sum())
        return {
            "requests": float(len(self.seconds)),
            "batch_rows": float(self.batch_rows),
            "mean_ms": float(self.seconds.mean() * 1e3),
            **self.percentiles_ms(),
            "rows_per_s": len(self.seconds) * self.batch_rows / total if total > 0 else 0.0,
        }


def measure_latency(
    predict: Predict,
    features: np.ndarray,
    requests: int = 200,
    batch_rows: int = 1,
    warmup: int = 5,
) -> LatencySample:
    """Time `requests` sequential calls of `predict`, each with `batch_rows` rows taken in
    turn from `features` ([N, 7]); `warmup` untimed calls first (connection set-up)."""
    rows = np.asarray(features, dtype=np.float32)
    if rows.ndim != 2 or len(rows) < batch_rows:
        raise ValueError(
            f"features must be a 2-D array with at least batch_rows={batch_rows} rows, "
            f"got shape {list(rows.shape)}"
        )
    if requests < 1 or batch_rows < 1 or warmup < 0:
        raise ValueError(
            f"need requests >= 1, batch_rows >= 1, warmup >= 0; got {requests}, "
            f"{batch_rows}, {warmup}"
        )
    batches = len(rows) // batch_rows
    for index in range(warmup):
        start = (index % batches) * batch_rows
        predict(rows[start : start + batch_rows])
    seconds = np.empty(requests)
    for index in range(requests):
        start = (index % batches) * batch_rows
        batch = rows[start : start + batch_rows]
        began = time.perf_counter()
        predict(batch)
        seconds[index] = time.perf_counter() - began
    return LatencySample(seconds=seconds, batch_rows=batch_rows)


def plot_latency(*samples: LatencySample) -> Figure:
    """Histogram of request latency (ms) per batch size, with p50 and p99 marked."""
    from matplotlib.figure import Figure

    if not samples:
        raise ValueError("plot_latency needs at least one LatencySample")
    fig = Figure(figsize=(8, 4.2), layout="constrained")
    ax = fig.subplots()
    upper = max(float(np.percentile(sample.seconds * 1e3, 99.5)) for sample in samples)
    bins = np.linspace(0.0, upper * 1.05, 60)
    for sample in samples:
        marks = sample.percentiles_ms((50.0, 99.0))
        label = (
            f"{sample.batch_rows} row(s)/request: p50 {marks['p50']:.2f} ms, "
            f"p99 {marks['p99']:.2f} ms"
        )
        ax.hist(np.minimum(sample.seconds * 1e3, bins[-1]), bins=list(bins), alpha=0.6, label=label)
        ax.axvline(marks["p50"], color="black", linewidth=0.8)
        ax.axvline(marks["p99"], color="crimson", linewidth=0.8, linestyle="--")
    ax.set(xlabel="latency per request (ms)", ylabel="requests", title="Endpoint latency")
    ax.legend(fontsize=8)
    return fig
