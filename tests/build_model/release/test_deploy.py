"""deploy_model against a checking double of the Kubernetes API, and against the local server."""

from __future__ import annotations

import copy
import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pytest
import yaml
from crd_schema import CrdSchemas
from serving_fixtures import MODEL_NAME, random_features, running_server

from braking_model.model_dir import ONNX_FILE
from braking_release.config import (
    ClusterAccess,
    DeployConfig,
    KServeTarget,
    LocalServingTarget,
    RegistrationConfig,
)
from braking_release.deploy import DeployError, deploy_model
from braking_release.register import RegisteredModelVersion, register_model
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
    """Settings against the double; each given setting goes to the object that holds it."""
    kserve = {"storage_key": "my-storage", "storage_path": "models/braking-distance/3-1a2b3c4d"}
    kube = {"namespace": "braking", "api_url": double.url, "token": TOKEN}
    top = {"target": "kserve", "poll_seconds": 0.01, "timeout_seconds": 5}
    for key, value in settings.items():
        part = kserve if key in KServeTarget.model_fields else top
        (kube if key in ClusterAccess.model_fields else part)[key] = value
    return DeployConfig(**top, kserve=KServeTarget(**kserve), kube=ClusterAccess(**kube))


def _calls(double: KubeApiDouble) -> list[tuple[str, str, str | None]]:
    return [(r.method, r.path, r.content_type) for r in double.requests]


def test_applies_the_inference_service_and_watches_until_ready(crds, tmp_path):
    with KubeApiDouble(crds, ready_after=3) as double:
        deployment = deploy_model(tmp_path, _kserve(double), registered=Registered())
    assert deployment.url == (
        f"https://{MODEL_NAME}-braking.apps.example.test/v2/models/{MODEL_NAME}"
    )
    assert deployment.internal_url.startswith(f"http://{MODEL_NAME}-predictor.braking.svc")
    apply, watch = double.requests
    assert (apply.method, apply.path, apply.content_type) == (
        "PATCH",
        ISVC,
        "application/apply-patch+yaml",
    )
    assert apply.query["fieldManager"] == "braking-distance"
    assert (watch.method, watch.path) == ("GET", ISVC.rsplit("/", 1)[0])
    assert watch.query["fieldSelector"] == f"metadata.name={MODEL_NAME}"
    assert watch.query["watch"].lower() == "true"
    stored = double.objects[f"inferenceservices/braking/{MODEL_NAME}"]
    labels = stored["metadata"]["labels"]
    assert labels["modelregistry.opendatahub.io/model-version-id"] == "4"
    assert stored["spec"]["predictor"]["model"]["storage"]["key"] == "my-storage"


def test_reapplying_changes_the_spec_and_waits_for_the_new_generation(crds, tmp_path):
    with KubeApiDouble(crds, ready_after=2) as double:
        deploy_model(tmp_path, _kserve(double))
        double.requests.clear()
        settings = {
            "storage_key": None,
            "storage_path": None,
            "storage_uri": "s3://models/braking-distance",
        }
        deploy_model(tmp_path, _kserve(double, **settings))
        stored = copy.deepcopy(double.objects[f"inferenceservices/braking/{MODEL_NAME}"])
    assert [(m, c) for m, _, c in _calls(double)][:1] == [("PATCH", "application/apply-patch+yaml")]
    assert [r.query.get("watch") for r in double.requests[1:]] == ["True"]
    assert stored["metadata"]["generation"] == 2
    assert stored["status"]["observedGeneration"] == 2
    model = stored["spec"]["predictor"]["model"]
    assert model["storageUri"] == "s3://models/braking-distance"
    assert "storage" not in model  # apply drops what the manifest no longer sets


def test_the_previous_generations_ready_status_does_not_count(crds, tmp_path):
    with KubeApiDouble(crds, ready_after=1) as double:
        deploy_model(tmp_path, _kserve(double))
        double.outcome = "never"  # the new spec never gets ready; the old status says Ready
        with pytest.raises(DeployError, match="PredictorNotReady"):
            deploy_model(tmp_path, _kserve(double, max_replicas=2, timeout_seconds=0.5))


