"""The model families, the physics output constraint, and the full raw-features pipeline.

`build_pipeline(family, params)` returns what is trained, saved as `model.joblib` and
converted to ONNX: ``BrakingFeatures -> NoPhantomBraking(regressor)``. The output constraint
is structural, not learnt: whatever the regressor says, the brake is clipped to [0, 1] and
forced to 0 when the lead vehicle is not closing in. Gradient boosting additionally gets
monotonic constraints (more closing speed never brakes less, more friction never brakes more).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from braking_model.accuracy import UNDER_BRAKING_DEMAND
from braking_model.expected_error import HELD_OUT_SOURCE, IN_SAMPLE_SOURCE, fit_calibration
from braking_model.features import CLOSING_SPEED_INDEX, MONOTONIC_CST, BrakingFeatures


def _hist_gradient_boosting(seed: int) -> BaseEstimator:
    return HistGradientBoostingRegressor(
        monotonic_cst=list(MONOTONIC_CST), early_stopping=False, random_state=seed
    )


def _mlp(seed: int) -> BaseEstimator:
    mlp = MLPRegressor(early_stopping=True, max_iter=30, random_state=seed)
    return make_pipeline(StandardScaler(), mlp)


# family name -> (factory(seed), prefix of its tunable parameters inside the factory's result)
FAMILIES: dict[str, tuple[Any, str]] = {
    "hist_gradient_boosting": (_hist_gradient_boosting, ""),
    "mlp": (_mlp, "mlpregressor__"),
}


# Tunable for every family: brake = expected demand + safety_margin x expected error x ramp,
# where the expected error comes from a second, monotonic gradient-boosting model of
# |residual|. It errs on the side of braking exactly where the sensors leave the demand
# uncertain, and, the margin being a non-negative product of monotonic terms added to a
# monotonic demand, keeps every monotonic guarantee.
WRAPPER_PARAMETERS = ("safety_margin",)

# The ramp: the margin fades in as the expected demand rises from MARGIN_ONSET_DEMAND to the
# demand where under-braking starts to count (accuracy.UNDER_BRAKING_DEMAND). Braking a little
# late is harmless where little braking is needed, and a margin there only costs accuracy
# (docs/adr/0021). Being a non-decreasing function of a monotonic demand, the ramp keeps the
# margin monotonic.
MARGIN_ONSET_DEMAND = 0.3
_RAMP_SCALE = np.float32(1.0 / (UNDER_BRAKING_DEMAND - MARGIN_ONSET_DEMAND))


def margin_ramp(demand: np.ndarray) -> np.ndarray:
    """Share of the safety margin applied at each expected `demand`: 0 up to
    MARGIN_ONSET_DEMAND, rising linearly to 1 at UNDER_BRAKING_DEMAND (float32)."""
    shifted = np.asarray(demand, dtype=np.float32) - np.float32(MARGIN_ONSET_DEMAND)
    return np.clip(shifted * _RAMP_SCALE, np.float32(0.0), np.float32(1.0))


def margined_demand(demand: np.ndarray, spread: np.ndarray, safety_margin: float) -> np.ndarray:
    """The expected `demand` raised by `safety_margin` x `spread` x `margin_ramp(demand)`
    (before clipping to [0, 1]; float32)."""
    demand = np.asarray(demand, dtype=np.float32)
    if safety_margin <= 0:
        return demand
    return demand + np.float32(safety_margin) * spread * margin_ramp(demand)


def _spread_model(seed: int) -> BaseEstimator:
    return HistGradientBoostingRegressor(
        max_iter=100, max_leaf_nodes=31, monotonic_cst=list(MONOTONIC_CST),
        early_stopping=False, random_state=seed,
    )  # fmt: skip


def family_estimator(family: str, params: dict[str, Any], seed: int = 0) -> BaseEstimator:
    """A fresh regressor of `family` with `params` (names as in the search-space YAML, minus
    `WRAPPER_PARAMETERS`)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown model family {family!r}; expected one of {sorted(FAMILIES)}")
    factory, prefix = FAMILIES[family]
    estimator = factory(seed)
    return estimator.set_params(**{prefix + name: value for name, value in params.items()})


