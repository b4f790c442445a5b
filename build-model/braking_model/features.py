"""Physics-informed feature engineering on the 7 raw sensor features, and its ONNX converter.

`BrakingFeatures` turns the contract's raw features (box in pixels, speeds in km/h, friction)
into quantities the braking law is written in: two distance estimates (box width with a
nominal vehicle width, box bottom via the camera height), closing speed in m/s, stopping
distance, the gap left after reaction, and the closed-form braking fraction itself.

Every feature is computed in float32 with exactly the operations the ONNX graph uses, so the
scikit-learn pipeline and the served graph see bit-identical features and tree thresholds
split both the same way. Each feature also declares its monotonic direction with respect to
the braking demand; gradient boosting uses it as `monotonic_cst` (see `MONOTONIC_CST`).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_array

from braking_data.contract import FEATURE_COLUMNS
from braking_data.physics import (
    GRAVITY_M_S2,
    KMH_PER_M_S,
    NOMINAL_VEHICLE_WIDTH_M,
    BrakingSystem,
    Camera,
)

# (name, direction): +1 braking never decreases when the feature grows, -1 never increases,
# 0 unconstrained. Closing speed enters only through features marked +1 / -1 consistently,
# and so does friction, which is what makes the boosted trees monotone in both.
ENGINEERED_FEATURES: tuple[tuple[str, int], ...] = (
    ("distance_width_m", -1),
    ("distance_bottom_m", -1),
    ("distance_fused_m", -1),
    ("closing_speed_m_s", 1),
    ("road_friction", -1),
    ("stopping_distance_m", 1),
    ("gap_bottom_m", -1),
    ("physics_brake_width", 1),
    ("physics_brake_bottom", 1),
    ("physics_brake_fused", 1),
    ("vehicle_width_m", 0),
)
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in ENGINEERED_FEATURES)
MONOTONIC_CST: tuple[int, ...] = tuple(direction for _, direction in ENGINEERED_FEATURES)
CLOSING_SPEED_INDEX: int = FEATURE_NAMES.index("closing_speed_m_s")

_EPS = np.float32(1e-3)
_F32 = np.float32


class BrakingFeatures(TransformerMixin, BaseEstimator):
    """Raw sensor features [N, 7] (contract order) -> engineered features [N, 11] (float32).

    The camera and braking-system parameters default to `braking_data.physics`; set them to
    what the data was recorded with. Stateless: `fit` only checks the input width.
    """

    def __init__(
        self,
        focal_length_px: float = Camera.focal_length_px,
        camera_height_m: float = Camera.height_m,
        horizon_px: float = Camera.horizon_px,
        nominal_vehicle_width_m: float = NOMINAL_VEHICLE_WIDTH_M,
        reaction_time_s: float = BrakingSystem.reaction_time_s,
        safety_margin_m: float = BrakingSystem.safety_margin_m,
    ) -> None:
        self.focal_length_px = focal_length_px
        self.camera_height_m = camera_height_m
        self.horizon_px = horizon_px
        self.nominal_vehicle_width_m = nominal_vehicle_width_m
        self.reaction_time_s = reaction_time_s
        self.safety_margin_m = safety_margin_m

    def fit(self, X, y=None) -> BrakingFeatures:
        """Nothing to learn: the features are physics formulas; returns self."""
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != len(FEATURE_COLUMNS):
            raise ValueError(
                f"expected {len(FEATURE_COLUMNS)} raw features {FEATURE_COLUMNS}, "
                f"got {X.shape[1]} columns"
            )
        self.n_features_in_ = X.shape[1]
        return self

    def constants(self) -> dict[str, np.float32]:
        """The float32 constants shared by `transform` and the ONNX converter."""
        return {
            "width_scale": _F32(self.focal_length_px * self.nominal_vehicle_width_m),
            "bottom_scale": _F32(self.focal_length_px * self.camera_height_m),
            "horizon": _F32(self.horizon_px),
            "inv_focal": _F32(1.0 / self.focal_length_px),
            "inv_width_scale": _F32(1.0 / (self.focal_length_px * self.nominal_vehicle_width_m)),
            "inv_bottom_scale": _F32(1.0 / (self.focal_length_px * self.camera_height_m)),
            "two": _F32(2.0),
            "kmh_to_m_s": _F32(1.0 / KMH_PER_M_S),
            "reaction": _F32(self.reaction_time_s),
            "margin": _F32(self.safety_margin_m),
            "two_g": _F32(2.0 * GRAVITY_M_S2),
        }

    def transform(self, X) -> np.ndarray:
        """The physics-informed features of raw sensor rows `X`."""
        X = check_array(X, dtype=np.float32)
        if X.shape[1] != len(FEATURE_COLUMNS):
            raise ValueError(f"expected {len(FEATURE_COLUMNS)} raw features, got {X.shape[1]}")
        c = self.constants()
        bottom, left, right = X[:, 0], X[:, 1], X[:, 2]
        other_kmh, your_kmh, friction = X[:, 4], X[:, 5], X[:, 6]
        width_px = np.maximum(right - left, _EPS)
        distance_width = c["width_scale"] / width_px
        drop_px = np.maximum(c["horizon"] - bottom, _EPS)
        distance_bottom = c["bottom_scale"] / drop_px
        # Both cues carry about the same pixel noise per unit of 1/distance, so their mean in
        # inverse-distance space is a better estimate than either.
        distance_fused = c["two"] / (
            width_px * c["inv_width_scale"] + drop_px * c["inv_bottom_scale"]
        )
        closing = (your_kmh - other_kmh) * c["kmh_to_m_s"]
        closing_pos = np.maximum(closing, _F32(0.0))
        stopping = closing_pos * closing_pos / (c["two_g"] * np.maximum(friction, _EPS))
        reaction_travel = closing_pos * c["reaction"] + c["margin"]
        gap_width = distance_width - reaction_travel
        gap_bottom = distance_bottom - reaction_travel
        gap_fused = distance_fused - reaction_travel
        columns = (
            distance_width,
            distance_bottom,
            distance_fused,
            closing,
            friction,
            stopping,
            gap_bottom,
            _brake_fraction(stopping, gap_width, closing),
            _brake_fraction(stopping, gap_bottom, closing),
            _brake_fraction(stopping, gap_fused, closing),
            width_px * distance_bottom * c["inv_focal"],
        )
        return np.stack(columns, axis=1).astype(np.float32, copy=False)

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns `transform` returns."""
        return np.asarray(FEATURE_NAMES, dtype=object)


