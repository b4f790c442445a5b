"""Hand-made MODEL_DIRs made registrable: what `braking train` and `braking validate` add.

Registration refuses a folder unless `metrics.json` records the SHA-256 of `model.onnx` (as
export does) and `gate.json` says the gate passed. Tests that build their own folders call
`pass_gate` instead of writing those files themselves.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from braking_model.model_dir import ONNX_SHA256_KEY


def record_export_hash(model_dir: Path) -> Path:
    """Write model.onnx's SHA-256 into metrics.json, as `braking train` does at export."""
    metrics_file = model_dir / "metrics.json"
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    metrics[ONNX_SHA256_KEY] = hashlib.sha256((model_dir / "model.onnx").read_bytes()).hexdigest()
    metrics_file.write_text(json.dumps(metrics))
    return model_dir


def pass_gate(model_dir: Path, *, passed: bool = True, reasons: list[str] | None = None) -> Path:
    """Make `model_dir` registrable: its export hash, and a gate verdict (passing by default)."""
    record_export_hash(model_dir)
    verdict = {"passed": passed, "reasons": reasons or []}
    (model_dir / "gate.json").write_text(json.dumps(verdict))
    return model_dir
