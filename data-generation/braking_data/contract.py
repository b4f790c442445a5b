"""The feature contract shared by data generation, training, the ONNX graph and serving.

Changing anything here changes the model's public interface: the served tensor is
`FEATURE_COLUMNS` in this order, float32, and its output is `LABEL_COLUMN` in [0, 1].
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final

FRAME_SIZE_PX: Final = 640.0

BOX_COLUMNS: Final = ("other_bottom", "other_left", "other_right", "other_top")
FEATURE_COLUMNS: Final = (*BOX_COLUMNS, "other_speed", "your_speed", "road_friction")
LABEL_COLUMN: Final = "brake_amount"
CONDITION_COLUMN: Final = "road_condition"
TIMESTAMP_COLUMN: Final = "event_timestamp"

ROAD_CONDITIONS: Final = ("dry", "wet", "snow", "ice")


def check_road_conditions(names: Iterable[str]) -> None:
    """Raise ValueError naming any of `names` that is not one of ROAD_CONDITIONS."""
    unknown = sorted(set(names) - set(ROAD_CONDITIONS))
    if unknown:
        raise ValueError(f"unknown road conditions {unknown}; expected {ROAD_CONDITIONS}")


# Name of the model in the registry and of its endpoint (`/v2/models/<name>`), locally and on
# the cluster alike, so URLs and registry look-ups never depend on where the model runs.
MODEL_NAME: Final = "braking-distance"

# Tensor names of the served model (ONNX graph, KServe V2 / Open Inference Protocol).
INPUT_TENSOR: Final = "sensor_features"
OUTPUT_TENSOR: Final = "brake_amount"
# Second output: the label-free estimate of |brake_amount - label| (docs/adr/0019). Gates,
# promotion and clients that want the brake name OUTPUT_TENSOR; the first output stays it.
EXPECTED_ERROR_TENSOR: Final = "expected_error"

# OpenVINO properties every engine that runs the graph must use (OVMS's `--plugin_config`,
# `braking serve --engine openvino`, the gate). On CPUs with bf16 (AVX512-BF16, AMX) OpenVINO
# otherwise infers in bf16, which moves features across tree thresholds (errors up to 0.085).
OPENVINO_CONFIG: Final[dict[str, str]] = {"INFERENCE_PRECISION_HINT": "f32"}
# Most rows one engine call runs: the server's `max_rows_per_call` default (its request cap,
# batcher bound and engine chunk) and the chunk of in-process OpenVINO runs. The tree walk's
# intermediate tensors grow with rows x trees (a few kB a row for 350 trees), so this bounds
# a call's memory: 2,048 rows keep the server's growth under load within 64 MB, where 55,000
# took 750 MB (benchmarks/bench_hardening.py), at OpenVINO's best throughput (bench_engines).
MAX_ROWS_PER_CALL: Final = 2048

# Physical range of each feature: the schema check rejects values outside it, and the
# serving layer documents it. Speeds in km/h, box in pixels, friction dimensionless.
FEATURE_RANGES: Final[dict[str, tuple[float, float]]] = {
    "other_bottom": (0.0, FRAME_SIZE_PX),
    "other_left": (0.0, FRAME_SIZE_PX),
    "other_right": (0.0, FRAME_SIZE_PX),
    "other_top": (0.0, FRAME_SIZE_PX),
    "other_speed": (0.0, 250.0),
    "your_speed": (0.0, 250.0),
    "road_friction": (0.01, 1.5),
}
LABEL_RANGE: Final = (0.0, 1.0)

_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def check_model_name(name: str) -> str:
    """Model names double as InferenceService names, so they must be DNS-1123 labels."""
    if len(name) > 63 or not _DNS_LABEL.match(name):
        raise ValueError(
            f"model name {name!r} must be a DNS-1123 label (lowercase letters, digits and '-', "
            "starting with a letter, at most 63 characters), as it names the InferenceService"
        )
    return name
