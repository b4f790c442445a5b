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


# Tunable for every family: brake = expected demand + safety_margin x expected error, where
# the expected error comes from a second, monotonic gradient-boosting model of |residual|.
# It errs on the side of braking exactly where the sensors leave the demand uncertain, and,
# being a non-negative sum of monotonic models, keeps every monotonic guarantee.
WRAPPER_PARAMETERS = ("safety_margin",)


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
        """Fit the wrapped regressor, then the spread of its errors."""
        if self.safety_margin < 0:
            raise ValueError(f"safety_margin must be >= 0, got {self.safety_margin}")
        self.regressor_ = clone(self.regressor).fit(X, y)
        self.spread_ = None
        if self.safety_margin > 0:
            error = np.abs(np.asarray(y) - self.regressor_.predict(X))
            self.spread_ = _spread_model(self.random_state).fit(X, error)
        self.n_features_in_ = np.shape(X)[1]
        return self

    def predict(self, X) -> np.ndarray:
        """Brake amounts in [0, 1]; exactly 0 when the lead vehicle is not closing in."""
        check_is_fitted(self, "regressor_")
        X = np.asarray(X, dtype=np.float32)
        raw = np.asarray(self.regressor_.predict(X), dtype=np.float32).reshape(-1)
        if self.spread_ is not None:
            spread = np.asarray(self.spread_.predict(X), dtype=np.float32).reshape(-1)
            spread = np.maximum(spread, np.float32(0.0))
            raw = raw + np.float32(self.safety_margin) * spread
        brake = np.clip(raw, np.float32(0.0), np.float32(1.0))
        return np.where(X[:, self.closing_index] > 0, brake, np.float32(0.0))


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


def _shape_calculator(operator) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), 1])


def _converter(scope, operator, container) -> None:
    from onnx import TensorProto
    from skl2onnx.algebra.onnx_operator import OnnxSubEstimator
    from skl2onnx.algebra.onnx_ops import (
        OnnxAdd,
        OnnxCast,
        OnnxClip,
        OnnxGather,
        OnnxGreater,
        OnnxMax,
        OnnxMul,
        OnnxReshape,
    )

    opv = container.target_opset
    model: NoPhantomBraking = operator.raw_operator
    X = operator.inputs[0]
    raw = OnnxSubEstimator(model.regressor_, X, op_version=opv)
    raw = OnnxReshape(raw, np.array([-1, 1], dtype=np.int64), op_version=opv)
    if model.spread_ is not None:
        spread = OnnxSubEstimator(model.spread_, X, op_version=opv)
        spread = OnnxReshape(spread, np.array([-1, 1], dtype=np.int64), op_version=opv)
        spread = OnnxMax(spread, np.array([0.0], dtype=np.float32), op_version=opv)
        margin = np.array([model.safety_margin], dtype=np.float32)
        raw = OnnxAdd(raw, OnnxMul(spread, margin, op_version=opv), op_version=opv)
    brake = OnnxClip(
        raw, np.array(0.0, dtype=np.float32), np.array(1.0, dtype=np.float32), op_version=opv
    )
    closing = OnnxGather(X, np.array([model.closing_index], dtype=np.int64), axis=1, op_version=opv)
    closing_in = OnnxCast(
        OnnxGreater(closing, np.array([0.0], dtype=np.float32), op_version=opv),
        to=TensorProto.FLOAT,
        op_version=opv,
    )
    result = OnnxMul(brake, closing_in, op_version=opv, output_names=operator.outputs[:1])
    result.add_to(scope, container)


def register_onnx_converters() -> None:
    """Teach skl2onnx both custom steps of the pipeline (idempotent)."""
    from skl2onnx import update_registered_converter

    from braking_model.features import register_onnx_converter

    register_onnx_converter()
    update_registered_converter(
        NoPhantomBraking, "BrakingModelNoPhantomBraking", _shape_calculator, _converter
    )
