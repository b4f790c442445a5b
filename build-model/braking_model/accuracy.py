"""How close predictions are to the labels: shared by tuning (scoring trials) and validation."""

from __future__ import annotations

import numpy as np

UNDER_BRAKING_DEMAND = 0.5  # rows where at least half the available braking is needed
UNDER_BRAKING_SLACK = 0.1  # ... and the model brakes more than 0.1 less than needed


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """RMSE, MAE, R2, max error and under-braking rate of predictions."""
    y_true = np.asarray(y_true, dtype=np.float64).reshape(-1)
    error = np.asarray(y_pred, dtype=np.float64).reshape(-1) - y_true
    variance = float(np.var(y_true))
    demanding = y_true >= UNDER_BRAKING_DEMAND
    under = demanding & (error < -UNDER_BRAKING_SLACK)
    return {
        "rmse": float(np.sqrt(np.mean(error**2))),
        "mae": float(np.mean(np.abs(error))),
        "r2": float(1.0 - np.mean(error**2) / variance) if variance > 0 else float("nan"),
        "max_error": float(np.max(np.abs(error))),
        "under_braking_rate": float(under.sum() / max(int(demanding.sum()), 1)),
    }
