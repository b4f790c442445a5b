"""ONNX export of the fitted pipeline, with a parity check against scikit-learn.

The served graph takes the raw contract features (`sensor_features`, FP32 [N, 7]) and returns
`brake_amount` (FP32 [N, 1], in [0, 1]) and `expected_error` (FP32 [N, 1], the label-free
estimate of its absolute error, `expected_error`); feature engineering and the no-phantom-braking
constraint are inside it (custom converters in `features` and `estimator`). It holds only
default-domain ONNX operators (trees via `tree_graph`), so OpenVINO and OVMS load it as well
as onnxruntime; `openvino_model` compiles it the way OVMS must run it (f32).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import (
    EXPECTED_ERROR_TENSOR,
    FEATURE_COLUMNS,
    INPUT_TENSOR,
    MAX_ROWS_PER_CALL,
    OPENVINO_CONFIG,
    OUTPUT_TENSOR,
)

if TYPE_CHECKING:
    import onnx
    import onnxruntime
    from sklearn.pipeline import Pipeline

TARGET_OPSET = 17  # the default domain only: OpenVINO has no ai.onnx.ml operators


def converter_options() -> dict:
    """skl2onnx options: StandardScaler as Sub/Div instead of `ai.onnx.ml.Scaler` (they reach
    scalers nested in the MLP family's pipeline only when given to `convert_sklearn`)."""
    from sklearn.preprocessing import StandardScaler

    return {StandardScaler: {"div": "div"}}


PARITY_TOLERANCE = 1e-3


class ParityError(RuntimeError):
    """The ONNX graph and the scikit-learn pipeline disagree beyond the tolerance."""


def to_onnx(pipeline: Pipeline, metadata: dict[str, Any] | None = None) -> onnx.ModelProto:
    """Convert the fitted raw-features pipeline; `metadata` lands in metadata_props
    (non-string values as JSON)."""
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType

    from braking_model.estimator import register_onnx_converters

    register_onnx_converters()
    model = convert_sklearn(
        pipeline,
        name="braking_distance",
        initial_types=[(INPUT_TENSOR, FloatTensorType([None, len(FEATURE_COLUMNS)]))],
        final_types=[
            (OUTPUT_TENSOR, FloatTensorType([None, 1])),
            (EXPECTED_ERROR_TENSOR, FloatTensorType([None, 1])),
        ],
        target_opset=TARGET_OPSET,
        options=converter_options(),
    )
    _drop_output_copies(model)
    model.producer_name = "braking-distance"
    model.doc_string = (
        f"Brake amount in [0, 1] from raw sensor features {', '.join(FEATURE_COLUMNS)}."
    )
    set_metadata(model, {"feature_names": list(FEATURE_COLUMNS), **(metadata or {})})
    return model


def _drop_output_copies(model: onnx.ModelProto) -> None:
    """Remove the Cast/Identity skl2onnx puts before each named output (float to float, a
    no-op) so every output tensor has one name: OpenVINO would otherwise give an output both
    names, and servers that key results by one name (OVMS, `any_name`) may pick the other."""
    graph = model.graph
    for output in graph.output:
        (node,) = [n for n in graph.node if output.name in n.output]
        if node.op_type not in ("Cast", "Identity"):
            continue
        copied = node.input[0]
        graph.node.remove(node)
        for other in graph.node:
            other.output[:] = [output.name if name == copied else name for name in other.output]
            other.input[:] = [output.name if name == copied else name for name in other.input]


def set_metadata(model: onnx.ModelProto, metadata: dict[str, Any]) -> None:
    """Add or replace metadata_props entries (non-string values stored as JSON)."""
    values = {
        k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in metadata.items()
    }
    kept = [p for p in model.metadata_props if p.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value


def read_metadata(path: str | os.PathLike[str]) -> dict[str, str]:
    """The metadata_props of the ONNX file at `path` as a dict."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    return {p.key: p.value for p in model.metadata_props}


def session(model: onnx.ModelProto | str | os.PathLike[str], threads: int | None = None):
    """An onnxruntime CPU session on a model proto or file."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    source = str(model) if isinstance(model, str | os.PathLike) else model.SerializeToString()
    return ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])


def onnx_predict(
    sess: onnxruntime.InferenceSession, X: np.ndarray, output: str = OUTPUT_TENSOR
) -> np.ndarray:
    """Brake amounts [N] (or the graph's `output`, e.g. EXPECTED_ERROR_TENSOR) from raw
    features [N, 7]."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    return sess.run([output], {INPUT_TENSOR: X})[0].reshape(-1)


def openvino_model(path: str | os.PathLike[str], threads: int | None = None):
    """model.onnx compiled by OpenVINO for the CPU, in f32 as OVMS is configured to run it."""
    import openvino

    config = dict(OPENVINO_CONFIG)
    if threads is not None:
        config["INFERENCE_NUM_THREADS"] = str(threads)
    return openvino.Core().compile_model(str(path), "CPU", config)


def openvino_predict(
    compiled, X: np.ndarray, max_rows: int = MAX_ROWS_PER_CALL, output: str = OUTPUT_TENSOR
) -> np.ndarray:
    """Brake amounts [N] (or the graph's `output`) from raw features [N, 7] on a compiled
    model, `max_rows` at a time."""
    X = np.ascontiguousarray(X, dtype=np.float32)
    request = compiled.create_infer_request()
    parts = [
        request.infer({INPUT_TENSOR: X[start : start + max_rows]})[output].reshape(-1)
        for start in range(0, len(X), max_rows)
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)


def parity_max_abs(pipeline: Pipeline, predict, X: np.ndarray) -> float:
    """Largest |graph - scikit-learn| prediction on X; `predict` is an onnxruntime session or
    a function of X (e.g. an OpenVINO model via `openvino_predict`)."""
    if len(X) == 0:
        return 0.0
    expected = np.asarray(pipeline.predict(X), dtype=np.float64).reshape(-1)
    predicted = predict(X) if callable(predict) else onnx_predict(predict, X)
    return float(np.max(np.abs(predicted - expected)))


def check_parity(
    pipeline: Pipeline, sess, X: np.ndarray, tolerance: float = PARITY_TOLERANCE
) -> float:
    """`parity_max_abs`, raising ParityError when it exceeds `tolerance`."""
    worst = parity_max_abs(pipeline, sess, X)
    if not worst <= tolerance:
        raise ParityError(
            f"ONNX and scikit-learn predictions differ by up to {worst:.3g} on {len(X)} rows "
            f"(tolerance {tolerance:g}); refusing to export a graph that is not the model"
        )
    return worst


def save(model: onnx.ModelProto, path: str | os.PathLike[str]) -> Path:
    """Write `model` to `path` (parent folders created); returns the path."""
    import onnx

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    return target
