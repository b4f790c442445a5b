"""Models the server holds in memory, loaded from ONNX files or an OVMS-style model repository.

A repository is laid out as OpenVINO Model Server (and so KServe's `kserve-ovms` runtime)
expects it: `<root>/<model name>/<numeric version>/model.onnx`. Like OVMS's default version
policy, loading a model serves its highest numeric version.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from braking_model.model_dir import ONNX_FILE
from braking_serving.engines import DEFAULT_ENGINE, open_session

# Names of the models loaded through the repository API. Every server process (one per
# worker) follows this file, so a load request answered by one worker reaches them all.
STATE_FILE = ".loaded-models.json"

# What the model metadata reports as `platform`, per engine (OVMS says "OpenVINO").
_PLATFORMS = {"onnxruntime": "onnxruntime_onnx", "openvino": "OpenVINO"}

# ONNX tensor element types -> Open Inference Protocol datatypes and numpy dtypes.
_ONNX_TO_OIP = {
    "tensor(float)": ("FP32", np.float32),
    "tensor(double)": ("FP64", np.float64),
    "tensor(float16)": ("FP16", np.float16),
    "tensor(int64)": ("INT64", np.int64),
    "tensor(int32)": ("INT32", np.int32),
    "tensor(int16)": ("INT16", np.int16),
    "tensor(int8)": ("INT8", np.int8),
    "tensor(uint8)": ("UINT8", np.uint8),
    "tensor(bool)": ("BOOL", np.bool_),
}


class ModelLoadError(RuntimeError):
    """A model (or model version) could not be found or loaded; the message says why."""


@dataclass(frozen=True)
class TensorSpec:
    """One input or output of a model: OIP name, datatype and shape (-1 = any size)."""

    name: str
    datatype: str
    shape: tuple[int, ...]
    dtype: type

    def metadata(self) -> dict:
        """The tensor's name, datatype and shape as the protocol's metadata lists them."""
        return {"name": self.name, "datatype": self.datatype, "shape": list(self.shape)}


@dataclass(frozen=True)
class LoadedModel:
    """An engine session (`engines`) with the tensor signature the server validates requests
    against."""

    name: str
    version: str
    path: Path
    session: Any  # engines.OnnxRuntimeSession or engines.OpenVINOSession
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    engine: str = DEFAULT_ENGINE

    def metadata(self) -> dict:
        """The OIP model metadata response."""
        return {
            "name": self.name,
            "versions": [self.version],
            "platform": _PLATFORMS[self.engine],
            "inputs": [spec.metadata() for spec in self.inputs],
            "outputs": [spec.metadata() for spec in self.outputs],
        }

    def run(self, output_names: list[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run the session on `feeds`; returns the named outputs."""
        return self.session.run(output_names, feeds)


def _tensor_spec(node) -> TensorSpec:
    if node.type not in _ONNX_TO_OIP:
        raise ModelLoadError(f"tensor {node.name!r} has type {node.type}, which is not served")
    datatype, dtype = _ONNX_TO_OIP[node.type]
    shape = tuple(dim if isinstance(dim, int) else -1 for dim in node.shape)
    return TensorSpec(node.name, datatype, shape, dtype)


def _model_file(path: Path) -> Path:
    """The ONNX file of `path`: itself, its model.onnx, or its highest version's.

    The last case is a folder as KServe's storage-initializer leaves one model (`1/model.onnx`).
    """
    if not path.is_dir():
        return path
    versions = model_versions(path)
    if (path / ONNX_FILE).is_file() or not versions:
        return path / ONNX_FILE
    return path / str(versions[-1]) / ONNX_FILE


def load_onnx_model(
    path: Path,
    name: str,
    version: str = "1",
    engine: str = DEFAULT_ENGINE,
    max_rows: int | None = None,
) -> LoadedModel:
    """Open `path` (model.onnx, or a folder holding it or `<n>/model.onnx`) with `engine`
    ("onnxruntime" or "openvino"); `max_rows` caps the rows of one engine call (see
    `engines.open_session`)."""
    model_file = _model_file(path)
    if not model_file.is_file():
        raise ModelLoadError(f"model {name!r} version {version}: no {ONNX_FILE} at {model_file}")
    try:
        session = open_session(model_file, engine, max_rows)
    except Exception as error:  # the engines raise their own Fail/InvalidGraph/RuntimeError
        # OpenVINO's message is a multi-line report whose last line names the cause
        lines = [line.strip() for line in str(error).splitlines() if line.strip()]
        reason = lines[-1] if lines else type(error).__name__
        raise ModelLoadError(
            f"model {name!r}: {engine} cannot load {model_file}: {reason}"
        ) from error
    return LoadedModel(
        name=name,
        version=version,
        path=model_file,
        session=session,
        inputs=tuple(_tensor_spec(node) for node in session.get_inputs()),
        outputs=tuple(_tensor_spec(node) for node in session.get_outputs()),
        engine=engine,
    )


def model_versions(model_dir: Path) -> list[int]:
    """Numeric version folders of a repository model, ascending (OVMS ignores other names)."""
    if not model_dir.is_dir():
        return []
    return sorted(int(entry.name) for entry in model_dir.iterdir() if entry.name.isdigit())


