"""Gradient-boosted trees in default-domain ONNX operators, so OpenVINO (and OVMS) load them.

skl2onnx writes trees as `ai.onnx.ml.TreeEnsembleRegressor`, which OpenVINO cannot convert.
Two layouts are built here from `tree_tables` (ADR 12 compares them):

- ``levels``: every distinct split decision computed once per row, then every tree walked
  one depth level per step (three Gathers and two Adds per level), trees grouped by depth so
  that shallow ones stop early; work per row proportional to trees x depth. The default.
- ``matrix``: all splits compared at once, leaves found by a batched matrix product (the
  hummingbird "GEMM" strategy); work and memory per row grow with trees x splits x leaves.

Neither uses `Gather(axis=1)`, which multi-threaded OpenVINO 2025.1-2026.4 got wrong into
wide outputs, nor `GatherElements`, a slow reference kernel in OpenVINO: the level walk reads
its decisions from a flattened table with `Gather(axis=0)`. Both need OpenVINO to run in f32
(`INFERENCE_PRECISION_HINT`), not the bf16 it picks on AMX CPUs.

`register_tree_converter()` makes skl2onnx convert every `HistGradientBoostingRegressor` this
way; `ensemble_sums` serves converters that combine several ensembles in one walk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
from sklearn.ensemble import HistGradientBoostingRegressor

from braking_model.tree_tables import (
    Ensemble,
    hist_gradient_boosting_ensemble,
    level_tables,
    matrix_tables,
)

LAYOUTS = ("levels", "matrix")
DEFAULT_LAYOUT = "levels"
LEVEL_GROUPS = 4  # depth groups of the levels layout (ADR 12: more groups, more graph nodes)
_layout = DEFAULT_LAYOUT  # what converters use; `using_layout` switches it (benchmarks, tests)


@contextlib.contextmanager
def using_layout(layout: str) -> Iterator[None]:
    """Convert trees with `layout` inside the block (for measuring the alternatives)."""
    global _layout
    if layout not in LAYOUTS:
        raise ValueError(f"unknown tree layout {layout!r}; expected one of {', '.join(LAYOUTS)}")
    previous, _layout = _layout, layout
    try:
        yield
    finally:
        _layout = previous


class GraphBuilder:
    """Adds nodes straight to skl2onnx's container: `op("Add", a, b)` returns the output's
    name; numpy arrays among the inputs become initializers. (skl2onnx's algebra API takes
    minutes on a graph of this size.)"""

    def __init__(self, scope, container) -> None:
        self.scope = scope
        self.container = container

    def const(self, array: np.ndarray) -> str:
        """The name of a new initializer holding `array`."""
        from onnx.helper import np_dtype_to_tensor_dtype

        array = np.asarray(array)
        name = self.scope.get_unique_variable_name("table")
        self.container.add_initializer(
            name, np_dtype_to_tensor_dtype(array.dtype), list(array.shape), array.ravel().tolist()
        )
        return name

    def op(self, op_type: str, *inputs, output: str | None = None, **attrs) -> str:
        """Add one `op_type` node; returns its output's name (`output`, or a fresh one)."""
        names = [self.const(i) if isinstance(i, np.ndarray) else i for i in inputs]
        output = output or self.scope.get_unique_variable_name(op_type.lower())
        self.container.add_node(
            op_type,
            names,
            [output],
            op_version=self.container.target_opset,
            name=self.scope.get_unique_operator_name(op_type),
            **attrs,
        )
        return output


