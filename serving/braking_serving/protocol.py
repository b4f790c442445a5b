"""Open Inference Protocol (KServe V2) request parsing and validation, and response bodies.

Every check turns bad input into a `ProtocolError` whose message names the field, the value
and what was expected; the server answers it as `{"error": message}` with its status code.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from dataclasses import dataclass

import numpy as np
import orjson

from braking_serving.config import ServerConfig
from braking_serving.repository import LoadedModel, TensorSpec

MAX_JSON_DEPTH = 1024  # orjson's limit: deeper bodies are refused with 400
DEFAULT_MAX_ROWS = ServerConfig.model_fields["max_rows_per_call"].default
_NON_FINITE = re.compile(rb"NaN|Infinity")


class ProtocolError(Exception):
    """A request the server rejects: HTTP status plus an OIP error message."""

    def __init__(self, status: int, message: str, allow: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.allow = allow  # the methods a 405 answer lists in its Allow header


@dataclass
class InferRequest:
    """A validated inference request: one array per model input, outputs to return."""

    id: str | None
    feeds: dict[str, np.ndarray]
    output_names: list[str]
    rows: int


def error_body(message: str) -> bytes:
    """The JSON error body `{"error": message}` as bytes."""
    return orjson.dumps({"error": message})


def decode_json(body: bytes) -> object:
    """Parse a request body; every error message is the server's own, never exception text."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        where = f"line {error.lineno}, column {error.colno}"
        if error.msg == "depth limit exceeded":
            message = f"request body nests deeper than {MAX_JSON_DEPTH} levels (at {where})"
            raise ProtocolError(400, message) from None
        if _NON_FINITE.search(body):
            # Python's json.dumps writes NaN/Infinity literals for non-finite floats; name
            # them rather than calling the body malformed. orjson stopped at the first error,
            # so the depth is already known to be below the limit json would overflow at.
            _find_non_finite(body)
        raise ProtocolError(400, f"request body is not valid JSON (at {where})") from None


def _find_non_finite(body: bytes) -> None:
    with contextlib.suppress(ValueError, UnicodeDecodeError, RecursionError):
        json.loads(body, parse_constant=_reject_constant)


def _reject_constant(name: str) -> float:
    raise ProtocolError(400, f"request contains {name}: tensor data must be finite numbers")


def _shape(value: object, field: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in value
    ):
        raise ProtocolError(400, f"{field} must be a list of non-negative integers, got {value!r}")
    return tuple(value)


def _shape_matches(shape: tuple[int, ...], expected: tuple[int, ...]) -> bool:
    return len(shape) == len(expected) and all(
        want in (-1, got) for got, want in zip(shape, expected, strict=True)
    )


def _holds_bool(data: list) -> bool:
    stack = [data]
    while stack:
        for value in stack.pop():
            if value is True or value is False:
                return True
            if isinstance(value, list):
                stack.append(value)
    return False


def _as_array(item: dict, spec: TensorSpec, field: str, max_rows: int, body: bytes) -> np.ndarray:
    datatype = item.get("datatype")
    if datatype != spec.datatype:
        raise ProtocolError(
            400, f"{field}.datatype is {datatype!r}, expected {spec.datatype!r} for {spec.name!r}"
        )
    shape = _shape(item.get("shape"), f"{field}.shape")
    if not _shape_matches(shape, spec.shape):
        raise ProtocolError(
            400,
            f"{field}.shape is {list(shape)}, expected {list(spec.shape)} for {spec.name!r} "
            "(-1 = any size)",
        )
    if shape and shape[0] > max_rows:
        raise ProtocolError(
            413,
            f"{field}.shape asks for {shape[0]} rows; this server takes at most {max_rows} "
            "rows per request (max_rows_per_call): split the batch",
        )
    data = item.get("data")
    if not isinstance(data, list):
        raise ProtocolError(
            400, f"{field}.data must be a list of numbers, got {type(data).__name__}"
        )
    try:
        array = np.asarray(data)
    except ValueError:
        raise ProtocolError(400, f"{field}.data is a ragged nested list") from None
    # Booleans are numbers to numpy ([true, 0.2] becomes [1.0, 0.2]); the protocol keeps
    # BOOL and numeric tensors apart. The byte search keeps the element scan off the common path.
    wants_bool = spec.datatype == "BOOL"
    if array.size and (array.dtype.kind == "b") != wants_bool:
        kind = "booleans" if array.dtype.kind == "b" else "numbers"
        raise ProtocolError(400, f"{field}.data holds {kind}, expected {spec.datatype} values")
    if not wants_bool and (b"true" in body or b"false" in body) and _holds_bool(data):
        raise ProtocolError(
            400, f"{field}.data mixes booleans with numbers, expected {spec.datatype} numbers"
        )
    if array.dtype.kind not in "fiub" and array.size:
        raise ProtocolError(
            400, f"{field}.data holds non-numeric values, expected {spec.datatype} numbers"
        )
    expected = math.prod(shape)
    if array.size != expected:
        raise ProtocolError(
            400,
            f"{field}.data has {array.size} values but shape {list(shape)} needs {expected}",
        )
    if array.ndim > 1 and array.shape != shape:
        raise ProtocolError(
            400,
            f"{field}.data is nested as {list(array.shape)} but shape is {list(shape)}: "
            "send it flat (row-major) or nested exactly as the shape",
        )
    with np.errstate(over="ignore"):  # out-of-range values become inf, rejected just below
        array = array.astype(spec.dtype, copy=False).reshape(shape)
    # One sum is cheaper than an elementwise test; only a non-finite sum needs the full look
    # (huge but finite values can overflow the sum).
    if array.dtype.kind == "f" and not math.isfinite(array.sum()) and not np.isfinite(array).all():
        where = np.argwhere(~np.isfinite(array))[0].tolist()
        raise ProtocolError(
            400,
            f"{field}.data holds a NaN or infinite value at index {where} "
            f"(or one out of {spec.datatype} range); values must be finite",
        )
    return array


