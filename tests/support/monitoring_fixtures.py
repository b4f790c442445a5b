"""Fixtures of the monitoring tests: a reference profile on generated data, a real collector
on a free loopback port, and the physics baseline standing in as a fast deterministic model."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
import pytest
from serving_fixtures import serving_in_thread

from braking_data.contract import FEATURE_COLUMNS, LABEL_COLUMN
from braking_data.physics import physics_baseline

MODEL = "braking-distance"


def baseline_predict(features: np.ndarray) -> np.ndarray:
    """A deterministic 'model': the closed-form physics estimate, clipped to [0, 1]."""
    return np.clip(physics_baseline(*np.asarray(features, dtype=np.float64).T), 0.0, 1.0)


def features_of(frame) -> np.ndarray:
    return frame[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float32)


@pytest.fixture(scope="session")
def reference_profile():
    """A profile of the baseline on 12,000 generated rows (8,000 reference, 4,000 held out)."""
    from braking_data.generate import generate_frame
    from braking_model.reference import build_profile

    frame = generate_frame(12_000, seed=1)
    X, y = features_of(frame), frame[LABEL_COLUMN].to_numpy()
    return build_profile(
        X[:8000], baseline_predict(X[:8000]), X[8000:], baseline_predict(X[8000:]), y[8000:]
    )


@contextlib.contextmanager
def running_app(app) -> Iterator[str]:
    """Any ASGI app under uvicorn on a free 127.0.0.1 port, in a thread; yields its URL."""
    import uvicorn

    with serving_in_thread(lambda: uvicorn.Config(app, log_level="warning", lifespan="on")) as url:
        yield url
