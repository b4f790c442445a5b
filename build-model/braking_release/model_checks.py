"""The checks a MODEL_DIR must pass before registration, and what registration reads from it.

A MODEL_DIR is what `braking train` wrote (`model.onnx`, `metrics.json` with the ONNX file's
SHA-256) and `braking validate` completed (`gate.json`). Registration refuses a folder whose
model does not load, whose model changed since export, or whose gate did not pass (unless a
failed gate is deliberately allowed, which is then recorded on the version).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from braking_data.storage import file_sha256
from braking_model.model_dir import ONNX_SHA256_KEY as EXPORT_HASH_KEY
from braking_model.model_dir import ModelDir

HASH_PROPERTY = "model_sha256"
GATE_OVERRIDE_PROPERTY = "gate_failure_allowed"


class ModelDirError(ValueError):
    """The MODEL_DIR may not be registered; the message names the file and what to do."""


def model_sha256(model_dir: Path) -> str:
    """SHA-256 of the ONNX file, the identity used for idempotent registration."""
    try:
        return file_sha256(ModelDir(model_dir).require_onnx())
    except FileNotFoundError as error:
        raise ModelDirError(str(error)) from None


def _records(files: ModelDir) -> tuple[dict[str, Any], Any]:
    """metrics.json and gate.json (None when absent); ModelDirError when not valid JSON."""
    try:
        return files.read_metrics(), files.read_gate()
    except ValueError as error:
        raise ModelDirError(str(error)) from None


def check_model_dir(model_dir: Path, *, allow_failed_gate: bool = False) -> str:
    """Refuse what must not be registered; returns the model's SHA-256.

    In order: the ONNX file loads, its hash equals the one `metrics.json` recorded at
    export, and `gate.json` says the gate passed (or `allow_failed_gate`).
    """
    import onnx

    files = ModelDir(model_dir)
    sha256 = model_sha256(files.path)
    model_file = files.onnx
    try:
        onnx.checker.check_model(onnx.load_model(str(model_file), load_external_data=False))
    except Exception as error:  # protobuf DecodeError, onnx ValidationError, ...
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelDirError(
            f"{model_file} does not load as an ONNX model ({reason}): truncated or not a model; "
            "export it again with `braking train`"
        ) from None
    metrics, gate = _records(files)
    recorded = metrics.get(EXPORT_HASH_KEY)
    if recorded is None:
        raise ModelDirError(
            f"{files.metrics}: no {EXPORT_HASH_KEY} recorded at export, so "
            f"{model_file.name} cannot be checked; export it with `braking train`"
        )
    if recorded != sha256:
        raise ModelDirError(
            f"{model_file}: sha256 {sha256[:12]}… differs from {EXPORT_HASH_KEY} "
            f"{str(recorded)[:12]}… in {files.metrics.name}: the file changed after export"
        )
    if not allow_failed_gate:
        if not isinstance(gate, Mapping) or "passed" not in gate:
            raise ModelDirError(
                f"{files.gate}: no gate verdict; run `braking validate` first "
                "(or register deliberately with --allow-failed-gate)"
            )
        if gate["passed"] is not True:
            reasons = "; ".join(map(str, gate.get("reasons") or [])) or "no reasons given"
            raise ModelDirError(
                f"{files.gate}: the gate rejected this model ({reasons}); "
                "pass --allow-failed-gate to register it anyway"
            )
    return sha256


def _flatten_numbers(prefix: str, value: Any) -> Iterator[tuple[str, float | int]]:
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return
    if isinstance(value, int) and abs(value) > 999_999_999:
        value = float(value)  # MetadataIntValue holds int32 only
    if isinstance(value, int | float):
        yield prefix, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten_numbers(f"{prefix}.{key}", item)


# metrics.json keys (written by braking_model.train) that are lineage, not metrics.
_PARAM_KEYS = ("hyperparameters", "params", "best_params", "training_params")
_DATASET_KEYS = ("training_data_sha256", "dataset_sha256")
_FAMILY_KEYS = ("model_family", "family")


def model_metadata(model_dir: Path, *, run_id: str | None, source_revision: str | None) -> dict:
    """Custom properties of the version: content hash, metrics, gate verdict, lineage."""
    files = ModelDir(model_dir)
    metadata: dict[str, str | int | float | bool] = {HASH_PROPERTY: model_sha256(files.path)}
    metrics, gate = _records(files)
    for key, value in metrics.items():
        if key in _PARAM_KEYS:
            metadata["training_params"] = json.dumps(value, sort_keys=True)
        elif key in _DATASET_KEYS:
            metadata["dataset_sha256"] = str(value)
        elif key in _FAMILY_KEYS:
            metadata["model_family"] = str(value)
        elif key == "seed":
            metadata["training_seed"] = value
        else:
            metadata.update(_flatten_numbers(f"metric.{key}", value))
    if isinstance(gate, Mapping) and "passed" in gate:
        metadata["gate_passed"] = bool(gate["passed"])
        metadata["gate_reasons"] = json.dumps(gate.get("reasons", []))
    if files.reference_profile.is_file():  # what monitoring compares traffic with
        metadata["reference_profile"] = files.reference_profile.name
        metadata["reference_profile_sha256"] = file_sha256(files.reference_profile)
    if run_id:
        metadata["pipeline_run_id"] = run_id
    if source_revision:
        metadata["source_revision"] = source_revision
    return metadata
