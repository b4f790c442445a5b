"""What the search-selection steps write: the best trial, all trials, and their metrics.

Shared by the `select_best` component (shards fanned in with `dsl.Collected`) and its
single-task twin `select_best_of_one` (backends without artifact fan-in).
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from braking_model import gate, tune


def record_best_trial(
    tables: list[pd.DataFrame],
    gate_thresholds: dict,
    best_trial: Any,
    all_trials: Any,
    metrics: Any,
) -> None:
    """Pick the best trial meeting the gate's safety limits and write the three outputs."""
    best = tune.select_best(tables, gate.GateThresholds(**gate_thresholds))
    merged = pd.concat(tables, ignore_index=True)  # ranked again by the training step
    merged.to_parquet(all_trials.path, index=False)
    with open(best_trial.path, "w") as stream:
        json.dump(best.to_dict(), stream)
    best_trial.metadata.update({"family": best.family, "mean_cv_rmse": best.mean_cv_rmse})
    metrics.log_metric("best_mean_cv_rmse", best.mean_cv_rmse)
    metrics.log_metric("trials", len(merged))
