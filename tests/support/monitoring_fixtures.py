"""Fixtures of the monitoring tests: a reference profile on generated data, a real collector
on a free loopback port, and the physics baseline standing in as a fast deterministic model."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest

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

    from braking_serving.runner import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
