"""The braking-serving ServingRuntime's container, started as written, serves the model."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
from registry_fixtures import write_onnx_model
from serving_fixtures import MODEL_NAME, random_features

from braking_data.contract import INPUT_TENSOR
from braking_release.config import KServeTarget
from braking_release.manifests import MODEL_MOUNT, serving_runtime
from braking_serving.client import InferenceClient


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_runtime_container_serves_the_storage_initializer_layout(tmp_path):
    import onnxruntime

    model_dir = write_onnx_model(tmp_path / "model", seed=4)  # a tiny real regressor
    # /mnt/models as KServe's storage-initializer leaves a registered version.
    mount = tmp_path / "mnt-models"
    (mount / "1").mkdir(parents=True)
    shutil.copyfile(model_dir / "model.onnx", mount / "1" / "model.onnx")
    shutil.copyfile(model_dir / "metrics.json", mount / "metrics.json")
    runtime = serving_runtime(KServeTarget(runtime="braking-serving"), "braking")
    container = runtime["spec"]["containers"][0]
    # Exactly the container's command and arguments; KServe fills in {{.Name}}, the mount
    # is this folder, and the test binds loopback on a free port instead of 0.0.0.0:8080.
    command = [sys.executable, *container["command"][1:]] + [
        argument.replace("{{.Name}}", MODEL_NAME).replace(MODEL_MOUNT, str(mount))
        for argument in container["args"]
    ]
    port = _free_port()
    env = {entry["name"]: entry["value"] for entry in container["env"]}
    assert env == {"BRAKING_SERVING_HOST": "0.0.0.0", "BRAKING_SERVING_PORT": "8080"}
    env |= {"BRAKING_SERVING_HOST": "127.0.0.1", "BRAKING_SERVING_PORT": str(port)}
    server = subprocess.Popen(command, env={**os.environ, **env}, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _ready(url):
            assert server.poll() is None, server.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the runtime's server did not become ready"
            time.sleep(0.2)
        features = random_features(32, seed=5)
        tensor = {
            "name": INPUT_TENSOR,
            "shape": list(features.shape),
            "datatype": "FP32",
            "data": features.ravel().tolist(),
        }
        with InferenceClient(f"{url}/v2/models/{MODEL_NAME}") as client:
            served = np.asarray(client.infer([tensor])["outputs"][0]["data"], dtype=np.float32)
        reference = onnxruntime.InferenceSession(str(model_dir / "model.onnx"))
        expected = reference.run(None, {INPUT_TENSOR: features})[0].reshape(-1)
        np.testing.assert_array_equal(served, expected)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ready(url: str) -> bool:
    try:
        return httpx.get(f"{url}/v2/models/{MODEL_NAME}/ready", timeout=2).status_code == 200
    except httpx.TransportError:
        return False
