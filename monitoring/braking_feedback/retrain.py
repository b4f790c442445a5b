"""Retraining on fresh data that follows the traffic, and the champion/challenger step.

`traffic_scenario` reads the world from served rows (the road-condition mix from the friction
bands, the speed shift from our speed); `train_challenger` generates fresh data in that world
with a seed from the run time, trains and gates a challenger; `decide` compares it with the
champion on the latest labelled window and records the decision on the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from braking_data.config import GenerationConfig
from braking_data.contract import FEATURE_COLUMNS
from braking_data.scenario import Scenario, scenario_config


def traffic_scenario(features: np.ndarray, config: GenerationConfig | None = None) -> Scenario:
    """The world seen in served rows: condition shares by friction band, speed shift."""
    config = config or GenerationConfig()
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    friction = features[:, FEATURE_COLUMNS.index("road_friction")]
    bands = sorted(config.road_conditions.items(), key=lambda item: item[1].friction[0])
    lows = np.array([mix.friction[0] for _, mix in bands[1:]])
    counts = np.bincount(np.searchsorted(lows, friction, side="right"), minlength=len(bands))
    shares = {
        name: round(float(c) / max(len(friction), 1), 4)
        for (name, _), c in zip(bands, counts, strict=True)
    }
    shares = {k: v for k, v in shares.items() if v > 0}
    total = sum(shares.values())
    shares = {k: v / total for k, v in shares.items()} if total else {}
    speed = features[:, FEATURE_COLUMNS.index("your_speed")]
    low, high = config.your_speed_kmh
    shift = float(np.mean(speed) - (low + high) / 2) if len(speed) else 0.0
    return Scenario(condition_shares=shares, speed_shift_kmh=round(shift, 1))


@dataclass(frozen=True)
class Challenger:
    """A retrained model: where it is, its gate verdict, its data seed and world."""

    model_dir: Path
    gate_passed: bool
    gate_reasons: list[str]
    seed: int
    scenario: Scenario


def train_challenger(
    output_dir: Path,
    scenario: Scenario,
    seed: int,
    rows: int,
    search_iterations: int,
    search_space: Path | None,
) -> Challenger:
    """Fresh data in the scenario's world -> train -> gate, all in `output_dir`."""
    from braking_data.generate import write_dataset
    from braking_model.config import TrainConfig
    from braking_model.train import train_model
    from braking_model.validate import validate_model

    output_dir.mkdir(parents=True, exist_ok=True)
    data = output_dir / "data.parquet"
    write_dataset(data, rows=rows, seed=seed, config=scenario_config(scenario))
    split = output_dir / "split"
    config = TrainConfig(
        n_iter=search_iterations, cv=2, n_jobs=1, seed=seed, split_dir=split,
        search_space=search_space,
    )  # fmt: skip
    trained = train_model(data, output_dir / "model", config)
    verdict = validate_model(trained.model_dir, split / "test.parquet")
    return Challenger(trained.model_dir, verdict.passed, verdict.reasons, seed, scenario)


def onnx_predictions(model_dir: Path, features: np.ndarray) -> np.ndarray:
    """Predictions of MODEL_DIR/model.onnx for raw features."""
    from braking_model import export

    return export.onnx_predict(export.session(Path(model_dir) / "model.onnx"), features)
