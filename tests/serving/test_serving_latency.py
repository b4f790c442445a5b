"""Client-side latency measurement used by the endpoint notebook."""

from __future__ import annotations

import numpy as np
import pytest

from braking_serving.latency import LatencySample, measure_latency, plot_latency


class RecordingModel:
    """Answers like a model and remembers the batches it was asked."""

    def __init__(self) -> None:
        self.batches: list[np.ndarray] = []

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        self.batches.append(batch.copy())
        return np.zeros(len(batch), dtype=np.float32)


def _features(rows: int) -> np.ndarray:
    return np.arange(rows * 7, dtype=np.float32).reshape(rows, 7)


def test_measures_one_time_per_request_after_warmup() -> None:
    model = RecordingModel()
    sample = measure_latency(model, _features(10), requests=7, batch_rows=2, warmup=3)
    assert len(model.batches) == 3 + 7
    assert sample.seconds.shape == (7,) and (sample.seconds > 0).all()
    assert all(batch.shape == (2, 7) and batch.dtype == np.float32 for batch in model.batches)


def test_batches_cycle_through_the_features_in_order() -> None:
    model = RecordingModel()
    features = _features(6)
    measure_latency(model, features, requests=4, batch_rows=2, warmup=0)
    starts = [int(batch[0, 0]) for batch in model.batches]
    assert starts == [features[0, 0], features[2, 0], features[4, 0], features[0, 0]]


def test_summary_reports_percentiles_and_throughput() -> None:
    sample = LatencySample(seconds=np.array([0.001] * 98 + [0.010, 0.020]), batch_rows=4)
    summary = sample.summary()
    assert summary["requests"] == 100 and summary["batch_rows"] == 4
    assert summary["p50"] == pytest.approx(1.0)
    assert 1.0 < summary["p99"] <= 20.0
    assert summary["rows_per_s"] == pytest.approx(400 / 0.128)


@pytest.mark.parametrize(
    ("rows", "kwargs", "message"),
    [
        (1, {"batch_rows": 2}, "at least batch_rows=2 rows"),
        (4, {"requests": 0}, "requests >= 1"),
        (4, {"warmup": -1}, "warmup >= 0"),
    ],
)
def test_bad_arguments_are_named(rows: int, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        measure_latency(RecordingModel(), _features(rows), **kwargs)


def test_plot_marks_each_batch_size(tmp_path) -> None:
    rng = np.random.default_rng(0)
    single = LatencySample(seconds=rng.gamma(2.0, 0.0005, 200), batch_rows=1)
    batched = LatencySample(seconds=rng.gamma(2.0, 0.002, 200), batch_rows=64)
    fig = plot_latency(single, batched)
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels[0].startswith("1 row(s)/request: p50") and labels[1].startswith("64 row(s)")
    fig.savefig(tmp_path / "latency.png")
    assert (tmp_path / "latency.png").stat().st_size > 5_000
    with pytest.raises(ValueError, match="at least one"):
        plot_latency()