def latest_version(root: Path, name: str) -> int:
    """The highest numeric version of model `name` under `root`; ModelLoadError if none."""
    versions = model_versions(root / name)
    if not versions:
        raise ModelLoadError(
            f"model {name!r}: no numeric version folder under {root / name} "
            f"(expected {root / name}/<version>/{ONNX_FILE})"
        )
    return versions[-1]


def add_to_repository(root: Path, name: str, model_file: Path, version: int | None = None) -> int:
    """Copy `model_file` into `<root>/<name>/<version>/model.onnx`; returns the version.

    Without a version the next free number is used. The copy lands under a temporary name
    and is renamed into place, so a server polling the repository never sees half a file.
    """
    model_dir = root / name
    model_dir.mkdir(parents=True, exist_ok=True)
    if version is None:
        version = (model_versions(model_dir) or [0])[-1] + 1
    staging = model_dir / f".staging-{version}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    shutil.copyfile(model_file, staging / ONNX_FILE)
    target = model_dir / str(version)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)
    return version


class ModelStore:
    """The models one server process serves, by name; reads are lock-free dict lookups.

    Models come from explicit ONNX files (`add`) or from the repository. Repository models
    follow the repository's state file: `sync()` loads the models listed there (all models
    on disk when there is no state file yet), reloads those with a newer version folder and
    drops the ones no longer listed.
    """

    def __init__(
        self,
        repository: Path | None = None,
        engine: str = DEFAULT_ENGINE,
        max_rows: int | None = None,
    ) -> None:
        self.repository = repository
        self.engine = engine
        self.max_rows = max_rows
        self._models: dict[str, LoadedModel] = {}
        self._from_repository: set[str] = set()
        self._lock = threading.Lock()  # serialises loads, never taken on the request path
        self._synced_state: tuple[int, ...] | None = None

    def get(self, name: str) -> LoadedModel | None:
        """The loaded model called `name`, or None."""
        return self._models.get(name)

    def names(self) -> list[str]:
        """Names of the loaded models, sorted."""
        return sorted(self._models)

    def add(self, model: LoadedModel) -> None:
        """Hold `model` in memory under its name."""
        with self._lock:
            self._models = {**self._models, model.name: model}

    def _require_repository(self) -> Path:
        if self.repository is None:
            raise ModelLoadError("this server has no model repository (start it with one)")
        return self.repository

    def _load_latest(self, name: str) -> LoadedModel:
        root = self._require_repository()
        version = latest_version(root, name)
        current = self._models.get(name)
        if current is not None and current.version == str(version):
            return current
        model = load_onnx_model(
            root / name / str(version), name, str(version), self.engine, self.max_rows
        )
        self._models = {**self._models, name: model}
        self._from_repository.add(name)
        return model

    def _desired(self) -> list[str]:
        root = self._require_repository()
        try:
            return json.loads((root / STATE_FILE).read_text())["loaded"]
        except FileNotFoundError:
            if not root.is_dir():
                return []
            return sorted(entry.name for entry in root.iterdir() if model_versions(entry))

    def _write_desired(self, names: list[str]) -> None:
        root = self._require_repository()
        root.mkdir(parents=True, exist_ok=True)
        staging = root / f"{STATE_FILE}.{os.getpid()}"
        staging.write_text(json.dumps({"loaded": sorted(set(names))}))
        staging.replace(root / STATE_FILE)

    def load(self, name: str) -> LoadedModel:
        """Load (or reload, when a newer version appeared) `name` in every server process."""
        with self._lock:
            model = self._load_latest(name)
            desired = self._desired()
            if name not in desired:
                self._write_desired([*desired, name])
            return model

    def unload(self, name: str) -> bool:
        """Stop serving `name` in every server process; False when it was not loaded."""
        with self._lock:
            if name not in self._models:
                return False
            self._models = {key: value for key, value in self._models.items() if key != name}
            if self.repository is not None:
                self._write_desired([n for n in self._desired() if n != name])
            return True

    def _state_signature(self, desired: list[str]) -> tuple[int, ...]:
        root = self._require_repository()
        try:
            state_mtime = (root / STATE_FILE).stat().st_mtime_ns
        except FileNotFoundError:
            state_mtime = 0
        versions = (v for name in desired for v in model_versions(root / name)[-1:])
        return (state_mtime, *versions)

    def sync(self) -> list[str]:
        """Bring this process in line with the repository; returns errors of failed loads."""
        if self.repository is None:
            return []
        errors = []
        with self._lock:
            desired = self._desired()
            signature = self._state_signature(desired)
            if signature == self._synced_state:
                return []
            for name in desired:
                try:
                    self._load_latest(name)
                except ModelLoadError as error:
                    errors.append(str(error))
            dropped = self._from_repository - set(desired)
            self._models = {k: v for k, v in self._models.items() if k not in dropped}
            self._from_repository -= dropped
            self._synced_state = signature
        return errors

    def index(self) -> list[dict]:
        """The repository index: every model on disk or in memory, with its state."""
        root = self.repository
        on_disk = (
            {entry.name for entry in root.iterdir() if model_versions(entry)}
            if root is not None and root.is_dir()
            else set()
        )
        entries = []
        for name in sorted(on_disk | set(self._models)):
            model = self._models.get(name)
            if model is not None:
                entries.append({"name": name, "version": model.version, "state": "READY"})
            elif root is not None:
                version = str(model_versions(root / name)[-1])
                entries.append({"name": name, "version": version, "state": "UNAVAILABLE"})
        return entries
