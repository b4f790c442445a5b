"""Custom ONNX converters: the graph computes what scikit-learn computes, edge inputs too."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline

from braking_data.contract import FEATURE_RANGES
from braking_data.physics import physics_baseline
from braking_model import export
from braking_model.estimator import NoPhantomBraking
from braking_model.features import FEATURE_NAMES, BrakingFeatures
from braking_model.invariants import raw_features

EDGE_ROWS = np.array(
    [
        # bottom, left, right, top, other km/h, your km/h, friction
        [0.0, 0.0, 640.0, 640.0, 0.0, 100.0, 0.85],  # box fills the frame: gap gone
        [320.0, 300.0, 300.0, 320.0, 50.0, 50.0, 0.5],  # zero-width box at the horizon
        [319.9, 319.0, 321.0, 320.1, 0.0, 250.0, 0.01],  # tiny far box, max speed, min mu
        [100.0, 200.0, 440.0, 400.0, 120.0, 60.0, 1.5],  # lead pulling away fast
        [100.0, 200.0, 440.0, 400.0, 60.0, 60.0, 0.3],  # equal speeds
        [310.0, 310.0, 330.0, 325.0, 0.0, 0.0, 0.9],  # both stopped
    ],
    dtype=np.float32,
)


def _random_raw(rows: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    columns = [rng.uniform(low, high, rows) for low, high in FEATURE_RANGES.values()]
    raw = np.stack(columns, axis=1).astype(np.float32)
    raw[:, [0, 3]] = np.sort(raw[:, [0, 3]], axis=1)  # bottom <= top
    raw[:, [1, 2]] = np.sort(raw[:, [1, 2]], axis=1)  # left <= right
    return raw


def _features_graph() -> tuple[Pipeline, object]:
    """A pipeline whose model is the identity on one feature, to expose the features."""
    rows = _random_raw(500, 0)
    pipeline = Pipeline(
        [("features", BrakingFeatures()), ("model", NoPhantomBraking(LinearRegression()))]
    )
    pipeline.fit(rows, np.zeros(len(rows)))
    return pipeline, export.session(export.to_onnx(pipeline))


def test_feature_transform_is_bit_identical_in_onnx() -> None:
    import onnx
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    from braking_model.features import register_onnx_converter

    register_onnx_converter()
    transformer = BrakingFeatures().fit(EDGE_ROWS)
    model = convert_sklearn(
        transformer, initial_types=[("x", FloatTensorType([None, 7]))], target_opset=17
    )
    onnx.checker.check_model(model)
    sess = export.session(model)
    rows = np.concatenate([EDGE_ROWS, _random_raw(5_000, 1)])
    expected = transformer.transform(rows)
    got = sess.run(None, {"x": rows})[0]
    assert got.shape == (len(rows), len(FEATURE_NAMES))
    assert np.all(np.isfinite(got))
    np.testing.assert_array_equal(got, expected)


def test_physics_feature_matches_the_closed_form_baseline() -> None:
    rows = _random_raw(2_000, 2)
    features = BrakingFeatures().fit(rows).transform(rows)
    column = FEATURE_NAMES.index("physics_brake_width")
    expected = physics_baseline(*rows.astype(np.float64).T)
    np.testing.assert_allclose(features[:, column], expected, atol=1e-4)


def test_wrapped_pipeline_parity_on_edge_and_random_rows() -> None:
    pipeline, sess = _features_graph()
    rows = np.concatenate([EDGE_ROWS, _random_raw(5_000, 3)])
    assert export.parity_max_abs(pipeline, sess, rows) <= 1e-5
    brake = export.onnx_predict(sess, rows)
    assert np.all((brake >= 0.0) & (brake <= 1.0))


def test_not_closing_in_means_exactly_zero_brake_in_both_runtimes() -> None:
    pipeline, sess = _features_graph()
    pulling_away = raw_features(np.geomspace(3, 150, 50), 80.0, 60.0, 0.3)
    assert np.all(pipeline.predict(pulling_away) == 0.0)
    assert np.all(export.onnx_predict(sess, pulling_away) == 0.0)


def test_parity_check_refuses_a_graph_that_is_not_the_model() -> None:
    _, sess = _features_graph()
    rows = _random_raw(200, 4)
    other = Pipeline(
        [
            ("features", BrakingFeatures()),
            ("model", NoPhantomBraking(LinearRegression(), safety_margin=3.0)),
        ]
    )
    other.fit(rows, np.linspace(0, 1, len(rows)))
    with pytest.raises(export.ParityError, match="differ by up to"):
        export.check_parity(other, sess, rows)


def test_wrong_feature_count_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="expected 7 raw features"):
        BrakingFeatures().fit(np.zeros((3, 6)))


def test_safety_margin_graph_matches_and_only_ever_adds_braking() -> None:
    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.generate import generate_frame
    from braking_model.estimator import build_pipeline

    frame = generate_frame(3_000, seed=8)
    X, y = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32), frame["brake_amount"].to_numpy()
    params = {"max_iter": 30}
    plain = build_pipeline("hist_gradient_boosting", params).fit(X, y)
    safe = build_pipeline("hist_gradient_boosting", {**params, "safety_margin": 2.0}).fit(X, y)
    # Both hold a spread model (it feeds the expected error); only the margin adds it.
    assert np.all(safe.predict(X) >= plain.predict(X))
    assert np.any(safe.predict(X) > plain.predict(X))
    assert export.parity_max_abs(safe, export.session(export.to_onnx(safe)), X) <= 1e-5
    with pytest.raises(ValueError, match="safety_margin must be >= 0"):
        build_pipeline("mlp", {"safety_margin": -1.0}).fit(X[:50], y[:50])
