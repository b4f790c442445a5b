"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest
from shared_reference import REPO_ROOT, shared_reference_dir


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """The upstream OpenAPI specs and CRDs; tests needing them skip when absent."""
    path = shared_reference_dir()
    if not path.is_dir():
        pytest.skip(
            f"upstream reference folder {path} is absent: clone the steering repo's shared/ "
            "beside this repo or set BRAKING_SHARED_REFERENCE"
        )
    return path


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small real MODEL_DIR (model.onnx, model.joblib, metrics.json, trials.csv, card,
    plots) trained by `braking_model.train.train_model` on 4,000 generated rows, 2 trials;
    its held-out split is `<dir>/../split/test.parquet`. Shared by every test folder."""
    from braking_data.generate import write_dataset
    from braking_model.config import TrainConfig
    from braking_model.train import train_model

    root = tmp_path_factory.mktemp("trained-model")
    data = root / "data.parquet"
    write_dataset(data, rows=4_000, seed=11)
    config = TrainConfig(n_iter=2, cv=2, n_jobs=1, seed=11, split_dir=root / "split")
    train_model(data, root / "model", config)
    return root / "model"
