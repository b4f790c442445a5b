"""Measure a model on held-out data and probes, and run the gate on the promoted artifact.

`measure` is shared by training (metrics.json) and validation (gate.json): it always scores
the ONNX graph, the artifact that gets served, and compares it with the physics baseline.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import (
    CONDITION_COLUMN,
    EXPECTED_ERROR_TENSOR,
    FEATURE_COLUMNS,
    LABEL_COLUMN,
)
from braking_data.physics import physics_baseline
from braking_model.accuracy import accuracy
from braking_model.expected_error import pipeline_expected_error
from braking_model.gate import GateThresholds, GateVerdict, evaluate_gate
from braking_model.invariants import check_invariants
from braking_model.model_dir import ModelDir, write_json

if TYPE_CHECKING:
    import pandas as pd

JOBLIB_HASH_KEY = "joblib_sha256"  # in metrics.json: the pickle validate may load
MIN_VALIDATION_ROWS = 40  # fewer held-out rows make the gate's figures noise


class UncheckedPickleError(RuntimeError):
    """model.joblib does not match the hash recorded at export: it is never unpickled."""


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


def _openvino_parity(onnx_path: Path, pipeline, X: np.ndarray) -> dict[str, Any]:
    """`openvino_parity_max_abs`: the graph on OpenVINO, as OVMS runs it, against scikit-learn;
    when OpenVINO cannot load the graph, `openvino_error` says why (and the check fails).
    `openvino_expected_error_parity_max_abs` records the second output's parity (no check:
    the gate judges the brake)."""
    from braking_model import export

    try:
        compiled = export.openvino_model(onnx_path)
    except Exception as error:  # OpenVINO raises plain RuntimeErrors for unsupported graphs
        return {"openvino_error": f"OpenVINO cannot load {onnx_path.name}: {error}"}

    def predict(rows: np.ndarray) -> np.ndarray:
        return export.openvino_predict(compiled, rows)

    parity = {"openvino_parity_max_abs": export.parity_max_abs(pipeline, predict, X)}
    if len(X) and EXPECTED_ERROR_TENSOR in {port.any_name for port in compiled.outputs}:
        served = export.openvino_predict(compiled, X, output=EXPECTED_ERROR_TENSOR)
        python = pipeline_expected_error(pipeline, X)
        parity["openvino_expected_error_parity_max_abs"] = float(np.max(np.abs(served - python)))
    return parity


def check_joblib(files: ModelDir) -> None:
    """Refuse model.joblib unless its sha256 is the one metrics.json recorded at export.

    Unpickling runs code, and whoever can write the artifact store could swap the file;
    the hash ties it to the training run that wrote metrics.json beside the ONNX graph.
    """
    from braking_data.storage import file_sha256

    try:
        expected = (files.read_metrics() or {}).get(JOBLIB_HASH_KEY)
    except (ValueError, AttributeError):
        expected = None
    if not expected:
        raise UncheckedPickleError(
            f"{files.joblib}: {files.metrics.name} records no {JOBLIB_HASH_KEY}, so the pickle "
            "cannot be checked and is not loaded; re-run `braking train`"
        )
    actual = file_sha256(files.joblib)
    if actual != expected:
        raise UncheckedPickleError(
            f"{files.joblib}: sha256 {actual[:12]}… differs from {JOBLIB_HASH_KEY} "
            f"{expected[:12]}… in {files.metrics.name}; refusing to unpickle a file not "
            "written by that training run"
        )


def validate_model(
    model_dir: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    thresholds: GateThresholds | None = None,
) -> GateVerdict:
    """Score MODEL_DIR/model.onnx on `data_path` and the probes, check its parity on
    onnxruntime and on OpenVINO against MODEL_DIR/model.joblib, apply the gate; writes
    MODEL_DIR/gate.json and refreshes the model card. Never raises on a failing model: the
    verdict says why."""
    import joblib

    from braking_data.schema import read_dataset
    from braking_model import export, report
    from braking_model.tune import TooFewRowsError

    files = ModelDir(model_dir)
    onnx_path = files.require_onnx()
    thresholds = thresholds or GateThresholds()
    frame = read_dataset(data_path)
    if len(frame) < MIN_VALIDATION_ROWS:
        raise TooFewRowsError(
            f"data set {data_path} has {len(frame)} rows; the gate needs at least "
            f"{MIN_VALIDATION_ROWS} held-out rows"
        )
    if files.joblib.is_file():
        check_joblib(files)  # before anything else: a pickle runs code when loaded
    sess = export.session(onnx_path)
    metrics, _ = measure(frame, lambda X: export.onnx_predict(sess, X))
    if files.joblib.is_file():
        pipeline = joblib.load(files.joblib)
        X = frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float32)
        metrics["onnx_parity_max_abs"] = export.parity_max_abs(pipeline, sess, X)
        metrics.update(_openvino_parity(onnx_path, pipeline, X))
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
