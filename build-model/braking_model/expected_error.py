"""The label-free estimate of the served brake's absolute error (issue 13, docs/adr/0019).

The model already holds a monotonic model of its regressor's |residual|, the spread (see
`estimator`). What users need is the error of what is *served*: the brake after the safety
margin, the clip to [0, 1] and the no-phantom-braking rule. `ErrorCalibration` maps the spread
to that error: a non-decreasing piecewise-linear function fitted on held-out rows (isotonic
regression over quantile bins of the spread, so knots stay few and apart and the graph
small). The served graph returns it as its second output, `expected_error`; it is 0 wherever
the brake is forced to 0 (the label is 0 there too).

`check_estimate` compares the estimate's mean with the true MAE: training writes it for the
held-out rows it did not calibrate on, the benchmark under each input shift.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

CALIBRATION_BINS = 32  # quantile bins of the spread: knots of the piecewise-linear map
HELD_OUT_SOURCE = "held-out rows"
IN_SAMPLE_SOURCE = "training rows (in-sample: recalibrate on held-out rows)"


@dataclass(frozen=True)
class ErrorCalibration:
    """Spread -> expected |served brake - label|: linear between `knots` (strictly
    increasing) through `values` (non-decreasing, >= 0), constant outside them."""

    knots: np.ndarray
    values: np.ndarray
    source: str
    rows: int

    def predict(self, spread: ArrayLike) -> np.ndarray:
        """Expected absolute errors [N] (float32, computed exactly as the graph does)."""
        spread = np.asarray(spread, dtype=np.float32).reshape(-1, 1)
        widths, slopes = self._segments()
        ramps = np.minimum(np.maximum(spread - self.knots[:-1], np.float32(0.0)), widths)
        return (ramps @ slopes.reshape(-1, 1) + self.values[0]).reshape(-1)

    def graph(self, g, spread: str) -> str:
        """Add the map to a `tree_graph.GraphBuilder` graph: the name of [N, 1] estimates
        from the spread's name [N, 1] (default-domain operators only)."""
        widths, slopes = self._segments()
        below = g.op("Sub", spread, self.knots[:-1].reshape(1, -1))
        ramps = g.op("Min", g.op("Max", below, np.array([0.0], np.float32)), widths.reshape(1, -1))
        return g.op("Add", g.op("MatMul", ramps, slopes.reshape(-1, 1)), self.values[:1])

    def _segments(self) -> tuple[np.ndarray, np.ndarray]:
        widths = np.diff(self.knots).astype(np.float32)
        return widths, (np.diff(self.values) / widths).astype(np.float32)

    def summary(self) -> dict[str, Any]:
        """What the model card and metrics.json record about the calibration."""
        return {"source": self.source, "rows": self.rows, "knots": len(self.knots)}


def fit_calibration(
    spread: ArrayLike, error: ArrayLike, source: str = HELD_OUT_SOURCE, bins: int = CALIBRATION_BINS
) -> ErrorCalibration:
    """Fit spread -> mean absolute error: the rows are cut into `bins` quantile bins of the
    spread, and isotonic regression (weighted by bin size) runs through the bins' means.
    Raises ValueError on no rows or mismatched lengths."""
    from sklearn.isotonic import IsotonicRegression

    spread = np.asarray(spread, dtype=np.float64).reshape(-1)
    error = np.asarray(error, dtype=np.float64).reshape(-1)
    if len(spread) == 0 or len(spread) != len(error):
        raise ValueError(
            f"calibrating the expected error needs as many errors as spreads (>= 1 row), got "
            f"{len(spread)} spreads and {len(error)} errors"
        )
    order = np.argsort(spread, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, len(order))) if len(g)]
    centres = np.array([spread[g].mean() for g in groups])
    means = np.array([error[g].mean() for g in groups])
    sizes = np.array([len(g) for g in groups], dtype=np.float64)
    fitted = IsotonicRegression(y_min=0.0).fit(centres, means, sample_weight=sizes)
    knots, values = _strictly_increasing(centres, fitted.predict(centres))
    return ErrorCalibration(knots, values, source, len(spread))


def _strictly_increasing(knots: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float32 knots with ties (equal spreads, or equal once rounded) merged, at least two so
    the map always has a segment."""
    knots32 = knots.astype(np.float32)
    unique = np.unique(knots32)
    merged = np.array([values[knots32 == k].mean() for k in unique])
    if len(unique) == 1:
        unique = np.append(unique, np.nextafter(unique[0], np.float32(np.inf)))
        merged = np.append(merged, merged[0])
    return unique.astype(np.float32), np.maximum.accumulate(merged).astype(np.float32)


def check_estimate(expected: ArrayLike, served: ArrayLike, label: ArrayLike) -> dict[str, float]:
    """The estimated MAE (mean expected error), the true MAE of the served brake, and their
    ratio (the issue's goal: within 0.8-1.2)."""
    expected = np.asarray(expected, dtype=np.float64).reshape(-1)
    true_error = np.abs(
        np.asarray(served, dtype=np.float64).reshape(-1)
        - np.asarray(label, dtype=np.float64).reshape(-1)
    )
    estimated, true_mae = float(expected.mean()), float(true_error.mean())
    return {
        "rows": len(expected),
        "estimated_mae": estimated,
        "true_mae": true_mae,
        "estimated_to_true_mae": estimated / true_mae if true_mae > 0 else float("nan"),
    }


def calibrate_pipeline(pipeline, X: np.ndarray, y: ArrayLike) -> dict[str, Any]:
    """Calibrate the expected error of a fitted ``features -> NoPhantomBraking`` pipeline on
    raw held-out rows `X` [N, 7] with labels `y`; returns the calibration's summary. Without
    rows closing in, the in-sample calibration stays (and its summary says so)."""
    model = pipeline[-1]
    with contextlib.suppress(ValueError):
        model.calibrate_expected_error(pipeline[:-1].transform(X), y)
    return model.error_calibration_.summary()


def pipeline_expected_error(pipeline, X: np.ndarray) -> np.ndarray:
    """The Python estimate [N] of a fitted pipeline on raw rows (what the graph's second
    output must equal)."""
    return pipeline[-1].expected_error(pipeline[:-1].transform(X))
