"""Calibrate the chosen candidate's `safety_margin` for the validation gate (docs/adr/0021).

The search samples a margin per candidate and scores it by cross-validation on a sample. The
gate then judges the served brake on its own test split against two limits that a margin
trades against each other: the under-braking rate (more margin, less under-braking) and RMSE
against the physics baseline (more margin, more error). At the default sizes the window where
both hold is narrow, and the gate's test split is small enough that its figures scatter across
it: a few dozen rows needing hard braking decide the under-braking rate.

So after selection the margin is set once more. The winner is fitted with no margin on folds
of the training part, and its out-of-fold demand and spread give the brake at every margin
of a grid (`estimator.margined_demand`). For each margin, each figure's distance to its limit
is counted in standard errors *of a sample the size of the gate's test split*, and the margin
where the smaller of the two distances is largest is the one most likely to pass the gate.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_model.accuracy import UNDER_BRAKING_DEMAND, UNDER_BRAKING_SLACK

if TYPE_CHECKING:
    from braking_model.gate import GateThresholds
    from braking_model.tune import BestTrial

# Margins tried: the search space's range and beyond, in steps that move the brake by far less
# than the gate's sampling noise.
MARGIN_GRID = np.round(np.arange(0.0, 6.0001, 0.1), 2)
# Fewest rows needing hard braking the training part must hold for an under-braking rate near
# 1 % to be measured at all; below it the sampled margin stays.
MIN_DEMANDING_ROWS = 200


@dataclass(frozen=True)
class MarginCalibration:
    """What calibration chose and the figures it chose from (recorded in metrics.json)."""

    sampled_margin: float
    margin: float
    rows: int
    demanding_rows: int
    gate_rows: int
    under_braking_rate: float
    rmse_to_baseline: float
    standard_errors_to_limit: float
    applied: bool

    def to_dict(self) -> dict[str, Any]:
        """The calibration as a JSON-ready dict."""
        return asdict(self)


def standard_errors_to_limits(
    brake: np.ndarray,
    y: np.ndarray,
    baseline: np.ndarray,
    gate_rows: int,
    limits: GateThresholds,
) -> dict[str, float]:
    """The under-braking rate and RMSE / baseline RMSE of `brake` on these rows, and how many
    standard errors of a `gate_rows`-row sample the nearer of the two lies below its limit
    (negative: above it). The rate's error is binomial; the ratio's comes from the delta
    method on the squared errors of both estimators, paired row by row."""
    y = np.asarray(y, dtype=np.float64)
    error = np.asarray(brake, dtype=np.float64) - y
    demanding = y >= UNDER_BRAKING_DEMAND
    gate_demanding = max(1.0, gate_rows * demanding.mean())
    rate = float(np.mean(error[demanding] < -UNDER_BRAKING_SLACK)) if demanding.any() else 0.0
    # a rate of 0 in these rows is not 0 in the gate's: floor it at one row of the gate's
    floor = 1.0 / gate_demanding
    rate_error = np.sqrt(max(rate, floor) * (1.0 - max(rate, floor)) / gate_demanding)
    model_sq, baseline_sq = error**2, (np.asarray(baseline, dtype=np.float64) - y) ** 2
    ratio = float(np.sqrt(model_sq.mean() / baseline_sq.mean()))
    # var(log ratio) = var(log mean(a) - log mean(b)) / 4, a and b the paired squared errors
    a, b = model_sq / model_sq.mean(), baseline_sq / baseline_sq.mean()
    # (floored: identical errors on every row would make it 0, and the distance infinite)
    ratio_error = max(ratio * np.sqrt(np.var(a - b) / gate_rows) / 2.0, 1e-12)
    return {
        "under_braking_rate": rate,
        "rmse_to_baseline": ratio,
        "standard_errors_to_limit": float(
            min(
                (limits.max_under_braking_rate - rate) / rate_error,
                (limits.max_rmse_to_baseline - ratio) / ratio_error,
            )
        ),
    }


def choose_margin(
    demand: np.ndarray,
    spread: np.ndarray,
    closing: np.ndarray,
    y: np.ndarray,
    baseline: np.ndarray,
    gate_rows: int,
    limits: GateThresholds,
) -> dict[str, float]:
    """The margin of MARGIN_GRID the farthest, in the gate's standard errors, from the nearer
    of its two limits (ties: the smallest), with its figures (`standard_errors_to_limits`)."""
    from braking_model.estimator import margined_demand

    scored = []
    for margin in MARGIN_GRID:
        raised = margined_demand(demand, spread, float(margin))
        brake = np.where(closing, np.clip(raised, 0.0, 1.0), 0.0)
        scored.append({"margin": float(margin), **standard_errors_to_limits(
            brake, y, baseline, gate_rows, limits
        )})  # fmt: skip
    return max(scored, key=lambda s: s["standard_errors_to_limit"])


def out_of_fold_parts(
    best: BestTrial, X: np.ndarray, y: np.ndarray, folds: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Demand, spread and closing-in of every row, each predicted by the winner (no margin)
    fitted on the other folds."""
    from sklearn.model_selection import KFold

    from braking_model.estimator import build_pipeline

    demand = np.zeros(len(y), dtype=np.float32)
    spread = np.zeros(len(y), dtype=np.float32)
    closing = np.zeros(len(y), dtype=bool)
    for fit, held_out in KFold(folds, shuffle=True, random_state=seed).split(X):
        pipeline = build_pipeline(best.family, {**best.params, "safety_margin": 0.0}, seed)
        pipeline.fit(X[fit], y[fit])
        model = pipeline.named_steps["model"]
        Z = pipeline.named_steps["features"].transform(X[held_out])
        demand[held_out] = np.asarray(model.regressor_.predict(Z)).reshape(-1)
        spread[held_out] = model.spread(Z)
        closing[held_out] = Z[:, model.closing_index] > 0
    return demand, spread, closing


def calibrate_safety_margin(
    best: BestTrial,
    X: np.ndarray,
    y: np.ndarray,
    folds: int,
    test_fraction: float,
    seed: int,
    thresholds: GateThresholds | None = None,
) -> tuple[BestTrial, MarginCalibration]:
    """`best` with the margin most likely to pass the gate's under-braking and RMSE-to-baseline
    limits on a test split of `test_fraction` (`choose_margin` on out-of-fold predictions of
    the training rows `X`, `y`), and the evidence. Too few demanding rows: the sampled margin."""
    from braking_data.physics import physics_baseline
    from braking_model.gate import GateThresholds

    limits = thresholds or GateThresholds()
    sampled = float(best.params.get("safety_margin", 0.0))
    demanding = int(np.sum(np.asarray(y) >= UNDER_BRAKING_DEMAND))
    gate_rows = max(1, round(len(y) * test_fraction / (1.0 - test_fraction)))
    if demanding < MIN_DEMANDING_ROWS:
        nan = float("nan")
        kept = MarginCalibration(
            sampled, sampled, len(y), demanding, gate_rows, nan, nan, nan, applied=False
        )
        return best, kept
    demand, spread, closing = out_of_fold_parts(best, X, y, folds, seed)
    baseline = physics_baseline(*np.asarray(X, dtype=np.float64).T)
    chosen = choose_margin(demand, spread, closing, y, baseline, gate_rows, limits)
    calibration = MarginCalibration(
        sampled_margin=sampled,
        rows=len(y),
        demanding_rows=demanding,
        gate_rows=gate_rows,
        applied=True,
        **chosen,
    )
    return replace(best, params={**best.params, "safety_margin": calibration.margin}), calibration
