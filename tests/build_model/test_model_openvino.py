"""model.onnx on OpenVINO, the engine inside OVMS: it loads, and answers like onnxruntime and
scikit-learn (rows sitting exactly on split thresholds included), with several threads."""

from __future__ import annotations

import joblib
import numpy as np
import onnx
import pandas as pd
import pytest
from skl2onnx import convert_sklearn
from skl2onnx.common.data_types import FloatTensorType
from sklearn.ensemble import HistGradientBoostingRegressor

from braking_data.contract import FEATURE_COLUMNS, FEATURE_RANGES
from braking_model import export
from braking_model.estimator import build_pipeline
from braking_model.features import FEATURE_NAMES
from braking_model.tree_graph import LAYOUTS, register_tree_converter, using_layout
from braking_model.tree_tables import floor_float32

TOLERANCE = 1e-5
THREADS = 2
BATCH = 16_384  # >= 10k rows per call: where multi-threaded Gather(axis=1) went wrong


@pytest.fixture(scope="module")
def pipeline(trained_model_dir):
    return joblib.load(trained_model_dir / "model.joblib")


@pytest.fixture(scope="module")
def test_rows(trained_model_dir) -> np.ndarray:
    test = pd.read_parquet(trained_model_dir.parent / "split" / "test.parquet")
    return test[list(FEATURE_COLUMNS)].to_numpy(np.float32)


def _domains(model: onnx.ModelProto) -> set[str]:
    return {node.domain for node in model.graph.node} | {o.domain for o in model.opset_import}


def test_graph_holds_only_default_domain_operators(trained_model_dir) -> None:
    model = onnx.load(str(trained_model_dir / "model.onnx"))
    assert _domains(model) == {""}
    assert "TreeEnsembleRegressor" not in {node.op_type for node in model.graph.node}


def test_thresholds_round_down_to_float32() -> None:
    values = np.array([0.1, -0.1, 1.0, 1e-40, np.inf, 3.0000001], dtype=np.float64)
    floored = floor_float32(values)
    assert floored.dtype == np.float32
    assert np.all(floored.astype(np.float64) <= values)
    above = np.nextafter(floored, np.float32(np.inf)).astype(np.float64)
    assert np.all((above > values) | np.isinf(values))


def _rows_on_thresholds(model: HistGradientBoostingRegressor, base: np.ndarray) -> np.ndarray:
    """For every split: a base row with the split's feature set to the float32 nearest to the
    threshold, and to the float32 values just below and just above it."""
    rows = []
    for predictors in model._predictors:
        nodes = predictors[0].nodes
        for node in nodes[~nodes["is_leaf"].astype(bool)]:
            t = floor_float32(node["num_threshold"])
            for value in (
                t,
                np.nextafter(t, np.float32(np.inf)),
                np.float32(node["num_threshold"]),
            ):
                row = base[len(rows) % len(base)].copy()
                row[node["feature_idx"]] = value
                rows.append(row)
    return np.asarray(rows, dtype=np.float32)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_trees_route_rows_on_a_threshold_like_scikit_learn(pipeline, test_rows, layout) -> None:
    features = pipeline.named_steps["features"].transform(test_rows[:500])
    trees = HistGradientBoostingRegressor(max_iter=30, max_leaf_nodes=15, random_state=0)
    trees.fit(features, pipeline.predict(test_rows[:500]))
    X = _rows_on_thresholds(trees, features)
    register_tree_converter()
    with using_layout(layout):
        model = convert_sklearn(
            trees,
            initial_types=[("features", FloatTensorType([None, len(FEATURE_NAMES)]))],
            target_opset=export.TARGET_OPSET,
        )
    assert _domains(model) == {""}
    assert ("Transpose" in {node.op_type for node in model.graph.node}) == (layout == "matrix")
    expected = trees.predict(X)
    onnxruntime = export.session(model).run(None, {"features": X})[0].reshape(-1)
    assert np.max(np.abs(onnxruntime - expected)) <= TOLERANCE
    compiled = _openvino(model)
    openvino = compiled.create_infer_request().infer([X])[0].reshape(-1)
    assert np.max(np.abs(openvino - expected)) <= TOLERANCE


def _openvino(model: onnx.ModelProto):
    import openvino

    from braking_data.contract import OPENVINO_CONFIG

    config = {**OPENVINO_CONFIG, "INFERENCE_NUM_THREADS": str(THREADS)}
    return openvino.Core().compile_model(
        openvino.Core().read_model(model.SerializeToString(), b""), "CPU", config
    )


def _probe_rows(test_rows: np.ndarray, pipeline, count: int) -> np.ndarray:
    """Held-out rows, random rows over the contract's ranges, and rows whose friction (a raw
    feature the trees split on directly) sits exactly on a threshold."""
    rng = np.random.default_rng(7)
    low, high = np.array(list(FEATURE_RANGES.values()), dtype=np.float32).T
    uniform = rng.uniform(low, high, size=(count // 2, len(FEATURE_COLUMNS))).astype(np.float32)
    friction = FEATURE_NAMES.index("road_friction")
    on_threshold = []
    for model in (pipeline.named_steps["model"].regressor_, pipeline.named_steps["model"].spread_):
        if isinstance(model, HistGradientBoostingRegressor):
            on_threshold.append(_rows_on_thresholds(model, np.zeros((1, 11), np.float32)))
    thresholds = np.concatenate([r[:, friction] for r in on_threshold] or [np.zeros(0)])
    at_friction = test_rows[rng.integers(len(test_rows), size=len(thresholds))].copy()
    at_friction[:, FEATURE_COLUMNS.index("road_friction")] = thresholds
    held_out = test_rows[rng.integers(len(test_rows), size=count - len(uniform) - len(at_friction))]
    return np.concatenate([held_out, uniform, at_friction]).astype(np.float32)


@pytest.mark.slow
def test_openvino_onnxruntime_and_scikit_learn_agree_on_100k_rows(
    trained_model_dir, pipeline, test_rows
) -> None:
    X = _probe_rows(test_rows, pipeline, 100_000)
    expected = pipeline.predict(X)
    onnxruntime = export.onnx_predict(export.session(trained_model_dir / "model.onnx"), X)
    compiled = export.openvino_model(trained_model_dir / "model.onnx", threads=THREADS)
    openvino = export.openvino_predict(compiled, X, max_rows=BATCH)
    assert len(X) >= 100_000
    assert np.max(np.abs(onnxruntime - expected)) <= TOLERANCE
    assert np.max(np.abs(openvino - expected)) <= TOLERANCE
    assert np.max(np.abs(openvino - onnxruntime)) <= TOLERANCE


def test_mlp_family_exports_without_ai_onnx_ml_and_matches_on_openvino(test_rows) -> None:
    params = {"hidden_layer_sizes": (16,), "max_iter": 20, "safety_margin": 1.0}
    pipeline = build_pipeline("mlp", params, seed=0)
    X = test_rows[:2_000]
    pipeline.fit(X, np.clip(X[:, 5] / 250.0, 0, 1))
    model = export.to_onnx(pipeline)
    assert _domains(model) == {""}
    assert "Div" in {node.op_type for node in model.graph.node}  # the scaler, as Sub/Div
    openvino = _openvino(model).create_infer_request().infer([X])[0].reshape(-1)
    assert np.max(np.abs(openvino - pipeline.predict(X))) <= TOLERANCE
