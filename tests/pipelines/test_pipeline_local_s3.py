"""A whole kfp.local run with the model stored on S3 (moto on 127.0.0.1), served from there."""

from __future__ import annotations

import pytest

from braking_pipelines.config import PipelineConfig
from braking_pipelines.local import run_local


@pytest.mark.slow
def test_the_run_uploads_the_model_and_the_local_server_serves_the_s3_copy(
    tmp_path, tiny_search, stack_env, open_gate, s3_server, s3_bucket, monkeypatch
):
    # What the cluster pipeline attaches to the register step: the data connection under its
    # own keys, its Secret name, and BRAKING_REGISTRATION_STORAGE=s3 from service_env.
    connection = {
        "AWS_S3_ENDPOINT": s3_server.url,
        "AWS_S3_BUCKET": s3_bucket,
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "BRAKING_REGISTRATION_STORAGE": "s3",
        "BRAKING_REGISTRATION_STORAGE_KEY": "model-storage",
    }
    for name, value in connection.items():
        monkeypatch.setenv(name, value)
    arguments = {
        "data_rows": 1200,
        "tuning_shards": 1,
        "search_iterations": 1,
        "cv_folds": 2,
        "gate_thresholds": open_gate,
        "model_name": "braking-s3",  # its own model: no champion to compare with, so it serves
    }

    summary = run_local(PipelineConfig(local_root=tmp_path / "root"), arguments)

    registered = summary.registered
    assert registered["storage_key"] == "model-storage"
    assert registered["uri"].startswith(f"s3://{s3_bucket}/{registered['storage_path']}?")
    stored = s3_server.read(s3_bucket, f"{registered['storage_path']}/1/model.onnx")
    version = registered["version_name"]
    served = stack_env.config.model_repository / "braking-s3" / version / "model.onnx"
    assert served.read_bytes() == stored
    assert summary.decision == "promote"
    assert summary.endpoint_url == f"{stack_env.serving_url}/v2/models/braking-s3"
    assert 0.0 <= summary.smoke_prediction <= 1.0
