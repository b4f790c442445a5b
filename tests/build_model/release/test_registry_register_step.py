"""The registration step records a real ONNX model with its metadata, idempotently."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from registry_fixtures import self_signed_certificate
from typer.testing import CliRunner

from braking_cli.main import app
from braking_model.model_dir import GATE_FILE, METRICS_FILE
from braking_release.register import (
    RegistrationConfig,
    RegistrationError,
    model_sha256,
    register_model,
    storage_location,
)


def _config(registry, **overrides) -> RegistrationConfig:
    settings = {
        "registry_url": f"http://127.0.0.1:{registry.port}",
        "token": registry.token,
    }
    return RegistrationConfig(**{**settings, **overrides})


def test_registers_the_trained_model_with_its_metadata(registry, trained_model_dir):
    metrics = json.loads((trained_model_dir / METRICS_FILE).read_text())

    result = register_model(
        trained_model_dir, _config(registry), run_id="run-7", source_revision="abc123"
    )

    assert result.created and result.version_name == "1"
    assert result.uri == trained_model_dir.resolve().as_uri()
    client = registry.client()
    version = client.get_model_version("braking-distance", "1")
    assert version.id == result.model_version_id
    properties = version.custom_properties
    assert properties["model_sha256"] == model_sha256(trained_model_dir)
    assert properties["metric.rmse"] == pytest.approx(metrics["rmse"])
    assert properties["metric.best_cv_rmse"] == pytest.approx(metrics["best_cv_rmse"])
    assert json.loads(properties["training_params"]) == metrics["hyperparameters"]
    assert properties["dataset_sha256"] == metrics["training_data_sha256"]
    assert properties["model_family"] == metrics["model_family"]
    assert (properties["pipeline_run_id"], properties["source_revision"]) == ("run-7", "abc123")
    artifact = client.get_model_artifact("braking-distance", "1")
    assert artifact.id == result.model_artifact_id
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    assert artifact.model_source_id == "run-7"


def test_gate_verdict_is_recorded(registry, model_dir_factory):
    model_dir = model_dir_factory(1)
    (model_dir / GATE_FILE).write_text(json.dumps({"passed": False, "reasons": ["rmse high"]}))

    register_model(model_dir, _config(registry))

    properties = registry.client().get_model_version("braking-distance", "1").custom_properties
    assert properties["gate_passed"] is False
    assert json.loads(properties["gate_reasons"]) == ["rmse high"]
    assert properties["metric.test.mae"] == pytest.approx(0.01)


def test_same_model_bytes_return_the_existing_version(registry, model_dir_factory):
    config = _config(registry)
    first = register_model(model_dir_factory(1), config)
    again = register_model(model_dir_factory(1), config, run_id="a-retry")
    other = register_model(model_dir_factory(2), config)

    assert not again.created
    assert (again.model_version_id, again.version_name) == (first.model_version_id, "1")
    assert other.created and other.version_name == "2"
    assert [v.name for v in registry.client().get_model_versions("braking-distance")] == ["1", "2"]


def test_concurrent_registrations_get_distinct_version_names(registry, model_dir_factory):
    model_dirs = [model_dir_factory(seed) for seed in range(1, 5)]
    config = _config(registry, model_name="raced")

    with ThreadPoolExecutor(len(model_dirs)) as pool:
        results = list(pool.map(lambda d: register_model(d, config), model_dirs))

    assert all(r.created for r in results)
    assert sorted(r.version_name for r in results) == ["1", "2", "3", "4"]
    assert len({r.model_version_id for r in results}) == 4


def test_template_names_and_s3_location(registry, model_dir_factory, monkeypatch):
    monkeypatch.delenv("AWS_S3_BUCKET", raising=False)
    model_dir = model_dir_factory(3)
    config = _config(
        registry,
        version_template="v-{hash8}",
        storage="s3",
        s3_bucket="models",
        s3_endpoint="https://s3.example:443",
        s3_region="us-east-1",
        storage_key="aws-connection-models",
    )
    sha = model_sha256(model_dir)

    result = register_model(model_dir, config)

    assert result.version_name == f"v-{sha[:8]}"
    uri, path = storage_location(model_dir, config)
    assert path == f"models/braking-distance/{sha[:12]}"
    assert uri == f"s3://models/{path}?endpoint=https://s3.example:443&defaultRegion=us-east-1"
    artifact = registry.client().get_model_artifact("braking-distance", result.version_name)
    assert (artifact.uri, artifact.storage_key, artifact.storage_path) == (
        uri, "aws-connection-models", path,
    )  # fmt: skip


def test_token_protected_registry(registry_factory, model_dir_factory, tmp_path):
    registry = registry_factory(tmp_path / "secure.db", token="t0ken")
    token_file = tmp_path / "token"
    token_file.write_text("t0ken\n")
    result = register_model(
        model_dir_factory(1), _config(registry, token=None, token_file=token_file)
    )
    assert result.created
    with pytest.raises(RegistrationError, match="401"):
        register_model(model_dir_factory(2), _config(registry, token="wrong"))


def test_tls_registry_with_custom_ca_and_token(registry_factory, model_dir_factory, tmp_path):
    """The cluster path: https, is_secure=True, a bearer token and the route's CA bundle."""
    certificate, key = self_signed_certificate(tmp_path)
    registry = registry_factory(tmp_path / "tls.db", token="cluster-token", tls=(certificate, key))
    secure = {"registry_url": f"https://127.0.0.1:{registry.port}", "custom_ca": certificate}

    result = register_model(model_dir_factory(1), _config(registry, **secure))

    assert result.created and result.version_name == "1"
    with pytest.raises(RegistrationError, match=r"unreachable.*certificate"):
        register_model(model_dir_factory(2), _config(registry, **{**secure, "custom_ca": None}))


def test_bad_inputs_fail_clearly(registry, tmp_path):
    with pytest.raises(RegistrationError, match=r"no model\.onnx"):
        register_model(tmp_path, _config(registry))
    with pytest.raises(ValueError, match="registry_url"):
        RegistrationConfig(registry_url="127.0.0.1:8080")
    with pytest.raises(ValueError, match="storage_key"):
        RegistrationConfig(storage="s3", s3_bucket="b")


def test_cli_register_prints_the_ids(registry, model_dir_factory):
    model_dir = model_dir_factory(5)
    args = ["register", "--model", str(model_dir), "--registry-url", registry.url]

    first = CliRunner().invoke(app, args)
    second = CliRunner().invoke(app, args)

    assert first.exit_code == 0, first.output
    assert "registered: braking-distance version 1" in first.output
    assert "model_version_id=" in first.output and "model_artifact_id=" in first.output
    assert "already registered" in second.output
    missing = CliRunner().invoke(app, ["register", "--model", str(model_dir.parent / "nope")])
    assert missing.exit_code == 2 and "no model.onnx" in missing.output
