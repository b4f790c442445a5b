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
SKLEARN_OUTPUTS_HASH_KEY = "sklearn_outputs_sha256"  # in metrics.json: the recorded outputs
MIN_VALIDATION_ROWS = 40  # fewer held-out rows make the gate's figures noise
# One row of sklearn_outputs.npy: a held-out row and what the pipeline answered for it.
SKLEARN_OUTPUTS_DTYPE = np.dtype(
    [("features", "<f4", (len(FEATURE_COLUMNS),)), ("brake", "<f8"), ("expected_error", "<f8")]
)


class UncheckedFileError(RuntimeError):
    """A model file does not match the hash metrics.json recorded at export: it is not used."""


class UncheckedPickleError(UncheckedFileError):
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


def sklearn_outputs(pipeline, X: np.ndarray) -> np.ndarray:
    """The fitted pipeline's brake and expected error on the raw rows X, with X
    (SKLEARN_OUTPUTS_DTYPE): what the graph must answer on the same rows."""
    outputs = np.zeros(len(X), dtype=SKLEARN_OUTPUTS_DTYPE)
    outputs["features"] = X
    if len(X):
        outputs["brake"] = np.asarray(pipeline.predict(X), dtype=np.float64).reshape(-1)
        outputs["expected_error"] = pipeline_expected_error(pipeline, X)
    return outputs


def record_sklearn_outputs(files: ModelDir, outputs: np.ndarray) -> str:
    """Write the pipeline's outputs on the held-out rows (`sklearn_outputs`) to the model
    directory, for the gate's parity checks; returns the file's sha256 for metrics.json."""
    from braking_data.storage import file_sha256

    np.save(files.sklearn_outputs, outputs, allow_pickle=False)
    return file_sha256(files.sklearn_outputs)


def _checked(
    files: ModelDir, path: Path, key: str, error: type[UncheckedFileError], use: str = "use"
) -> None:
    """Raise `error` unless `path` has the sha256 metrics.json recorded under `key`."""
    from braking_data.storage import file_sha256

    try:
        expected = (files.read_metrics() or {}).get(key)
    except (ValueError, AttributeError):
        expected = None
    if not expected:
        raise error(
            f"{path}: {files.metrics.name} records no {key}, so the file cannot be checked and "
            f"is not {use}d; re-run `braking train`"
        )
    actual = file_sha256(path)
    if actual != expected:
        raise error(
            f"{path}: sha256 {actual[:12]}… differs from {key} {expected[:12]}… in "
            f"{files.metrics.name}; refusing to {use} a file not written by that training run"
        )


def check_joblib(files: ModelDir) -> None:
    """Refuse model.joblib unless its sha256 is the one metrics.json recorded at export.

    Unpickling runs code, and whoever can write the artifact store could swap the file;
    the hash ties it to the training run that wrote metrics.json beside the ONNX graph.
    """
    _checked(files, files.joblib, JOBLIB_HASH_KEY, UncheckedPickleError, use="unpickle")


def reference_outputs(files: ModelDir, X: np.ndarray) -> tuple[np.ndarray, str] | None:
    """scikit-learn's outputs on the rows X and where they come from: those recorded at export
    when X are the rows they were recorded on (no scikit-learn import), else the checked
    model.joblib's; None when the model directory holds neither."""
    if files.sklearn_outputs.is_file():
        _checked(files, files.sklearn_outputs, SKLEARN_OUTPUTS_HASH_KEY, UncheckedFileError)
        recorded = np.load(files.sklearn_outputs, allow_pickle=False)
        if recorded.dtype == SKLEARN_OUTPUTS_DTYPE and np.array_equal(recorded["features"], X):
            return recorded, files.sklearn_outputs.name
    if not files.joblib.is_file():
        return None
    import joblib

    return sklearn_outputs(joblib.load(files.joblib), X), files.joblib.name


def _max_abs(predicted: np.ndarray, expected: np.ndarray) -> float:
    return float(np.max(np.abs(np.asarray(predicted, np.float64) - expected), initial=0.0))


def _parity(onnx_path: Path, sess, expected: np.ndarray) -> dict[str, Any]:
    """`onnx_parity_max_abs` and `openvino_parity_max_abs`: the graph on onnxruntime and on
    OpenVINO (as OVMS runs it) against scikit-learn's `expected` outputs (SKLEARN_OUTPUTS_DTYPE);
    when OpenVINO cannot load the graph, `openvino_error` says why (and the check fails).
    `openvino_expected_error_parity_max_abs` records the second output's parity (no check:
    the gate judges the brake)."""
    from braking_model import export

    X = expected["features"]
    parity: dict[str, Any] = {
        "onnx_parity_max_abs": _max_abs(export.onnx_predict(sess, X), expected["brake"])
    }
    try:
        compiled = export.openvino_model(onnx_path)
    except Exception as error:  # OpenVINO raises plain RuntimeErrors for unsupported graphs
        return parity | {"openvino_error": f"OpenVINO cannot load {onnx_path.name}: {error}"}
    served = export.openvino_predict(compiled, X)
    parity["openvino_parity_max_abs"] = _max_abs(served, expected["brake"])
    if len(X) and EXPECTED_ERROR_TENSOR in {port.any_name for port in compiled.outputs}:
        served = export.openvino_predict(compiled, X, output=EXPECTED_ERROR_TENSOR)
        parity["openvino_expected_error_parity_max_abs"] = _max_abs(
            served, expected["expected_error"]
        )
    return parity


def validate_model(
    model_dir: str | os.PathLike[str],
    data_path: str | os.PathLike[str],
    thresholds: GateThresholds | None = None,
) -> GateVerdict:
    """Score MODEL_DIR/model.onnx on `data_path` and the probes, check its parity on
    onnxruntime and on OpenVINO against scikit-learn (`reference_outputs`), apply the gate;
    writes MODEL_DIR/gate.json and refreshes the model card. Never raises on a failing model:
    the verdict says why."""
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
    X = frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float32)
    reference = reference_outputs(files, X)
    if reference is not None:
        expected, metrics["parity_reference"] = reference
        metrics.update(_parity(onnx_path, sess, expected))
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
