"""The gate's parity checks: against scikit-learn's outputs recorded at export on the held-out
rows (no scikit-learn import), against the checked pickle on other rows, and as strict as
before: a graph that disagrees with scikit-learn fails, a swapped record is refused."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import onnx
import pandas as pd
import pytest
from onnx import helper

from braking_data.contract import OUTPUT_TENSOR
from braking_model.gate import GateThresholds
from braking_model.model_dir import ModelDir
from braking_model.validate import UncheckedFileError, validate_model


@pytest.fixture
def model(trained_model_dir, tmp_path):
    return shutil.copytree(trained_model_dir, tmp_path / "model")


@pytest.fixture
def held_out(trained_model_dir):
    return trained_model_dir.parent / "split" / "test.parquet"


def _gate_metrics(model) -> dict:
    return json.loads(ModelDir(model).gate.read_text())["metrics"]


def test_on_the_held_out_rows_the_gate_never_loads_scikit_learn(model, held_out):
    code = (
        "import sys; from braking_model.validate import validate_model; "
        f"validate_model({str(model)!r}, {str(held_out)!r}); "
        "print(sorted({'sklearn', 'joblib', 'scipy'} & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == "[]"
    metrics = _gate_metrics(model)
    assert metrics["parity_reference"] == "sklearn_outputs.npy"
    assert metrics["onnx_parity_max_abs"] <= 1e-5
    assert metrics["openvino_parity_max_abs"] <= 1e-5


def test_on_other_rows_the_gate_compares_with_the_checked_pickle(model, held_out, tmp_path):
    other = tmp_path / "other.parquet"
    pd.read_parquet(held_out).iloc[::2].to_parquet(other, index=False)
    validate_model(model, other)
    metrics = _gate_metrics(model)
    assert metrics["parity_reference"] == "model.joblib"
    assert metrics["onnx_parity_max_abs"] <= 1e-5
    assert metrics["openvino_parity_max_abs"] <= 1e-5


def _shift_the_brake(path, by: float) -> None:
    """Rewrite the graph so its brake output is `by` higher than the pipeline's."""
    graph = onnx.load(str(path))
    (producer,) = [node for node in graph.graph.node if OUTPUT_TENSOR in node.output]
    producer.output[list(producer.output).index(OUTPUT_TENSOR)] = "unshifted_brake"
    shift = helper.make_tensor("brake_shift", onnx.TensorProto.FLOAT, [], [by])
    graph.graph.initializer.append(shift)
    graph.graph.node.append(
        helper.make_node("Add", ["unshifted_brake", "brake_shift"], [OUTPUT_TENSOR])
    )
    onnx.save(graph, str(path))


def test_a_graph_that_disagrees_with_scikit_learn_fails_both_parity_checks(model, held_out):
    _shift_the_brake(ModelDir(model).onnx, 0.01)
    verdict = validate_model(model, held_out, GateThresholds())
    failed = {check.name for check in verdict.checks if not check.passed}
    assert {"onnx_parity", "openvino_parity"} <= failed
    metrics = _gate_metrics(model)
    assert metrics["parity_reference"] == "sklearn_outputs.npy"
    assert metrics["onnx_parity_max_abs"] == pytest.approx(0.01, abs=1e-4)


def test_recorded_outputs_that_training_did_not_write_are_refused(model, held_out):
    files = ModelDir(model)
    recorded = np.load(files.sklearn_outputs)
    recorded["brake"] += 0.01  # e.g. rewritten to match a disagreeing graph
    np.save(files.sklearn_outputs, recorded)
    with pytest.raises(UncheckedFileError, match="differs from sklearn_outputs_sha256"):
        validate_model(model, held_out)
    metrics = files.read_metrics()
    del metrics["sklearn_outputs_sha256"]
    files.metrics.write_text(json.dumps(metrics))
    with pytest.raises(UncheckedFileError, match="records no sklearn_outputs_sha256"):
        validate_model(model, held_out)


def test_without_any_scikit_learn_reference_the_parity_checks_fail(model, held_out):
    files = ModelDir(model)
    files.joblib.unlink()
    files.sklearn_outputs.unlink()
    verdict = validate_model(model, held_out, GateThresholds())
    reasons = " ".join(verdict.reasons)
    assert "onnx_parity_max_abs' is missing" in reasons
    assert "openvino_parity_max_abs' is missing" in reasons
