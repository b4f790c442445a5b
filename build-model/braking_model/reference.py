"""The reference profile a model is monitored against, and the drift statistics of a window.

Training writes `reference_profile.json` next to model.onnx: for every feature and for the
prediction, percentiles, decile edges with the reference's share in each bin, mean, std and a
sample of reference values (for the two-sample KS test); the model's held-out metrics; and
drift thresholds calibrated by bootstrapping windows of held-out rows, so each column's effect
size threshold is what no-drift windows of that size actually reach. `evaluate_window` is the
pure function the collector applies to every window of served rows (docs/adr/0013).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike
from pydantic import BaseModel, Field

from braking_data.contract import FEATURE_COLUMNS, FEATURE_RANGES

PROFILE_FILE = "reference_profile.json"
PREDICTION = "prediction"
COLUMNS = (*FEATURE_COLUMNS, PREDICTION)
PERCENTILES = tuple(range(101))
PSI_EPSILON = 1e-4  # share given to an empty bin so the log stays finite

# Defaults measured in benchmarks/bench_monitoring.py and argued in docs/adr/0013.
WINDOW_ROWS = 1_000
MIN_WINDOW_ROWS = 300
LABEL_WINDOW_ROWS = 250  # two labelled windows = 500 labels (the goal)
FAMILY_ALPHA = 0.01  # KS, Bonferroni-corrected over COLUMNS: per column alpha / 8
PSI_FLOOR = 0.05  # below this a shift is too small to matter, however significant
PSI_MARGIN = 1.5  # threshold = margin x the 99th percentile of no-drift windows
OUT_OF_CONTRACT_RATE = 0.01
RMSE_MARGIN = 1.25
SAMPLE_ROWS = 4_000
BOOTSTRAP_WINDOWS = 200


class ColumnProfile(BaseModel):
    """Percentiles, decile bins, moments and a sample of one reference column."""

    percentiles: list[float]
    decile_edges: list[float] = Field(description="inner bin edges (duplicates removed)")
    decile_shares: list[float] = Field(description="reference share in each of the bins")
    mean: float
    std: float
    sample: list[float]


class DriftThresholds(BaseModel):
    """When a window drifts or a labelled window degrades (ADR 13)."""

    window_rows: int = WINDOW_ROWS
    min_window_rows: int = MIN_WINDOW_ROWS
    family_alpha: float = FAMILY_ALPHA
    psi: dict[str, float] = Field(description="effect-size threshold per column")
    out_of_contract_rate: float = OUT_OF_CONTRACT_RATE
    label_window_rows: int = LABEL_WINDOW_ROWS
    max_rmse: float | None = Field(None, description="labelled-window RMSE above this alarms")


class ReferenceProfile(BaseModel):
    """What a served model is monitored against: per column profiles and thresholds."""

    columns: dict[str, ColumnProfile]
    thresholds: DriftThresholds
    validation: dict[str, float] = Field(default_factory=dict, description="held-out metrics")
    rows: int = 0

    def save(self, model_dir: str | Path) -> Path:
        """Write MODEL_DIR/reference_profile.json; returns its path."""
        path = Path(model_dir) / PROFILE_FILE
        path.write_text(self.model_dump_json(indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> ReferenceProfile:
        """The profile from its JSON file, or from the model folder holding it."""
        path = Path(path)
        return cls.model_validate_json((path / PROFILE_FILE if path.is_dir() else path).read_text())


def _as_columns(features: np.ndarray, predictions: np.ndarray) -> dict[str, np.ndarray]:
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    columns = {name: features[:, i] for i, name in enumerate(FEATURE_COLUMNS)}
    columns[PREDICTION] = np.asarray(predictions, dtype=np.float64).reshape(-1)
    return columns


def bin_shares(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Share of `values` in each bin cut by the inner `edges` (len(edges) + 1 bins)."""
    values = values[np.isfinite(values)]
    counts = np.bincount(np.searchsorted(edges, values, side="right"), minlength=len(edges) + 1)
    return counts / max(len(values), 1)


