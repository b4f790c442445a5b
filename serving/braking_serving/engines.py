"""The engines that run a model.onnx: onnxruntime (default) or OpenVINO, the engine of
OpenVINO Model Server (OpenShift AI's `kserve-ovms` runtime).

Both give the server the same session interface (`get_inputs`, `get_outputs`,
`run(output_names, feeds)`), run batches above `max_rows` in chunks, and answer alike:
OpenVINO runs as OVMS is configured to, in f32 (`braking_data.contract.OPENVINO_CONFIG`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from braking_data.contract import MAX_ROWS_PER_CALL, OPENVINO_CONFIG

ENGINES = ("onnxruntime", "openvino")
DEFAULT_ENGINE = "onnxruntime"

Feeds = dict[str, np.ndarray]


def open_session(model_file: Path, engine: str = DEFAULT_ENGINE, max_rows: int | None = None):
    """A session on `model_file` whose engine calls take at most `max_rows` rows (default
    `MAX_ROWS_PER_CALL`): larger batches run in chunks, so a call's memory stays bounded."""
    if engine not in ENGINES:
        raise ValueError(
            f"engine {engine!r} is not supported; expected one of {', '.join(ENGINES)}"
        )
    max_rows = max_rows or MAX_ROWS_PER_CALL
    if engine == "onnxruntime":
        return OnnxRuntimeSession(model_file, max_rows)
    return OpenVINOSession(model_file, max_rows)


def run_in_chunks(
    infer: Callable[[list[str], Feeds], list[np.ndarray]],
    names: list[str],
    feeds: Feeds,
    max_rows: int,
) -> list[np.ndarray]:
    """`infer(names, feeds)` on at most `max_rows` rows at a time, outputs concatenated."""
    rows = len(next(iter(feeds.values()))) if feeds else 0
    if rows <= max_rows:
        return infer(names, feeds)
    chunks = [
        infer(names, {k: v[start : start + max_rows] for k, v in feeds.items()})
        for start in range(0, rows, max_rows)
    ]
    return [np.concatenate(parts) for parts in zip(*chunks, strict=True)]


class OnnxRuntimeSession:
    """model.onnx on onnxruntime's CPU provider, one thread, at most `max_rows` rows a call."""

    def __init__(self, model_file: Path, max_rows: int = MAX_ROWS_PER_CALL) -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # Requests are small and each server worker is its own process: one thread per
        # session avoids thread hand-offs that cost more than the inference itself.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.max_rows = max_rows
        self._session = onnxruntime.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self.get_inputs = self._session.get_inputs
        self.get_outputs = self._session.get_outputs
        self._output_names = [o.name for o in self._session.get_outputs()]

    def run(self, output_names: list[str] | None, feeds: Feeds) -> list[np.ndarray]:
        """`output_names` (None: all) for `feeds`, as onnxruntime's `run`, in chunks."""
        names = output_names or self._output_names
        return run_in_chunks(self._session.run, names, feeds, self.max_rows)


@dataclass(frozen=True)
class TensorInfo:
    """A graph input or output as onnxruntime describes it (`type` like "tensor(float)")."""

    name: str
    type: str
    shape: list[int | str]


def _graph_tensors(model_file: Path) -> tuple[list[TensorInfo], list[TensorInfo]]:
    import onnx

    graph = onnx.load(str(model_file), load_external_data=False).graph

    def info(value) -> TensorInfo:
        tensor = value.type.tensor_type
        dtype = onnx.TensorProto.DataType.Name(tensor.elem_type).lower()
        shape = [d.dim_value if d.HasField("dim_value") else d.dim_param for d in tensor.shape.dim]
        return TensorInfo(value.name, f"tensor({dtype})", shape)

    initializers = {i.name for i in graph.initializer}
    inputs = [info(v) for v in graph.input if v.name not in initializers]
    return inputs, [info(v) for v in graph.output]


class OpenVINOSession:
    """model.onnx compiled by OpenVINO for the CPU (f32); one infer request per thread."""

    def __init__(self, model_file: Path, max_rows: int = MAX_ROWS_PER_CALL) -> None:
        import openvino

        self.max_rows = max_rows
        self._inputs, self._outputs = _graph_tensors(model_file)
        self._compiled = openvino.Core().compile_model(str(model_file), "CPU", OPENVINO_CONFIG)
        self._local = threading.local()

    def get_inputs(self) -> list[TensorInfo]:
        """The graph's inputs, as onnxruntime's `get_inputs` lists them."""
        return self._inputs

    def get_outputs(self) -> list[TensorInfo]:
        """The graph's outputs, as onnxruntime's `get_outputs` lists them."""
        return self._outputs

    def _request(self):
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self._compiled.create_infer_request()
        return request

    def run(self, output_names: list[str] | None, feeds: Feeds) -> list:
        """`output_names` (None: all) for `feeds`, like onnxruntime's `run`, in chunks."""
        names = output_names or [o.name for o in self._outputs]
        return run_in_chunks(self._infer, names, feeds, self.max_rows)

    def _infer(self, names: list[str], feeds: Feeds) -> list[np.ndarray]:
        results = self._request().infer(feeds)
        # a port may carry several tensor names (one per producer OpenVINO fused): any matches
        by_name = {name: value for port, value in results.items() for name in port.get_names()}
        return [np.array(by_name[name], copy=True) for name in names]