def _int64(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def ensemble_sums(
    g: GraphBuilder, X: str, ensembles: Sequence[Ensemble], layout: str | None = None
) -> str:
    """The name of float32 predictions [N, len(ensembles)] of `ensembles` on the float32
    features X [N, F] (baseline plus the sum of the trees' leaf values), in `layout`
    (default: the current one, see `using_layout`)."""
    layout = layout or _layout
    if layout == "levels":
        return _levels(g, X, ensembles)
    if layout == "matrix":
        return _matrix(g, X, ensembles)
    raise ValueError(f"unknown tree layout {layout!r}; expected one of {', '.join(LAYOUTS)}")


def _levels(g: GraphBuilder, X: str, ensembles: Sequence[Ensemble]) -> str:
    from onnx import TensorProto

    tables = level_tables(ensembles, LEVEL_GROUPS)
    code, left = g.const(tables.code), g.const(tables.left)
    shape = g.op("Shape", X)
    column = g.op("Concat", g.op("Slice", shape, _int64(0), _int64(1)), _int64(1), axis=0)
    decisions, offsets = _decisions(g, X, shape, tables.thresholds)
    node = None
    for step in range(tables.depth + 1):
        joining = tables.roots[tables.start == step]
        if len(joining):  # these trees start at their roots, in every row
            roots = g.op("Expand", joining.reshape(1, -1), column)
            node = roots if node is None else g.op("Concat", node, roots, axis=1)
        if step < tables.depth:
            taken = g.op("Gather", decisions, g.op("Add", g.op("Gather", code, node), offsets))
            node = g.op(
                "Add", g.op("Gather", left, node), g.op("Cast", taken, to=TensorProto.INT32)
            )
    # [N, ensembles]; not a Gather of [nodes, ensembles] rows: a reference kernel in OpenVINO
    sums = g.op("MatMul", g.op("Gather", tables.value, node), tables.assign)
    return g.op("Add", sums, tables.baseline)


def _decisions(g: GraphBuilder, X: str, shape: str, thresholds: np.ndarray) -> tuple[str, str]:
    """Every split decision of the model for every row, flattened: bool [N x width] (`x[f] >
    thresholds[f, s]` at ``row * width + f * slots + s``; a byte per decision keeps a call's
    memory and cache footprint small), and the int32 offsets ``row * width`` [N, 1] (so a call
    holds at most 2**31 / width rows: 760k for 11 features of 255 bins). A step reads them with
    one `Gather(axis=0)`: OpenVINO's `GatherElements` is a reference kernel about five times
    slower than its `Gather`, and its multi-threaded `Gather(axis=1)` was wrong (module doc)."""
    from onnx import TensorProto

    width = np.array(thresholds.size, dtype=np.int32)
    exceeds = g.op("Greater", g.op("Unsqueeze", X, _int64(2)), thresholds)  # [N, F, slots]
    rows = g.op("Cast", g.op("Gather", shape, np.array(0, dtype=np.int64)), to=TensorProto.INT32)
    offsets = g.op("Range", np.array(0, dtype=np.int32), g.op("Mul", rows, width), width)
    return g.op("Reshape", exceeds, _int64(-1)), g.op("Unsqueeze", offsets, _int64(1))


def _matrix(g: GraphBuilder, X: str, ensembles: Sequence[Ensemble]) -> str:
    from onnx import TensorProto

    tables = matrix_tables(ensembles, ensembles[0].n_features)
    trees, splits = tables.threshold.shape
    # one-hot columns: an exact copy of each split's feature in f32 (x * 1 + 0 + ...)
    picked = g.op("Reshape", g.op("MatMul", X, tables.select), _int64(-1, trees, splits))
    decisions = g.op("Cast", g.op("LessOrEqual", picked, tables.threshold), to=TensorProto.FLOAT)
    decisions = g.op("Transpose", decisions, perm=[1, 0, 2])  # [trees, N, splits]
    reached = g.op("MatMul", decisions, tables.path)  # [trees, N, leaves]
    hit = g.op("Cast", g.op("Equal", reached, tables.lefts), to=TensorProto.FLOAT)
    per_tree = g.op("ReduceSum", g.op("Mul", hit, tables.value), _int64(2), keepdims=0)
    sums = g.op("MatMul", g.op("Transpose", per_tree, perm=[1, 0]), tables.assign)
    return g.op("Add", sums, tables.baseline)


def _shape_calculator(operator) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType([operator.inputs[0].get_first_dimension(), 1])


def _converter(scope, operator, container) -> None:
    g = GraphBuilder(scope, container)
    ensemble = hist_gradient_boosting_ensemble(operator.raw_operator)
    sums = ensemble_sums(g, operator.inputs[0].full_name, [ensemble])
    g.op("Identity", sums, output=operator.outputs[0].full_name)


def register_tree_converter() -> None:
    """Make skl2onnx write `HistGradientBoostingRegressor` with default-domain operators
    (idempotent; replaces skl2onnx's `TreeEnsembleRegressor` converter)."""
    from skl2onnx import update_registered_converter

    update_registered_converter(
        HistGradientBoostingRegressor,
        "SklearnHistGradientBoostingRegressor",
        _shape_calculator,
        _converter,
        overwrite=True,
    )
