"""Measure a model on held-out data and probes, and run the gate on the promoted artifact.

`measure` is shared by training (metrics.json) and validation (gate.json): it always scores
the ONNX graph, the artifact that gets served, and compares it with the physics baseline.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import CONDITION_COLUMN, FEATURE_COLUMNS, LABEL_COLUMN
from braking_data.physics import physics_baseline
from braking_model.gate import GateThresholds, GateVerdict, evaluate_gate
from braking_model.invariants import check_invariants

if TYPE_CHECKING:
    import pandas as pd

UNDER_BRAKING_DEMAND = 0.5  # rows where at least half the available braking is needed
UNDER_BRAKING_SLACK = 0.1  # ... and the model brakes more than 0.1 less than needed

GATE_FILE = "gate.json"
METRICS_FILE = "metrics.json"
JOBLIB_HASH_KEY = "joblib_sha256"  # in metrics.json: the pickle validate may load
MIN_VALIDATION_ROWS = 40  # fewer held-out rows make the gate's figures noise


class UncheckedPickleError(RuntimeError):
    """model.joblib does not match the hash recorded at export: it is never unpickled."""


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


def measure(
    frame: pd.DataFrame, predict: Callable[[np.ndarray], np.ndarray]
) -> tuple[dict[str, Any], np.ndarray]:
    """Metrics of `predict` (raw features -> brake) on `frame` and on the physics probes, and
    the predictions themselves."""
    X = frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float32)
    y = frame[LABEL_COLUMN].to_numpy(dtype=np.float64)
    predicted = np.asarray(predict(X), dtype=np.float64).reshape(-1)
    baseline = physics_baseline(*X.astype(np.float64).T)
    metrics: dict[str, Any] = {"rows": len(y), **accuracy(y, predicted)}
    metrics["baseline_rmse"] = float(np.sqrt(np.mean((baseline - y) ** 2)))
    metrics["rmse_to_baseline"] = (
        metrics["rmse"] / metrics["baseline_rmse"] if metrics["baseline_rmse"] > 0 else None
    )
    conditions = frame[CONDITION_COLUMN].astype(str).to_numpy()
    metrics["rmse_by_condition"] = {
        str(c): float(np.sqrt(np.mean((predicted[conditions == c] - y[conditions == c]) ** 2)))
        for c in sorted(set(conditions))
    }
    metrics.update(check_invariants(predict))
    return metrics, predicted


def check_joblib(model_dir: Path) -> None:
    """Refuse model.joblib unless its sha256 is the one metrics.json recorded at export.

    Unpickling runs code, and whoever can write the artifact store could swap the file;
    the hash ties it to the training run that wrote metrics.json beside the ONNX graph.
    """
    from braking_model.train import sha256_of

    path = model_dir / "model.joblib"
    try:
        expected = json.loads((model_dir / METRICS_FILE).read_text()).get(JOBLIB_HASH_KEY)
    except (OSError, ValueError, AttributeError):
        expected = None
    if not expected:
        raise UncheckedPickleError(
            f"{path}: {model_dir / METRICS_FILE} records no {JOBLIB_HASH_KEY}, so the pickle "
            "cannot be checked and is not loaded; re-run `braking train`"
        )
    actual = sha256_of(path)
    if actual != expected:
        raise UncheckedPickleError(
            f"{path}: sha256 {actual[:12]}… differs from {JOBLIB_HASH_KEY} {expected[:12]}… "
            f"in {METRICS_FILE}; refusing to unpickle a file not written by that training run"
        )


def validate_model(
    model_dir: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    thresholds: GateThresholds | None = None,
) -> GateVerdict:
    """Score MODEL_DIR/model.onnx on `data_path` and the probes, check ONNX parity against
    MODEL_DIR/model.joblib, apply the gate; writes MODEL_DIR/gate.json and refreshes the
    model card. Never raises on a failing model: the verdict says why."""
    import joblib

    from braking_model import export, report
    from braking_model.tune import TooFewRowsError, read_frame

    model_dir = Path(model_dir)
    onnx_path = model_dir / "model.onnx"
    if not onnx_path.is_file():
        raise FileNotFoundError(f"model directory {model_dir} has no model.onnx")
    thresholds = thresholds or GateThresholds()
    frame = read_frame(data_path)
    if len(frame) < MIN_VALIDATION_ROWS:
        raise TooFewRowsError(
            f"data set {data_path} has {len(frame)} rows; the gate needs at least "
            f"{MIN_VALIDATION_ROWS} held-out rows"
        )
    joblib_path = model_dir / "model.joblib"
    if joblib_path.is_file():
        check_joblib(model_dir)  # before anything else: a pickle runs code when loaded
    sess = export.session(onnx_path)
    metrics, _ = measure(frame, lambda X: export.onnx_predict(sess, X))
    if joblib_path.is_file():
        pipeline = joblib.load(joblib_path)
        X = frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float32)
        metrics["onnx_parity_max_abs"] = export.parity_max_abs(pipeline, sess, X)
    verdict = evaluate_gate(metrics, thresholds)
    record = {
        "passed": verdict.passed,
        "reasons": verdict.reasons,
        "checks": verdict.to_dict()["checks"],
        "data": str(data_path),
        "metrics": metrics,
        "thresholds": thresholds.model_dump(),
    }
    (model_dir / GATE_FILE).write_text(json.dumps(record, indent=2, default=float) + "\n")
    report.write_model_card(model_dir)
    return verdict