def tunable_parameters(family: str) -> set[str]:
    """Parameter names the search space may set for `family`."""
    factory, prefix = FAMILIES[family]
    names = factory(0).get_params(deep=True)
    own = {name[len(prefix) :] for name in names if name.startswith(prefix)}
    return {name for name in own if "__" not in name} | set(WRAPPER_PARAMETERS)


class NoPhantomBraking(RegressorMixin, BaseEstimator):
    """Wraps a regressor on engineered features: its prediction plus `safety_margin` times
    the predicted absolute error, clipped to [0, 1], and exactly 0 whenever closing speed
    (column `closing_index`) is not positive."""

    def __init__(
        self,
        regressor: BaseEstimator,
        closing_index: int = CLOSING_SPEED_INDEX,
        safety_margin: float = 0.0,
        random_state: int = 0,
    ):
        self.regressor = regressor
        self.closing_index = closing_index
        self.safety_margin = safety_margin
        self.random_state = random_state

    def fit(self, X, y) -> NoPhantomBraking:
        """Fit the wrapped regressor, the spread of its errors (always: it also feeds the
        expected error) and an in-sample calibration of the expected error, which training
        replaces by one on held-out rows (`calibrate_expected_error`)."""
        if self.safety_margin < 0:
            raise ValueError(f"safety_margin must be >= 0, got {self.safety_margin}")
        self.regressor_ = clone(self.regressor).fit(X, y)
        error = np.abs(np.asarray(y) - self.regressor_.predict(X))
        self.spread_ = _spread_model(self.random_state).fit(X, error)
        self.n_features_in_ = np.shape(X)[1]
        return self.calibrate_expected_error(X, y, source=IN_SAMPLE_SOURCE)

    def spread(self, X) -> np.ndarray:
        """The spread model's predicted |regressor error| [N], floored at 0 (float32)."""
        check_is_fitted(self, "spread_")
        spread = np.asarray(self.spread_.predict(np.asarray(X, dtype=np.float32)), np.float32)
        return np.maximum(spread.reshape(-1), np.float32(0.0))

    def predict(self, X) -> np.ndarray:
        """Brake amounts in [0, 1]; exactly 0 when the lead vehicle is not closing in."""
        check_is_fitted(self, "regressor_")
        X = np.asarray(X, dtype=np.float32)
        demand = np.asarray(self.regressor_.predict(X), dtype=np.float32).reshape(-1)
        raw = margined_demand(demand, self.spread(X), self.safety_margin)
        brake = np.clip(raw, np.float32(0.0), np.float32(1.0))
        return np.where(self._closing_in(X), brake, np.float32(0.0))

    def expected_error(self, X) -> np.ndarray:
        """Label-free estimate of |predict(X) - label| [N] (float32); 0 where the brake is
        forced to 0."""
        check_is_fitted(self, "error_calibration_")
        X = np.asarray(X, dtype=np.float32)
        estimate = self.error_calibration_.predict(self.spread(X))
        return np.where(self._closing_in(X), estimate, np.float32(0.0))

    def calibrate_expected_error(self, X, y, source: str = HELD_OUT_SOURCE) -> NoPhantomBraking:
        """Fit the spread -> |served brake - label| map on rows closing in (elsewhere the
        brake is exactly 0, as is the label); returns self."""
        X = np.asarray(X, dtype=np.float32)
        closing = self._closing_in(X)
        if not closing.any():
            raise ValueError("calibrating the expected error needs rows that are closing in")
        error = np.abs(self.predict(X) - np.asarray(y, dtype=np.float64).reshape(-1))
        self.error_calibration_ = fit_calibration(
            self.spread(X[closing]), error[closing], source=source
        )
        return self

    def _closing_in(self, X: np.ndarray) -> np.ndarray:
        return X[:, self.closing_index] > 0


def build_pipeline(
    family: str, params: dict[str, Any], seed: int = 0, features: BrakingFeatures | None = None
) -> Pipeline:
    """Raw sensor features -> brake amount, for one model family and hyperparameters."""
    own = {k: v for k, v in params.items() if k not in WRAPPER_PARAMETERS}
    wrapper = {k: v for k, v in params.items() if k in WRAPPER_PARAMETERS}
    return Pipeline(
        [
            ("features", features if features is not None else BrakingFeatures()),
            (
                "model",
                NoPhantomBraking(family_estimator(family, own, seed), random_state=seed, **wrapper),
            ),
        ]
    )