def test_an_unchanged_spec_is_ready_at_once(crds, tmp_path):
    with KubeApiDouble(crds, ready_after=2) as double:
        deploy_model(tmp_path, _kserve(double))
        generation = double.objects[f"inferenceservices/braking/{MODEL_NAME}"]["metadata"]
        deploy_model(tmp_path, _kserve(double))
    assert generation["generation"] == 1


def test_without_a_route_the_url_is_the_headless_predictor_on_the_runtime_port(crds, tmp_path):
    # OpenShift AI's RawDeployment Service is headless: no port 80 -> 8888 mapping to rely on.
    with KubeApiDouble(crds, url=False) as double:
        ovms = deploy_model(tmp_path, _kserve(double))
        ours = deploy_model(tmp_path, _kserve(double, runtime="braking-serving"))
    host = f"http://{MODEL_NAME}-predictor.braking.svc.cluster.local"
    assert ovms.url == ovms.internal_url == f"{host}:8888/v2/models/{MODEL_NAME}"
    assert ours.internal_url == f"{host}:8080/v2/models/{MODEL_NAME}"
    # The project's own runtime has no OpenShift AI template: the deploy step applies it.
    runtime = double.objects["servingruntimes/braking/braking-serving"]
    assert runtime["spec"]["protocolVersions"] == ["v2"]


def test_timeout_reports_the_status_conditions(crds, tmp_path):
    double = KubeApiDouble(crds, outcome="never", ready_after=1)
    with double, pytest.raises(DeployError) as raised:
        deploy_model(tmp_path, _kserve(double, timeout_seconds=0.5))
    message = str(raised.value)
    assert f"InferenceService braking/{MODEL_NAME} not ready after" in message
    assert "Ready=False (PredictorNotReady: 0/1 replicas available)" in message


def test_a_failed_model_load_stops_the_wait_with_the_reason(crds, tmp_path):
    double = KubeApiDouble(crds, outcome="fail", ready_after=1)
    with double, pytest.raises(DeployError, match="ModelLoadFailed: No version found"):
        deploy_model(tmp_path, _kserve(double, timeout_seconds=60))


def test_applies_the_serving_runtime_on_request(crds, tmp_path):
    with KubeApiDouble(crds) as double:
        deploy_model(tmp_path, _kserve(double, create_runtime=True))
    runtime = double.objects["servingruntimes/braking/kserve-ovms"]
    assert runtime["spec"]["supportedModelFormats"][0]["name"] == "onnx"
    assert _calls(double)[0] == (
        "PATCH",
        "/apis/serving.kserve.io/v1alpha1/namespaces/braking/servingruntimes/kserve-ovms",
        "application/apply-patch+yaml",
    )


def test_api_errors_are_reported(crds, tmp_path):
    with KubeApiDouble(crds) as double, pytest.raises(DeployError, match="401 Unauthorized"):
        deploy_model(tmp_path, _kserve(double, token="wrong"))


def _documented_cluster_configuration(repo_root) -> dict:
    """The cluster configuration pipelines/README.md tells users to write."""
    text = (repo_root / "pipelines" / "README.md").read_text()
    block = re.search(r"A cluster configuration, for example:\s*```yaml\n(.*?)```", text, re.S)
    return yaml.safe_load(block.group(1).replace("<project>", "braking"))


