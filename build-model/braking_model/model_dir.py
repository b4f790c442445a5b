"""The model directory (MODEL_DIR): the one place that names its files and reads them.

Training writes it, validation adds the gate verdict, registration hashes and describes it,
deployment and serving copy its ONNX graph, monitoring reads its reference profile. Every
package goes through this module, so renaming a file is a one-line change.

Standard library only: the inference server imports it without loading scikit-learn.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

ONNX_FILE: Final = "model.onnx"  # the served artifact (also the KServe repository's file name)
JOBLIB_FILE: Final = "model.joblib"  # the scikit-learn pipeline, for the ONNX parity check
# scikit-learn's answers on the held-out rows, recorded at export: the gate checks the graph
# against them without loading scikit-learn (the pickle serves other rows).
SKLEARN_OUTPUTS_FILE: Final = "sklearn_outputs.npy"
METRICS_FILE: Final = "metrics.json"
GATE_FILE: Final = "gate.json"
CARD_FILE: Final = "model_card.md"
TRIALS_FILE: Final = "trials.csv"
PLOTS_DIR: Final = "plots"
REFERENCE_PROFILE_FILE: Final = "reference_profile.json"  # reserved for monitoring
# metrics.json key of the ONNX file's SHA-256, written at export: registration refuses a
# model.onnx that changed since.
ONNX_SHA256_KEY: Final = "onnx_sha256"


def read_json(path: str | os.PathLike[str]) -> Any:
    """The JSON document at `path`, or None when the file does not exist.

    Raises ValueError naming the file when it exists but is not valid JSON.
    """
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON ({error})") from None


def write_json(path: str | os.PathLike[str], document: Any) -> Path:
    """Write `document` as indented JSON (numpy scalars as floats); returns the path."""
    path = Path(path)
    path.write_text(json.dumps(document, indent=2, default=float) + "\n", encoding="utf-8")
    return path


@dataclass(frozen=True)
class ModelDir:
    """Paths of the files in one model directory, and readers for its JSON records."""

    path: Path

    def __init__(self, path: str | os.PathLike[str]) -> None:
        """Wrap the folder at `path` (it need not exist yet)."""
        object.__setattr__(self, "path", Path(path))

    @property
    def onnx(self) -> Path:
        """The ONNX graph, the artifact that is registered and served."""
        return self.path / ONNX_FILE

    @property
    def joblib(self) -> Path:
        """The fitted scikit-learn pipeline."""
        return self.path / JOBLIB_FILE

    @property
    def sklearn_outputs(self) -> Path:
        """The pipeline's outputs on the held-out rows, with those rows."""
        return self.path / SKLEARN_OUTPUTS_FILE

    @property
    def metrics(self) -> Path:
        """Test-set metrics and training lineage, written by training."""
        return self.path / METRICS_FILE

    @property
    def gate(self) -> Path:
        """The gate verdict, written by validation."""
        return self.path / GATE_FILE

    @property
    def card(self) -> Path:
        """The Markdown model card."""
        return self.path / CARD_FILE

    @property
    def trials(self) -> Path:
        """Every tuning trial, ranked."""
        return self.path / TRIALS_FILE

    @property
    def plots(self) -> Path:
        """The folder of PNG plots."""
        return self.path / PLOTS_DIR

    @property
    def reference_profile(self) -> Path:
        """The training data's profile that monitoring compares live traffic with."""
        return self.path / REFERENCE_PROFILE_FILE

    def read_metrics(self) -> dict[str, Any]:
        """metrics.json, or an empty dict when training has not written it."""
        return read_json(self.metrics) or {}

    def read_gate(self) -> dict[str, Any] | None:
        """gate.json, or None when the model has not been validated."""
        return read_json(self.gate)

    def require_onnx(self) -> Path:
        """The ONNX file; FileNotFoundError naming the folder when it is missing."""
        if not self.onnx.is_file():
            raise FileNotFoundError(
                f"model directory {self.path} has no {ONNX_FILE} "
                "(expected the folder `braking train` wrote)"
            )
        return self.onnx
