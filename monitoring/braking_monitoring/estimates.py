"""Label-free error signals of a window of served rows (issue 13, docs/adr/0019).

- The model's own estimate: the mean of its `expected_error` output, the estimated MAE.
- The disagreement with the closed-form physics estimate (the gate's baseline): mean
  |served brake - physics brake|. It needs no labels either and rises when the inputs stop
  agreeing with each other (a recalibrated camera), which the model's estimate cannot see.

Once labels arrive, the labelled window sets the estimate next to the true MAE.
"""

from __future__ import annotations

import numpy as np

from braking_data.physics import physics_baseline


def _mean(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if len(values) else None


def window_estimates(
    features: np.ndarray, predictions: np.ndarray, expected_errors: np.ndarray
) -> dict[str, float | None]:
    """`estimated_mae` (None when no response carried `expected_error`) and
    `physics_disagreement` of one window."""
    features = np.asarray(features, dtype=np.float64)
    physics = np.clip(physics_baseline(*features.T), 0.0, 1.0)
    return {
        "estimated_mae": _mean(expected_errors),
        "physics_disagreement": _mean(np.abs(np.asarray(predictions) - physics)),
    }


def labelled_estimates(expected_errors: np.ndarray, true_mae: float) -> dict[str, float | None]:
    """The estimated MAE of a labelled window's rows, and its ratio to the true MAE there."""
    estimated = _mean(expected_errors)
    ratio = estimated / true_mae if estimated is not None and true_mae > 0 else None
    return {"estimated_mae": estimated, "estimated_to_true_mae": ratio}