def test_the_documented_cluster_configuration_deploys_the_registered_model(
    crds, repo_root, registry, model_dir_factory, s3_server, s3_bucket, monkeypatch
):
    documented = _documented_cluster_configuration(repo_root)
    assert documented["deploy_target"] == "kserve"
    assert not [name for name in documented["service_env"] if "DEPLOY_STORAGE" in name]
    # What the pipeline gives its register and deploy steps: service_env, the data connection
    # under its own keys, the connection Secret's name.
    env = {
        **documented["service_env"],
        "AWS_S3_ENDPOINT": s3_server.url,
        "AWS_S3_BUCKET": s3_bucket,
        "AWS_ACCESS_KEY_ID": s3_server.access_key_id,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_access_key,
        "AWS_DEFAULT_REGION": "us-east-1",
        "BRAKING_REGISTRATION_STORAGE_KEY": "model-storage",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    model_dir = model_dir_factory(1)
    # This machine's registry stands in for the cluster's route.
    registered = register_model(model_dir, RegistrationConfig(registry_url=registry.url))
    # The pipeline hands the registration to the deploy step as artifact metadata.
    handed_over = RegisteredModelVersion(**dataclasses.asdict(registered))

    with KubeApiDouble(crds) as double:
        monkeypatch.setenv("BRAKING_DEPLOY_KUBE_API_URL", double.url)
        monkeypatch.setenv("BRAKING_DEPLOY_KUBE_TOKEN", TOKEN)
        monkeypatch.setenv("BRAKING_DEPLOY_POLL_SECONDS", "0.01")
        config = DeployConfig(target=documented["deploy_target"])
        deployment = deploy_model(model_dir, config, registered=handed_over)

    isvc = double.objects[f"inferenceservices/braking/{MODEL_NAME}"]
    model = isvc["spec"]["predictor"]["model"]
    assert model["storage"] == {"key": "model-storage", "path": registered.storage_path}
    assert model["runtime"] == "kserve-ovms"
    assert s3_server.keys(s3_bucket)[0] == f"{registered.storage_path}/1/model.onnx"
    labels = isvc["metadata"]["labels"]
    assert labels["modelregistry.opendatahub.io/registered-model-id"] == (
        registered.registered_model_id
    )
    assert labels["modelregistry.opendatahub.io/model-version-id"] == registered.model_version_id
    assert labels["modelregistry.opendatahub.io/name"] == "braking-distance"
    assert isvc["metadata"]["annotations"]["security.opendatahub.io/enable-auth"] == "true"
    assert deployment.internal_url == (
        f"http://{MODEL_NAME}-predictor.braking.svc.cluster.local:8888/v2/models/{MODEL_NAME}"
    )


def test_local_deploy_loads_the_model_into_the_running_server(tmp_path, serving_model_dir):
    repository = tmp_path / "models"
    with running_server(ServerConfig(model_repository=repository)) as url:
        local = LocalServingTarget(server_url=url, repository=repository)
        config = DeployConfig(local=local, timeout_seconds=10)
        deployment = deploy_model(serving_model_dir, config, registered=Registered())
        assert deployment.url == f"{url}/v2/models/{MODEL_NAME}"
        assert deployment.version == "3"
        assert (repository / MODEL_NAME / "3" / ONNX_FILE).is_file()
        with InferenceClient(deployment.url) as client:
            amounts = client.predict(random_features(3))
            assert client.metadata()["versions"] == ["3"]
        assert amounts.shape == (3,) and np.isfinite(amounts).all()


def test_local_deploy_without_a_server_says_how_to_start_one(tmp_path, serving_model_dir):
    local = LocalServingTarget(server_url="http://127.0.0.1:9", repository=tmp_path)
    config = DeployConfig(local=local, timeout_seconds=1)
    with pytest.raises(DeployError, match="braking stack up"):
        deploy_model(serving_model_dir, config)


def test_each_part_reads_its_own_prefix_and_old_names_are_refused(monkeypatch):
    monkeypatch.setenv("BRAKING_DEPLOY_TARGET", "kserve")
    monkeypatch.setenv("BRAKING_DEPLOY_LOCAL_TOKEN", "local-token")
    monkeypatch.setenv("BRAKING_DEPLOY_KSERVE_RUNTIME", "braking-serving")
    monkeypatch.setenv("BRAKING_DEPLOY_KUBE_NAMESPACE", "braking")
    config = DeployConfig()
    assert (config.target, config.local.token) == ("kserve", "local-token")
    assert (config.kserve.runtime, config.kube.namespace) == ("braking-serving", "braking")
    monkeypatch.setenv("BRAKING_DEPLOY_NAMESPACE", "braking")
    monkeypatch.setenv("BRAKING_DEPLOY_RUNTIME", "braking-serving")
    with pytest.raises(ValueError) as refused:
        DeployConfig()
    assert (
        "BRAKING_DEPLOY_NAMESPACE -> BRAKING_DEPLOY_KUBE_NAMESPACE, "
        "BRAKING_DEPLOY_RUNTIME -> BRAKING_DEPLOY_KSERVE_RUNTIME"
    ) in str(refused.value)
