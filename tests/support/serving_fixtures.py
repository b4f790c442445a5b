"""Fixtures of the serving tests: a real ONNX model and real servers on free loopback ports."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from braking_data.contract import FEATURE_COLUMNS, FEATURE_RANGES, INPUT_TENSOR, OUTPUT_TENSOR
from braking_data.physics import physics_baseline
from braking_model.model_dir import ONNX_FILE
from braking_serving.config import ServerConfig
from braking_serving.runner import _uvicorn_config, bind_socket
from braking_serving.server import InferenceServer

MODEL_NAME = "braking-distance"


def random_features(rows: int, seed: int = 0) -> np.ndarray:
    """Sensor readings inside the contract's ranges, boxes well-formed (left < right)."""
    rng = np.random.default_rng(seed)
    low = np.array([FEATURE_RANGES[c][0] for c in FEATURE_COLUMNS])
    high = np.array([FEATURE_RANGES[c][1] for c in FEATURE_COLUMNS])
    features = rng.uniform(low, high, size=(rows, len(FEATURE_COLUMNS)))
    features[:, [1, 2]] = np.sort(features[:, [1, 2]], axis=1)
    features[:, [0, 3]] = np.sort(features[:, [0, 3]], axis=1)
    return features.astype(np.float32)


def _export_tiny_model(output_dir: Path) -> Path:
    """A small real regressor on physics labels, exported to the served I/O contract."""
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.ensemble import RandomForestRegressor

    features = random_features(600, seed=1)
    labels = np.clip(physics_baseline(*features.T), 0.0, 1.0)
    model = RandomForestRegressor(n_estimators=8, max_depth=6, random_state=0)
    model.fit(features, labels)
    onnx_model = to_onnx(
        model,
        initial_types=[(INPUT_TENSOR, FloatTensorType([None, len(FEATURE_COLUMNS)]))],
        final_types=[(OUTPUT_TENSOR, FloatTensorType([None, 1]))],
        target_opset=17,
    )
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / ONNX_FILE).write_bytes(onnx_model.SerializeToString())
    return output_dir


@pytest.fixture(scope="session")
def serving_model_dir(request, tmp_path_factory) -> Path:
    """The project's trained model when the root fixture exists, else a tiny real one."""
    try:
        return Path(request.getfixturevalue("trained_model_dir"))
    except pytest.FixtureLookupError:
        return _export_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def reference_session(serving_model_dir):
    """onnxruntime in-process, single-threaded like the server (so sums run in the same order)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    return onnxruntime.InferenceSession(str(serving_model_dir / ONNX_FILE), options)


@contextlib.contextmanager
def running_server(config: ServerConfig) -> Iterator[str]:
    """An in-process server on a free 127.0.0.1 port; yields its base URL."""
    app = InferenceServer(config)
    with serving_in_thread(lambda: _uvicorn_config(app, config)) as url:
        yield url


@contextlib.contextmanager
def serving_in_thread(uvicorn_config) -> Iterator[str]:
    """uvicorn with `uvicorn_config()` in a thread on a free 127.0.0.1 port; yields its URL."""
    import uvicorn

    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn_config())
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


@pytest.fixture(scope="module")
def server_url(serving_model_dir) -> Iterator[str]:
    """One server for a test module, serving the model as `braking-distance`."""
    with running_server(ServerConfig(models={MODEL_NAME: serving_model_dir})) as url:
        yield url
