"""Retraining on fresh data that follows the traffic, and the champion/challenger step.

`train_challenger` generates fresh data in the world read from served rows
(`braking_data.scenario.traffic_scenario`) with a seed from the run time, then trains and
gates a challenger.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from braking_data.scenario import Scenario, scenario_config

# Rows each training run of the loop generates: as many as `make run` trains on. With fewer the
# gate's test split holds too few rows needing hard braking to judge the under-braking rate
# (at 20,000 rows a handful of rows decide it; docs/adr/0021).
LOOP_TRAINING_ROWS = 100_000


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
