"""The levels layout: ensembles of very different depths, summed in one walk whose trees stop
at their group's depth, answer like scikit-learn on onnxruntime and on OpenVINO."""

from __future__ import annotations

import numpy as np
import pytest
from skl2onnx import convert_sklearn, update_registered_converter
from skl2onnx.common.data_types import FloatTensorType
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor

from braking_data.contract import OPENVINO_CONFIG
from braking_model import export, tree_graph
from braking_model.tree_graph import GraphBuilder, ensemble_sums
from braking_model.tree_tables import group_depths, hist_gradient_boosting_ensemble

TOLERANCE = 1e-5
FEATURES = 5


class SeveralEnsembles(BaseEstimator):
    """Fitted boosted models whose predictions the graph returns side by side [N, models]."""

    def __init__(self, models: list[HistGradientBoostingRegressor]) -> None:
        self.models = models

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.stack([model.predict(X) for model in self.models], axis=1)


def _shape_calculator(operator) -> None:
    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([rows, len(operator.raw_operator.models)])


def _converter(scope, operator, container) -> None:
    g = GraphBuilder(scope, container)
    ensembles = [hist_gradient_boosting_ensemble(m) for m in operator.raw_operator.models]
    sums = ensemble_sums(g, operator.inputs[0].full_name, ensembles)
    g.op("Identity", sums, output=operator.outputs[0].full_name)


@pytest.fixture(scope="module")
def rows_and_models() -> tuple[np.ndarray, SeveralEnsembles]:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(4_000, FEATURES)).astype(np.float32)
    y = 2 * X[:, 0] + np.sin(3 * X[:, 1]) + X[:, 2] * X[:, 3] + 0.1 * rng.normal(size=len(X))
    models = [
        HistGradientBoostingRegressor(max_depth=2, max_iter=15, random_state=0),  # shallow
        HistGradientBoostingRegressor(max_leaf_nodes=40, max_iter=20, random_state=0),  # deep
        HistGradientBoostingRegressor(max_iter=3, random_state=0),  # constant: one-leaf trees
    ]
    for model, target in zip(models, (y, y, np.full_like(y, 0.25)), strict=True):
        model.fit(X, target)
    update_registered_converter(
        SeveralEnsembles, "TestSeveralEnsembles", _shape_calculator, _converter
    )
    return X, SeveralEnsembles(models)


@pytest.mark.parametrize("groups", [1, 2, 4, 30])
def test_trees_walked_in_depth_groups_sum_like_scikit_learn(
    rows_and_models, monkeypatch, groups
) -> None:
    X, several = rows_and_models
    depths = [p[0].nodes["depth"].max() for m in several.models for p in m._predictors]
    assert min(depths) == 0 and max(depths) > 2 * 2  # leaves only, shallow and deep trees
    monkeypatch.setattr(tree_graph, "LEVEL_GROUPS", groups)
    model = convert_sklearn(
        several,
        initial_types=[("features", FloatTensorType([None, FEATURES]))],
        target_opset=export.TARGET_OPSET,
    )
    expected = several.predict(X)
    onnxruntime = export.session(model).run(None, {"features": X})[0]
    assert onnxruntime.shape == expected.shape
    assert np.max(np.abs(onnxruntime - expected)) <= TOLERANCE
    assert np.max(np.abs(_openvino(model).infer([X])[0] - expected)) <= TOLERANCE


def _openvino(model):
    import openvino

    core = openvino.Core()
    config = {**OPENVINO_CONFIG, "INFERENCE_NUM_THREADS": "2"}
    compiled = core.compile_model(core.read_model(model.SerializeToString(), b""), "CPU", config)
    return compiled.create_infer_request()


@pytest.mark.parametrize(
    ("depths", "groups", "lengths"),
    [
        ([2, 2, 3, 10, 10], 1, [10]),  # one group: every tree walks the deepest
        ([2, 2, 3, 10, 10], 2, [3, 10]),
        ([2, 2, 3, 10, 10], 5, [2, 3, 10]),  # no more groups than distinct depths
        ([9, 1, 1, 1, 1, 5], 2, [1, 9]),  # many shallow trees get their own group
        ([0, 0, 7], 3, [0, 7]),
        ([], 2, [0]),
    ],
)
def test_depth_groups_minimise_the_steps_walked(depths, groups, lengths) -> None:
    assert group_depths(depths, groups) == lengths
