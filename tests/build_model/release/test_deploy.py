"""deploy_model against a checking double of the Kubernetes API, and against the local server."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import yaml
from crd_schema import CrdSchemas
from serving_fixtures import MODEL_NAME, random_features, running_server

from braking_model.model_dir import ONNX_FILE
from braking_release.config import DeployConfig
from braking_release.deploy import DeployError, deploy_model
from braking_serving.client import InferenceClient
from braking_serving.config import ServerConfig

from .kube_double import TOKEN, KubeApiDouble

ISVC = f"/apis/serving.kserve.io/v1beta1/namespaces/braking/inferenceservices/{MODEL_NAME}"


@dataclass(frozen=True)
class Registered:
    """The fields of braking_registry's RegisteredModelVersion that deployment reads."""

    registered_model_id: str = "1"
    model_version_id: str = "4"
    version_name: str = "3"


@pytest.fixture(scope="module")
def crds(shared_reference) -> CrdSchemas:
    folder = shared_reference / "crds"
    return CrdSchemas.from_paths(
        [
            folder / "inferenceservices.serving.kserve.io.yaml",
            folder / "servingruntimes.serving.kserve.io.yaml",
        ]
    )


def _kserve(double: KubeApiDouble, **settings) -> DeployConfig:
    defaults = {
        "target": "kserve",
        "namespace": "braking",
        "kube_api_url": double.url,
        "kube_token": TOKEN,
        "storage_key": "my-storage",
        "storage_path": "models/braking-distance",
        "poll_seconds": 0.01,
        "timeout_seconds": 5,
    }
    return DeployConfig(**{**defaults, **settings})


def test_creates_the_inference_service_and_waits_for_ready(crds, tmp_path):
    with KubeApiDouble(crds, ready_after=3) as double:
        deployment = deploy_model(tmp_path, _kserve(double), registered=Registered())
    assert deployment.url == (
        f"https://{MODEL_NAME}-braking.apps.example.test/v2/models/{MODEL_NAME}"
    )
    assert deployment.internal_url.startswith(f"http://{MODEL_NAME}-predictor.braking.svc")
    methods = [(method, path) for method, path, _ in double.requests]
    assert methods[:2] == [("GET", ISVC), ("POST", ISVC.rsplit("/", 1)[0])]
    assert methods[2:] == [("GET", ISVC)] * 3  # polled until the controller made it Ready
    stored = double.objects[f"inferenceservices/braking/{MODEL_NAME}"]
    labels = stored["metadata"]["labels"]
    assert labels["modelregistry.opendatahub.io/model-version-id"] == "4"
    assert stored["spec"]["predictor"]["model"]["storage"]["key"] == "my-storage"


def test_patches_an_existing_service_and_waits_for_the_new_generation(crds, tmp_path):
    with KubeApiDouble(crds, ready_after=2) as double:
        deploy_model(tmp_path, _kserve(double))
        double.requests.clear()
        settings = {
            "storage_key": None,
            "storage_path": None,
            "storage_uri": "s3://models/braking-distance",
        }
        deploy_model(tmp_path, _kserve(double, **settings))
    assert double.requests[1] == ("PATCH", ISVC, "application/merge-patch+json")
    # The first read after the patch still shows Ready for generation 1: it must not count.
    assert [m for m, _, _ in double.requests[2:]] == ["GET", "GET"]
    stored = double.objects[f"inferenceservices/braking/{MODEL_NAME}"]
    assert stored["metadata"]["generation"] == 2
    model = stored["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://models/braking-distance"
    assert "storage" not in model


def test_without_a_route_the_url_is_the_in_cluster_address(crds, tmp_path):
    with KubeApiDouble(crds, url=False) as double:
        deployment = deploy_model(tmp_path, _kserve(double))
    assert deployment.url == (
        f"http://{MODEL_NAME}-predictor.braking.svc.cluster.local/v2/models/{MODEL_NAME}"
    )


def test_timeout_reports_the_status_conditions(crds, tmp_path):
    double = KubeApiDouble(crds, outcome="never", ready_after=1)
    with double, pytest.raises(DeployError) as raised:
        deploy_model(tmp_path, _kserve(double, timeout_seconds=0.3))
    message = str(raised.value)
    assert f"braking/{MODEL_NAME} not Ready after" in message
    assert "Ready=False (PredictorNotReady: 0/1 replicas available)" in message


def test_a_failed_model_load_stops_the_wait_with_the_reason(crds, tmp_path):
    double = KubeApiDouble(crds, outcome="fail", ready_after=1)
    with double, pytest.raises(DeployError, match="ModelLoadFailed: No version found"):
        deploy_model(tmp_path, _kserve(double, timeout_seconds=60))


def test_creates_the_serving_runtime_on_request(crds, tmp_path):
    with KubeApiDouble(crds) as double:
        deploy_model(tmp_path, _kserve(double, create_runtime=True))
    runtime = double.objects["servingruntimes/braking/kserve-ovms"]
    assert runtime["spec"]["supportedModelFormats"][0]["name"] == "onnx"
    assert (
        "POST",
        "/apis/serving.kserve.io/v1alpha1/namespaces/braking/servingruntimes",
        "application/json",
    ) in double.requests


def test_api_errors_are_reported(crds, tmp_path):
    with KubeApiDouble(crds) as double, pytest.raises(DeployError, match="401 Unauthorized"):
        deploy_model(tmp_path, _kserve(double, kube_token="wrong"))


def test_credentials_from_a_kubeconfig(crds, tmp_path, monkeypatch):
    with KubeApiDouble(crds) as double:
        kubeconfig = tmp_path / "config"
        kubeconfig.write_text(
            yaml.safe_dump(
                {
                    "current-context": "dev",
                    "contexts": [
                        {
                            "name": "dev",
                            "context": {"cluster": "c", "user": "u", "namespace": "braking"},
                        }
                    ],
                    "clusters": [{"name": "c", "cluster": {"server": double.url}}],
                    "users": [{"name": "u", "user": {"token": TOKEN}}],
                }
            )
        )
        monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
        monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
        config = _kserve(double, kube_api_url=None, kube_token=None, namespace=None)
        deployment = deploy_model(tmp_path, config)
    assert deployment.namespace == "braking"


def test_local_deploy_loads_the_model_into_the_running_server(tmp_path, serving_model_dir):
    repository = tmp_path / "models"
    with running_server(ServerConfig(model_repository=repository)) as url:
        config = DeployConfig(server_url=url, repository=repository, timeout_seconds=10)
        deployment = deploy_model(serving_model_dir, config, registered=Registered())
        assert deployment.url == f"{url}/v2/models/{MODEL_NAME}"
        assert deployment.version == "3"
        assert (repository / MODEL_NAME / "3" / ONNX_FILE).is_file()
        with InferenceClient(deployment.url) as client:
            amounts = client.predict(random_features(3))
            assert client.metadata()["versions"] == ["3"]
        assert amounts.shape == (3,) and np.isfinite(amounts).all()


def test_local_deploy_without_a_server_says_how_to_start_one(tmp_path, serving_model_dir):
    config = DeployConfig(server_url="http://127.0.0.1:9", repository=tmp_path, timeout_seconds=1)
    with pytest.raises(DeployError, match="braking stack up"):
        deploy_model(serving_model_dir, config)
