"""Registration with S3 storage, against moto's S3 server on 127.0.0.1 and a real registry."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from typer.testing import CliRunner

from braking_cli.main import app
from braking_release import storage
from braking_release.model_checks import model_sha256
from braking_release.register import RegistrationConfig, RegistrationError, register_model
from braking_release.storage import version_folder


def _config(registry, connection, **overrides) -> RegistrationConfig:
    settings = {
        "registry_url": registry.url,
        "storage": "s3",
        "storage_key": "model-storage",
        "connection": connection,
    }
    return RegistrationConfig(**{**settings, **overrides})


def test_uploads_the_version_into_its_own_folder_in_ovms_layout(
    registry, model_dir_factory, s3_server, s3_bucket
):
    model_dir = model_dir_factory(1)
    connection = s3_server.connection(s3_bucket)

    result = register_model(model_dir, _config(registry, connection))

    folder = f"models/braking-distance/{version_folder('1', model_sha256(model_dir))}"
    assert result.storage_path == folder and result.storage_key == "model-storage"
    assert s3_server.keys(s3_bucket) == [
        f"{folder}/1/model.onnx",
        f"{folder}/gate.json",
        f"{folder}/metrics.json",
    ]
    assert s3_server.read(s3_bucket, f"{folder}/1/model.onnx") == (
        (model_dir / "model.onnx").read_bytes()
    )
    artifact = registry.client().get_model_artifact("braking-distance", "1")
    assert (artifact.storage_key, artifact.storage_path) == ("model-storage", folder)
    assert artifact.uri == (
        f"s3://{s3_bucket}/{folder}?endpoint={s3_server.url}&defaultRegion=us-east-1"
    )


def test_same_bytes_again_upload_nothing_and_create_no_version(
    registry, model_dir_factory, s3_server, s3_bucket
):
    config = _config(registry, s3_server.connection(s3_bucket))
    first = register_model(model_dir_factory(1), config)
    keys = s3_server.keys(s3_bucket)

    again = register_model(model_dir_factory(1), config)

    assert not again.created and again.model_version_id == first.model_version_id
    assert again.storage_path == first.storage_path
    assert s3_server.keys(s3_bucket) == keys
    assert [v.name for v in registry.client().get_model_versions("braking-distance")] == ["1"]


def test_two_concurrent_runs_never_share_a_folder(
    registry, model_dir_factory, s3_server, s3_bucket
):
    config = _config(registry, s3_server.connection(s3_bucket))
    model_dirs = [model_dir_factory(1), model_dir_factory(2)]
    start = threading.Barrier(2)

    def run(model_dir):
        start.wait()
        return register_model(model_dir, config)

    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(run, model_dirs))

    assert sorted(r.version_name for r in results) == ["1", "2"]
    assert len({r.storage_path for r in results}) == 2
    for result, model_dir in zip(results, model_dirs, strict=True):
        stored = s3_server.read(s3_bucket, f"{result.storage_path}/1/model.onnx")
        assert stored == (model_dir / "model.onnx").read_bytes()
    # Same bytes from two runs at once: one version, one upload.
    twin = model_dir_factory(3)
    with ThreadPoolExecutor(2) as pool:
        twins = list(pool.map(lambda _: register_model(twin, config), range(2)))
    assert len({t.model_version_id for t in twins}) == 1
    assert sum(t.created for t in twins) == 1
    models = [key for key in s3_server.keys(s3_bucket) if key.endswith("/1/model.onnx")]
    assert len(models) == 3


def test_a_failed_upload_archives_the_reserved_version(
    registry, model_dir_factory, s3_server, s3_bucket, monkeypatch
):
    # The bucket is gone between the access check and the upload: a real S3 error.
    monkeypatch.setattr(storage.ModelStorage, "check_access", lambda self: None)
    config = _config(registry, s3_server.connection("deleted-bucket"))

    with pytest.raises(RegistrationError, match=r"bucket does not exist.*version '1' archived"):
        register_model(model_dir_factory(1), config)

    version = registry.client().get_model_version("braking-distance", "1")
    assert version.state.value == "ARCHIVED"
    assert "upload failed" in version.custom_properties["archived_reason"]
    monkeypatch.undo()
    retry = register_model(model_dir_factory(1), _config(registry, s3_server.connection(s3_bucket)))
    assert retry.created and retry.version_name == "2"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"secret_access_key": "wrong"}, "access denied"),
        ({"s3_bucket": "no-such-bucket"}, "bucket does not exist"),
        ({"s3_endpoint": "http://127.0.0.1:9"}, "unreachable"),
    ],
)
def test_unusable_storage_fails_clearly_and_registers_nothing(
    registry, model_dir_factory, s3_server, s3_bucket, monkeypatch, overrides, message
):
    connection = s3_server.connection(s3_bucket, **overrides)
    with pytest.raises(RegistrationError) as raised:
        register_model(model_dir_factory(1), _config(registry, connection))
    assert f"bucket {connection.s3_bucket!r} at {connection.s3_endpoint}" in str(raised.value)
    assert message in str(raised.value)

    env = {
        "AWS_S3_ENDPOINT": connection.s3_endpoint,
        "AWS_S3_BUCKET": connection.s3_bucket,
        "AWS_ACCESS_KEY_ID": connection.access_key_id,
        "AWS_SECRET_ACCESS_KEY": connection.secret_access_key.get_secret_value(),
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = ["register", "--model", str(model_dir_factory(1)), "--registry-url", registry.url]
    result = CliRunner().invoke(app, [*args, "--storage", "s3", "--storage-key", "model-storage"])
    assert result.exit_code != 0 and message in result.output
    assert "Traceback" not in result.output
    assert registry.client().get_registered_model("braking-distance") is None
