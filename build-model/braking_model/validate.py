"""Measure a model on held-out data and probes, and run the gate on the promoted artifact.

`measure` is shared by training (metrics.json) and validation (gate.json): it always scores
the ONNX graph, the artifact that gets served, and compares it with the physics baseline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import CONDITION_COLUMN, FEATURE_COLUMNS, LABEL_COLUMN
from braking_data.physics import physics_baseline
from braking_model.accuracy import accuracy
from braking_model.gate import GateThresholds, GateVerdict, evaluate_gate
from braking_model.invariants import check_invariants
from braking_model.model_dir import ModelDir, write_json

if TYPE_CHECKING:
    import pandas as pd


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


def validate_model(
    model_dir: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    thresholds: GateThresholds | None = None,
) -> GateVerdict:
    """Score MODEL_DIR/model.onnx on `data_path` and the probes, check ONNX parity against
    MODEL_DIR/model.joblib, apply the gate; writes MODEL_DIR/gate.json and refreshes the
    model card. Never raises on a failing model: the verdict says why."""
    import joblib

    from braking_data.schema import read_dataset
    from braking_model import export, report

    files = ModelDir(model_dir)
    onnx_path = files.require_onnx()
    thresholds = thresholds or GateThresholds()
    frame = read_dataset(data_path)
    sess = export.session(onnx_path)
    metrics, _ = measure(frame, lambda X: export.onnx_predict(sess, X))
    if files.joblib.is_file():
        pipeline = joblib.load(files.joblib)
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
    write_json(files.gate, record)
    report.write_model_card(files.path)
    return verdict