def psi(reference_shares: ArrayLike, current_shares: ArrayLike) -> float:
    """Population stability index: sum (c - r) ln(c / r) over bins, empty bins at epsilon."""
    r = np.maximum(np.asarray(reference_shares, dtype=np.float64), PSI_EPSILON)
    c = np.maximum(np.asarray(current_shares, dtype=np.float64), PSI_EPSILON)
    return float(np.sum((c - r) * np.log(c / r)))


def wasserstein_normalised(reference: np.ndarray, current: np.ndarray, std: float) -> float:
    """Earth mover's distance between the two samples in units of the reference std."""
    from scipy.stats import wasserstein_distance

    return float(wasserstein_distance(reference, current) / std) if std > 0 else 0.0


def ks_test(reference: np.ndarray, current: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic and p-value (asymptotic: fast for n ~ 1e3)."""
    from scipy.stats import ks_2samp

    result = ks_2samp(reference, current[np.isfinite(current)], method="asymp")
    return float(result.statistic), float(result.pvalue)


def out_of_contract_rate(features: np.ndarray) -> float:
    """Share of rows with any feature NaN or outside the feature contract's range."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    low = np.array([FEATURE_RANGES[c][0] for c in FEATURE_COLUMNS])
    high = np.array([FEATURE_RANGES[c][1] for c in FEATURE_COLUMNS])
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(features) | (features < low) | (features > high)
    return float(bad.any(axis=1).mean()) if len(features) else 0.0


def column_profile(values: np.ndarray, sample_rows: int, rng: np.random.Generator) -> ColumnProfile:
    """The profile of one column's finite values; `sample_rows` of them kept for KS."""
    values = values[np.isfinite(values)]
    edges = np.unique(np.percentile(values, np.arange(10, 100, 10)))
    sample = values if len(values) <= sample_rows else rng.choice(values, sample_rows, False)
    return ColumnProfile(
        percentiles=np.percentile(values, PERCENTILES).round(6).tolist(),
        decile_edges=edges.tolist(),
        decile_shares=bin_shares(values, edges).round(6).tolist(),
        mean=float(values.mean()),
        std=float(values.std()),
        sample=np.asarray(sample, dtype=np.float32).astype(np.float64).round(6).tolist(),
    )


def build_profile(
    reference_features: np.ndarray,
    reference_predictions: np.ndarray,
    heldout_features: np.ndarray,
    heldout_predictions: np.ndarray,
    heldout_labels: np.ndarray | None = None,
    *,
    window_rows: int = WINDOW_ROWS,
    bootstrap_windows: int = BOOTSTRAP_WINDOWS,
    seed: int = 0,
) -> ReferenceProfile:
    """Profile of the reference rows, thresholds calibrated on windows of held-out rows."""
    rng = np.random.default_rng(seed)
    reference = _as_columns(reference_features, reference_predictions)
    columns = {name: column_profile(values, SAMPLE_ROWS, rng) for name, values in reference.items()}
    heldout = _as_columns(heldout_features, heldout_predictions)
    n = len(heldout[PREDICTION])
    size = min(window_rows, n)
    no_drift: dict[str, list[float]] = {name: [] for name in COLUMNS}
    for _ in range(bootstrap_windows):
        rows = rng.integers(0, n, size)
        for name in COLUMNS:
            edges = np.asarray(columns[name].decile_edges)
            shares = bin_shares(heldout[name][rows], edges)
            no_drift[name].append(psi(columns[name].decile_shares, shares))
    thresholds = {
        name: round(max(PSI_FLOOR, PSI_MARGIN * float(np.quantile(values, 0.99))), 4)
        for name, values in no_drift.items()
    }
    validation, max_rmse = {}, None
    if heldout_labels is not None:
        labels = np.asarray(heldout_labels, dtype=np.float64).reshape(-1)
        errors = heldout[PREDICTION] - labels
        validation = {"rmse": float(np.sqrt(np.mean(errors**2))), "rows": float(n)}
        windows = rng.integers(0, n, (bootstrap_windows, min(LABEL_WINDOW_ROWS, n)))
        window_rmse = np.sqrt(np.mean(errors[windows] ** 2, axis=1))
        max_rmse = round(RMSE_MARGIN * float(np.quantile(window_rmse, 0.99)), 5)
    return ReferenceProfile(
        columns=columns,
        thresholds=DriftThresholds(window_rows=window_rows, psi=thresholds, max_rmse=max_rmse),
        validation=validation,
        rows=len(reference[PREDICTION]),
    )


def evaluate_window(
    profile: ReferenceProfile, features: np.ndarray, predictions: np.ndarray
) -> dict:
    """Drift verdict of one window: per column KS (Bonferroni), PSI, Wasserstein; data quality.

    A column drifts when its corrected p-value is below the family alpha AND its PSI exceeds
    its calibrated threshold; the window drifts when any column does or when more rows than
    allowed break the feature contract.
    """
    current = _as_columns(features, predictions)
    thresholds = profile.thresholds
    columns, reasons = {}, []
    for name, reference in profile.columns.items():
        values = current[name][np.isfinite(current[name])]
        if len(values) == 0:
            continue
        statistic, p_value = ks_test(np.asarray(reference.sample), values)
        adjusted = min(1.0, p_value * len(profile.columns))
        shares = bin_shares(values, np.asarray(reference.decile_edges))
        effect = psi(reference.decile_shares, shares)
        limit = thresholds.psi.get(name, PSI_FLOOR)
        drifted = adjusted < thresholds.family_alpha and effect > limit
        columns[name] = {
            "ks_statistic": statistic,
            "p_value": p_value,
            "p_adjusted": adjusted,
            "psi": effect,
            "psi_threshold": limit,
            "wasserstein": wasserstein_normalised(
                np.asarray(reference.sample), values, reference.std
            ),
            "mean": float(values.mean()),
            "drifted": drifted,
        }
        if drifted:
            reasons.append(f"{name}: PSI {effect:.3f} > {limit:.3f}, p_adj {adjusted:.2g}")
    bad_rate = out_of_contract_rate(features)
    if bad_rate > thresholds.out_of_contract_rate:
        reasons.append(
            f"data quality: {bad_rate:.1%} of rows outside the feature contract "
            f"(> {thresholds.out_of_contract_rate:.1%})"
        )
    return {
        "rows": len(current[PREDICTION]),
        "drifted": bool(reasons),
        "reasons": reasons,
        "out_of_contract_rate": bad_rate,
        "columns": columns,
    }


def labelled_window(profile: ReferenceProfile, predictions, labels) -> dict:
    """RMSE, MAE and under-braking rate of a labelled window; degraded above max_rmse."""
    from braking_model.accuracy import accuracy

    metrics = accuracy(np.asarray(labels), np.asarray(predictions))
    limit = profile.thresholds.max_rmse
    degraded = limit is not None and math.isfinite(metrics["rmse"]) and metrics["rmse"] > limit
    reasons = [f"labelled RMSE {metrics['rmse']:.4f} > {limit:.4f}"] if degraded else []
    return {"rows": len(labels), "degraded": degraded, "reasons": reasons, **metrics}


def profile_summary(profile: ReferenceProfile) -> Mapping[str, float]:
    """The profile's thresholds as flat numbers, for registry properties and reports."""
    flat = {f"psi_threshold_{k}": v for k, v in profile.thresholds.psi.items()}
    flat.update(window_rows=profile.thresholds.window_rows)
    if profile.thresholds.max_rmse is not None:
        flat["max_rmse"] = profile.thresholds.max_rmse
    return json.loads(json.dumps(flat))


def write_reference_profile(
    model_dir: str | Path,
    train_features: np.ndarray,
    test_features: np.ndarray,
    test_labels: np.ndarray,
    predict,
    seed: int = 0,
    max_reference_rows: int = 20_000,
) -> Path:
    """Profile the served model (`predict`: features -> brake) and write it to MODEL_DIR."""
    rng = np.random.default_rng(seed)
    if len(train_features) > max_reference_rows:
        train_features = train_features[rng.choice(len(train_features), max_reference_rows, False)]
    profile = build_profile(
        train_features,
        predict(train_features),
        test_features,
        predict(test_features),
        test_labels,
        seed=seed,
    )
    return profile.save(model_dir)