def _brake_fraction(stopping: np.ndarray, gap: np.ndarray, closing: np.ndarray) -> np.ndarray:
    """physics.required_brake_fraction in float32: stopping / gap, 1 once the gap is gone."""
    ratio = np.minimum(stopping / np.maximum(gap, _EPS), _F32(1.0))
    fraction = np.where(gap > _F32(0.0), ratio, _F32(1.0))
    return np.where(closing > _F32(0.0), fraction, _F32(0.0)).astype(np.float32)


# --- ONNX ----------------------------------------------------------------------------------


def _shape_calculator(operator) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    rows = operator.inputs[0].get_first_dimension()
    operator.outputs[0].type = FloatTensorType([rows, len(FEATURE_NAMES)])


def _converter(scope, operator, container) -> None:
    """The same float32 arithmetic as `BrakingFeatures.transform`, op for op."""
    from skl2onnx.algebra.onnx_ops import (
        OnnxAdd,
        OnnxConcat,
        OnnxDiv,
        OnnxGather,
        OnnxGreater,
        OnnxMax,
        OnnxMin,
        OnnxMul,
        OnnxSub,
        OnnxWhere,
    )

    opv = container.target_opset
    model: BrakingFeatures = operator.raw_operator
    c = {name: np.array([value], dtype=np.float32) for name, value in model.constants().items()}
    eps, zero, one = (np.array([v], dtype=np.float32) for v in (_EPS, 0.0, 1.0))
    X = operator.inputs[0]

    def column(index: int):
        return OnnxGather(X, np.array([index], dtype=np.int64), axis=1, op_version=opv)

    def fraction(stopping, gap, closing):
        ratio = OnnxMin(
            OnnxDiv(stopping, OnnxMax(gap, eps, op_version=opv), op_version=opv),
            one,
            op_version=opv,
        )
        gated = OnnxWhere(OnnxGreater(gap, zero, op_version=opv), ratio, one, op_version=opv)
        return OnnxWhere(OnnxGreater(closing, zero, op_version=opv), gated, zero, op_version=opv)

    bottom, left, right = column(0), column(1), column(2)
    other_kmh, your_kmh, friction = column(4), column(5), column(6)
    width_px = OnnxMax(OnnxSub(right, left, op_version=opv), eps, op_version=opv)
    distance_width = OnnxDiv(c["width_scale"], width_px, op_version=opv)
    drop = OnnxMax(OnnxSub(c["horizon"], bottom, op_version=opv), eps, op_version=opv)
    distance_bottom = OnnxDiv(c["bottom_scale"], drop, op_version=opv)
    inverse_sum = OnnxAdd(
        OnnxMul(width_px, c["inv_width_scale"], op_version=opv),
        OnnxMul(drop, c["inv_bottom_scale"], op_version=opv),
        op_version=opv,
    )
    distance_fused = OnnxDiv(c["two"], inverse_sum, op_version=opv)
    closing = OnnxMul(OnnxSub(your_kmh, other_kmh, op_version=opv), c["kmh_to_m_s"], op_version=opv)
    closing_pos = OnnxMax(closing, zero, op_version=opv)
    stopping = OnnxDiv(
        OnnxMul(closing_pos, closing_pos, op_version=opv),
        OnnxMul(c["two_g"], OnnxMax(friction, eps, op_version=opv), op_version=opv),
        op_version=opv,
    )
    reaction_travel = OnnxAdd(
        OnnxMul(closing_pos, c["reaction"], op_version=opv), c["margin"], op_version=opv
    )
    gap_width = OnnxSub(distance_width, reaction_travel, op_version=opv)
    gap_bottom = OnnxSub(distance_bottom, reaction_travel, op_version=opv)
    gap_fused = OnnxSub(distance_fused, reaction_travel, op_version=opv)
    vehicle_width = OnnxMul(
        OnnxMul(width_px, distance_bottom, op_version=opv), c["inv_focal"], op_version=opv
    )
    features = OnnxConcat(
        distance_width,
        distance_bottom,
        distance_fused,
        closing,
        friction,
        stopping,
        gap_bottom,
        fraction(stopping, gap_width, closing),
        fraction(stopping, gap_bottom, closing),
        fraction(stopping, gap_fused, closing),
        vehicle_width,
        axis=1,
        op_version=opv,
        output_names=operator.outputs[:1],
    )
    features.add_to(scope, container)


def register_onnx_converter() -> None:
    """Teach skl2onnx to convert `BrakingFeatures` (idempotent)."""
    from skl2onnx import update_registered_converter

    update_registered_converter(
        BrakingFeatures, "BrakingModelFeatures", _shape_calculator, _converter
    )
