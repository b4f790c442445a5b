"""What the registry records, KServe's own storage code downloads, in the layout OVMS loads."""

from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
from kserve_storage import kserve_download
from model_folders import pass_gate
from serving_fixtures import random_features

from braking_data.contract import INPUT_TENSOR
from braking_release.config import RegistrationConfig
from braking_release.register import register_model

pytestmark = pytest.mark.slow


def _config(registry, connection, template: str) -> RegistrationConfig:
    return RegistrationConfig(
        registry_url=registry.url,
        storage="s3",
        storage_key="model-storage",
        connection=connection,
        version_template=template,
    )


def test_kserve_downloads_exactly_the_registered_version(
    registry, trained_model_dir, model_dir_factory, s3_server, s3_bucket, tmp_path
):
    connection = s3_server.connection(s3_bucket)
    model_dir = pass_gate(shutil.copytree(trained_model_dir, tmp_path / "model"))
    first = register_model(model_dir, _config(registry, connection, "1"))
    # Version "10" would also match a storage path ending in ".../1": the folders must not.
    register_model(model_dir_factory(1), _config(registry, connection, "10"))

    downloaded = kserve_download(first.uri, tmp_path / "mnt-models", connection)

    files = sorted(p.relative_to(downloaded).as_posix() for p in downloaded.rglob("*"))
    assert files == ["1", "1/model.onnx", "gate.json", "metrics.json", "model_card.md"]
    model_bytes = (downloaded / "1" / "model.onnx").read_bytes()
    assert model_bytes == (model_dir / "model.onnx").read_bytes()
    _assert_loads_and_answers(downloaded / "1" / "model.onnx", model_dir / "model.onnx")


def _assert_loads_and_answers(downloaded, original) -> None:
    import onnxruntime

    features = random_features(64)
    answers = [
        onnxruntime.InferenceSession(str(path)).run(None, {INPUT_TENSOR: features})[0]
        for path in (downloaded, original)
    ]
    np.testing.assert_array_equal(answers[0], answers[1])
    if importlib.util.find_spec("openvino") is not None:  # the engine inside OVMS
        import openvino

        assert openvino.Core().read_model(str(downloaded)).inputs