def _parameters(value: object, field: str) -> None:
    if value is not None and not isinstance(value, dict):
        raise ProtocolError(400, f"{field} must be a JSON object, got {type(value).__name__}")


def parse_infer_request(
    body: bytes, model: LoadedModel, max_rows: int = DEFAULT_MAX_ROWS
) -> InferRequest:
    """Validate an inference request body against the model's signature; a request for
    more than `max_rows` rows is refused with 413 before its data is converted."""
    request = decode_json(body)
    if not isinstance(request, dict):
        raise ProtocolError(400, "request body must be a JSON object with an 'inputs' list")
    request_id = request.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError(400, f"'id' must be a string, got {request_id!r}")
    _parameters(request.get("parameters"), "parameters")
    inputs = request.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise ProtocolError(400, "'inputs' must be a non-empty list of input tensors")
    specs = {spec.name: spec for spec in model.inputs}
    feeds: dict[str, np.ndarray] = {}
    for index, item in enumerate(inputs):
        field = f"inputs[{index}]"
        if not isinstance(item, dict):
            raise ProtocolError(400, f"{field} must be an object with name, shape, datatype, data")
        name = item.get("name")
        spec = specs.get(name) if isinstance(name, str) else None
        if spec is None:
            raise ProtocolError(
                400,
                f"{field}.name {name!r} is not an input of model {model.name!r}; "
                f"expected one of {sorted(specs)}",
            )
        if spec.name in feeds:
            raise ProtocolError(400, f"{field}.name {name!r} is given twice")
        _parameters(item.get("parameters"), f"{field}.parameters")
        feeds[spec.name] = _as_array(item, spec, field, max_rows, body)
    missing = sorted(set(specs) - set(feeds))
    if missing:
        raise ProtocolError(400, f"missing inputs {missing} of model {model.name!r}")
    rows = {array.shape[0] for array in feeds.values() if array.ndim}
    if len(rows) > 1:
        raise ProtocolError(400, f"inputs disagree on the batch size: {sorted(rows)}")
    return InferRequest(
        id=request_id,
        feeds=feeds,
        output_names=_output_names(request.get("outputs"), model),
        rows=rows.pop() if rows else 1,
    )


def _output_names(requested: object, model: LoadedModel) -> list[str]:
    known = [spec.name for spec in model.outputs]
    if requested is None:
        return known
    if not isinstance(requested, list):
        raise ProtocolError(400, "'outputs' must be a list of {\"name\": ...} objects")
    names = []
    for index, item in enumerate(requested):
        name = item.get("name") if isinstance(item, dict) else None
        if name not in known:
            raise ProtocolError(
                400,
                f"outputs[{index}].name {name!r} is not an output of model {model.name!r}; "
                f"expected one of {known}",
            )
        _parameters(item.get("parameters"), f"outputs[{index}].parameters")
        names.append(name)
    return names or known


def infer_response(model: LoadedModel, request: InferRequest, results: list[np.ndarray]) -> bytes:
    """The inference response body for `results` of `request`."""
    specs = {spec.name: spec for spec in model.outputs}
    outputs = [
        {
            "name": name,
            "datatype": specs[name].datatype,
            "shape": list(result.shape),
            "data": result.ravel(),
        }
        for name, result in zip(request.output_names, results, strict=True)
    ]
    response = {"model_name": model.name, "model_version": model.version, "outputs": outputs}
    if request.id is not None:
        response["id"] = request.id
    return orjson.dumps(response, option=orjson.OPT_SERIALIZE_NUMPY)
