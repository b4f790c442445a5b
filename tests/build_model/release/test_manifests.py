"""The InferenceService and ServingRuntime manifests validate strictly against KServe's CRDs."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import yaml
from crd_schema import CrdSchemas, ManifestError

from braking_release.config import DeployConfig, KServeTarget
from braking_release.manifests import inference_service, serving_runtime

VERSION_PATH = "models/braking-distance/3-1a2b3c4d"
DATA_CONNECTION = {"storage_key": "my-storage", "storage_path": VERSION_PATH}
REGISTERED = SimpleNamespace(registered_model_id="1", model_version_id="3")


@pytest.fixture(scope="module")
def crds(shared_reference) -> CrdSchemas:
    folder = shared_reference / "crds"
    return CrdSchemas.from_paths(
        [
            folder / "inferenceservices.serving.kserve.io.yaml",
            folder / "servingruntimes.serving.kserve.io.yaml",
        ]
    )


@pytest.mark.parametrize(
    "settings",
    [
        DATA_CONNECTION,
        {**DATA_CONNECTION, "deployment_mode": "Serverless", "enable_auth": False},
        {**DATA_CONNECTION, "expose": True, "min_replicas": 2, "max_replicas": 4},
        {"storage_uri": "s3://models/braking-distance"},
    ],
    ids=["data-connection", "serverless-no-auth", "exposed-scaled", "storage-uri"],
)
def test_inference_service_validates_against_the_crd(crds, settings):
    manifest = inference_service(KServeTarget(**settings), "braking", registered=REGISTERED)
    crds.validate(manifest)
    model = manifest["spec"]["predictor"]["model"]
    assert model["modelFormat"] == {"name": "onnx", "version": "1"}
    assert model["runtime"] == "kserve-ovms"
    labels = manifest["metadata"]["labels"]
    assert labels["modelregistry.opendatahub.io/registered-model-id"] == "1"
    assert labels["modelregistry.opendatahub.io/model-version-id"] == "3"
    assert labels["modelregistry.opendatahub.io/name"] == "braking-distance"
    annotations = manifest["metadata"]["annotations"]
    mode = settings.get("deployment_mode", "RawDeployment")
    assert annotations["serving.kserve.io/deploymentMode"] == mode
    auth = annotations.get("security.opendatahub.io/enable-auth")
    assert auth == (None if settings.get("enable_auth") is False else "true")


def test_the_location_comes_from_the_registered_version_unless_given():
    registered = SimpleNamespace(
        registered_model_id="1",
        model_version_id="3",
        uri=f"s3://models/{VERSION_PATH}?endpoint=https://s3.example&defaultRegion=us-east-1",
        storage_key="model-storage",
        storage_path=VERSION_PATH,
    )
    manifest = inference_service(KServeTarget(), "braking", registered=registered)
    storage = manifest["spec"]["predictor"]["model"]["storage"]
    assert storage == {"key": "model-storage", "path": VERSION_PATH}
    uri_only = SimpleNamespace(**{**vars(registered), "storage_key": None, "storage_path": None})
    model = inference_service(KServeTarget(), "braking", registered=uri_only)["spec"]
    assert model["predictor"]["model"]["storageUri"] == f"s3://models/{VERSION_PATH}"
    explicit = KServeTarget(storage_key="other", storage_path="elsewhere/4-deadbeef")
    manifest = inference_service(explicit, "braking", registered=registered)
    assert manifest["spec"]["predictor"]["model"]["storage"]["key"] == "other"
    local = SimpleNamespace(uri="file:///home/me/model", storage_key=None, storage_path=None)
    with pytest.raises(ValueError, match=r"BRAKING_REGISTRATION_STORAGE=s3.*file:///home/me/model"):
        inference_service(KServeTarget(), "braking", registered=local)


def test_a_storage_path_ending_in_a_bare_version_folder_is_refused():
    with pytest.raises(ValueError, match="version folder"):
        inference_service(
            KServeTarget(storage_key="my-storage", storage_path="models/braking-distance/3"), "b"
        )


@pytest.mark.parametrize(
    "settings",
    [{}, {"storage_key": "my-storage"}, {**DATA_CONNECTION, "storage_uri": "s3://x/y"}],
    ids=["nothing", "key-without-path", "both"],
)
def test_model_location_must_be_given_once(settings):
    with pytest.raises(ValueError, match="storage"):
        inference_service(KServeTarget(**settings), "braking")


def test_serving_runtime_validates_against_the_crd(crds):
    manifest = serving_runtime(KServeTarget(), "braking")
    crds.validate(manifest)
    formats = manifest["spec"]["supportedModelFormats"]
    assert {"name": "onnx", "version": "1", "autoSelect": True} in formats
    container = manifest["spec"]["containers"][0]
    assert "@sha256:" in container["image"]
    assert '--plugin_config={"INFERENCE_PRECISION_HINT":"f32"}' in container["args"]


def test_the_projects_own_runtime_validates_against_the_crd(crds):
    config = KServeTarget(runtime="braking-serving", server_image="quay.io/org/braking:1.2")
    manifest = serving_runtime(config, "braking")
    crds.validate(manifest)
    spec = manifest["spec"]
    assert spec["protocolVersions"] == ["v2"]
    assert spec["supportedModelFormats"] == [{"name": "onnx", "version": "1", "autoSelect": True}]
    container = spec["containers"][0]
    assert container["image"] == "quay.io/org/braking:1.2"
    assert container["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    assert container["args"] == ["--model-dir", "/mnt/models", "--name", "{{.Name}}"]
    annotations = manifest["metadata"]["annotations"]
    assert annotations["opendatahub.io/template-name"] == "braking-serving"
    assert (
        annotations["openshift.io/display-name"]
        == annotations["opendatahub.io/template-display-name"]
    )
    isvc = inference_service(config.model_copy(update=DATA_CONNECTION), "braking")
    assert isvc["spec"]["predictor"]["model"]["runtime"] == "braking-serving"


def test_the_strict_validator_rejects_unknown_and_mistyped_fields(crds):
    manifest = inference_service(KServeTarget(**DATA_CONNECTION), "braking")
    manifest["spec"]["predictor"]["model"]["storageURI"] = "s3://typo"
    with pytest.raises(ManifestError, match="storageURI"):
        crds.validate(manifest)
    manifest = serving_runtime(KServeTarget(), "braking")
    manifest["spec"]["multiModel"] = "no"
    with pytest.raises(ManifestError, match="multiModel"):
        crds.validate(manifest)


def test_model_name_must_be_a_dns_label():
    with pytest.raises(ValueError, match="DNS-1123"):
        DeployConfig(name="Braking_Distance")


def test_deploy_manifests_command_writes_valid_yaml(crds, tmp_path):
    from typer.testing import CliRunner

    from braking_cli.main import app

    arguments = ["deploy", "manifests", "-o", str(tmp_path), "--namespace", "braking"]
    arguments += ["--storage-key", "my-storage", "--storage-path", VERSION_PATH]
    arguments += ["--create-runtime", "--enable-auth", "--model-version-id", "4"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    isvc = yaml.safe_load((tmp_path / "inference-service.yaml").read_text())
    runtime = yaml.safe_load((tmp_path / "serving-runtime.yaml").read_text())
    crds.validate(isvc)
    crds.validate(runtime)
    assert isvc["metadata"]["annotations"]["security.opendatahub.io/enable-auth"] == "true"
    assert isvc["metadata"]["labels"]["modelregistry.opendatahub.io/model-version-id"] == "4"


def test_deploy_manifests_command_names_a_missing_model_location(tmp_path):
    from typer.testing import CliRunner

    from braking_cli.main import app

    result = CliRunner().invoke(
        app, ["deploy", "manifests", "-o", str(tmp_path), "--namespace", "braking"]
    )
    assert result.exit_code == 1
    assert "storage_key" in result.output and "Traceback" not in result.output