# --- ONNX ----------------------------------------------------------------------------------


def _parser(scope, model, inputs, custom_parsers=None) -> list:
    """Two outputs: the brake [N, 1] and its expected absolute error [N, 1]."""
    from skl2onnx.common.data_types import FloatTensorType

    operator = scope.declare_local_operator("BrakingModelNoPhantomBraking", model)
    operator.inputs = inputs
    for name in ("brake", "expected_error"):
        operator.outputs.append(scope.declare_local_variable(name, FloatTensorType()))
    return operator.outputs


def _shape_calculator(operator) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    rows = operator.inputs[0].get_first_dimension()
    for output in operator.outputs:
        output.type = FloatTensorType([rows, 1])


def _predictions(g, X: str, model: NoPhantomBraking) -> tuple[str, str]:
    """Names of the regressor's and the spread model's predictions [N, 1]. Boosted trees
    share one walk (`tree_graph`); the MLP family's scaler is written as Sub/Div
    (`export.converter_options`)."""
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.algebra.onnx_ops import OnnxIdentity

    from braking_model.tree_graph import ensemble_sums
    from braking_model.tree_tables import hist_gradient_boosting_ensemble

    models = (model.regressor_, model.spread_)
    trees = [m for m in models if isinstance(m, HistGradientBoostingRegressor)]
    sums = ensemble_sums(g, X, [hist_gradient_boosting_ensemble(m) for m in trees])

    def prediction(estimator) -> str:
        for at, tree_model in enumerate(trees):
            if tree_model is estimator:
                return g.op(
                    "Slice", sums, *(np.array([v], dtype=np.int64) for v in (at, at + 1, 1))
                )
        name = g.scope.get_unique_variable_name("prediction")
        opv = g.container.target_opset
        sub = OnnxSubEstimator(estimator, X, op_version=opv)
        OnnxIdentity(sub, op_version=opv, output_names=[name]).add_to(g.scope, g.container)
        return g.op("Reshape", name, np.array([-1, 1], dtype=np.int64))

    return prediction(model.regressor_), prediction(model.spread_)


def _converter(scope, operator, container) -> None:
    from onnx import TensorProto

    from braking_model.tree_graph import GraphBuilder

    g = GraphBuilder(scope, container)
    model: NoPhantomBraking = operator.raw_operator
    X = operator.inputs[0].full_name
    raw, spread = _predictions(g, X, model)
    spread = g.op("Max", spread, np.array([0.0], dtype=np.float32))
    if model.safety_margin > 0:  # margined_demand, op for op
        onset = np.array([MARGIN_ONSET_DEMAND], dtype=np.float32)
        ramp = g.op("Mul", g.op("Sub", raw, onset), np.array([_RAMP_SCALE], dtype=np.float32))
        ramp = g.op("Clip", ramp, np.array(0.0, dtype=np.float32), np.array(1.0, dtype=np.float32))
        margin = np.array([model.safety_margin], dtype=np.float32)
        raw = g.op("Add", raw, g.op("Mul", g.op("Mul", margin, spread), ramp))
    brake = g.op("Clip", raw, np.array(0.0, dtype=np.float32), np.array(1.0, dtype=np.float32))
    index = model.closing_index
    closing = g.op("Slice", X, *(np.array([v], dtype=np.int64) for v in (index, index + 1, 1)))
    closing_in = g.op(
        "Cast", g.op("Greater", closing, np.array([0.0], dtype=np.float32)), to=TensorProto.FLOAT
    )
    brake_name, error_name = (output.full_name for output in operator.outputs)
    g.op("Mul", brake, closing_in, output=brake_name)
    expected = model.error_calibration_.graph(g, spread)
    g.op("Mul", expected, closing_in, output=error_name)


def register_onnx_converters() -> None:
    """Teach skl2onnx both custom steps of the pipeline (idempotent)."""
    from skl2onnx import update_registered_converter

    from braking_model.features import register_onnx_converter
    from braking_model.tree_graph import register_tree_converter

    register_onnx_converter()
    register_tree_converter()
    update_registered_converter(
        NoPhantomBraking,
        "BrakingModelNoPhantomBraking",
        _shape_calculator,
        _converter,
        parser=_parser,
    )
