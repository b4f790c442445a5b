"""Each workbench is wired to the project's services: every variable the notebooks and the
library read for cluster use is set, and the settings objects built from it point there."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from braking_pipelines.config import DspaConfig, PipelineConfig
from braking_release.config import RegistrationConfig, S3Connection

from .test_workbench_chart import Render, container, notebooks

SERVICES_VALUES = "cluster-services.yaml"
# What the notebooks read that is the same on a laptop and on the cluster (sizes, seeds,
# paths on the workbench volume, the shared model name) or optional (a schedule).
NOT_CLUSTER_SETTINGS = {
    "BRAKING_DATA_ROWS",
    "BRAKING_DATA_SEED",
    "BRAKING_DATA_OUTPUT",
    "BRAKING_MODEL_DIR",
    "BRAKING_DSPA_CRON",
    "BRAKING_REGISTRATION_MODEL_NAME",
}
# What the library reads to reach the cluster's services, by settings object.
LIBRARY_CLUSTER_FIELDS: dict[type[BaseSettings], tuple[str, ...]] = {
    RegistrationConfig: (
        "registry_url",
        "is_secure",
        "token_file",
        "custom_ca",
        "storage",
        "storage_key",
    ),
    # The model-storage data connection, read under the Secret's own keys (envFrom).
    S3Connection: ("s3_endpoint", "s3_bucket", "access_key_id", "secret_access_key"),
    DspaConfig: ("host", "namespace"),
    PipelineConfig: ("base_image", "registry_url", "deploy_target"),
}


def env_names(settings: type[BaseSettings], fields: tuple[str, ...]) -> set[str]:
    prefix = settings.model_config.get("env_prefix", "")
    assert set(fields) <= set(settings.model_fields), f"{settings.__name__} lost a field"
    return {f"{prefix}{field}".upper() for field in fields}


def notebook_env_names(repo_root: Path) -> set[str]:
    names: set[str] = set()
    for path in sorted((repo_root / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
        names |= set(re.findall(r"os\.environ(?:\.get\(|\[)\s*[\"']([A-Z0-9_]+)", code))
    return names


def connection_secret(repo_root: Path) -> dict[str, str]:
    example = repo_root / "pipeline-server/connections/model-storage.env.example"
    lines = [line for line in example.read_text().splitlines() if "=" in line]
    return dict(line.split("=", 1) for line in lines if not line.startswith("#"))


def pod_env(notebook: dict[str, Any], secrets: dict[str, dict[str, str]]) -> dict[str, str]:
    """The environment the kubelet gives the container: envFrom Secrets, then env."""
    main = container(notebook)
    resolved: dict[str, str] = {}
    for source in main.get("envFrom", []):
        resolved |= secrets[source["secretRef"]["name"]]
    for item in main.get("env", []):
        if "valueFrom" in item:
            ref = item["valueFrom"]["secretKeyRef"]
            resolved[item["name"]] = secrets[ref["name"]][ref["key"]]
        else:
            resolved[item["name"]] = item["value"]
    return resolved


@pytest.fixture(scope="module")
def wired(render: Render) -> dict[str, dict[str, Any]]:
    return notebooks(render(SERVICES_VALUES))


def test_every_cluster_variable_of_the_notebooks_and_the_library_is_set(
    wired: dict[str, dict[str, Any]], repo_root: Path
) -> None:
    read_by_notebooks = notebook_env_names(repo_root)
    assert {"BRAKING_DSPA_HOST", "BRAKING_PREDICT_URL"} <= read_by_notebooks, "regex broke"
    wanted = read_by_notebooks - NOT_CLUSTER_SETTINGS
    for settings, fields in LIBRARY_CLUSTER_FIELDS.items():
        wanted |= env_names(settings, fields)
    secrets = {"model-storage": connection_secret(repo_root)}
    for name, notebook in wired.items():
        missing = wanted - pod_env(notebook, secrets).keys()
        assert not missing, f"workbench {name} does not set {sorted(missing)}"


def test_the_settings_built_in_a_workbench_point_at_the_projects_services(
    wired: dict[str, dict[str, Any]],
    repo_root: Path,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secret = connection_secret(repo_root)
    environment = pod_env(wired["build-model"], {"model-storage": secret})
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    registry = RegistrationConfig()
    assert (registry.registry_url, registry.is_secure) == (
        "https://braking-registry-rest.apps.cluster.example.com:443",
        True,
    )
    assert registry.token_file == Path("/var/run/secrets/kubernetes.io/serviceaccount/token")
    assert registry.custom_ca == Path("/opt/app-root/ca/registry/ca.crt")
    assert (registry.storage, registry.storage_key) == ("s3", "model-storage")
    connection = S3Connection()
    assert (connection.s3_bucket, connection.s3_endpoint) == (
        secret["AWS_S3_BUCKET"],
        secret["AWS_S3_ENDPOINT"],
    )
    dspa = DspaConfig()
    assert dspa.host == f"https://ds-pipeline-dspa.{namespace}.svc.cluster.local:8443"
    assert dspa.namespace == namespace
    pipeline = PipelineConfig()
    assert pipeline.base_image == "quay.io/example/braking-distance:0.1.0"
    assert (pipeline.registry_url, pipeline.deploy_target) == (
        registry.registry_url,
        "kserve",
    )
    assert environment["BRAKING_PREDICT_URL"].endswith("/v2/models/braking-distance")
    assert environment["BRAKING_PREDICT_CA_BUNDLE"] == "/opt/app-root/ca/endpoint/ca.crt"


def test_ca_bundles_are_mounted_where_the_settings_point(
    wired: dict[str, dict[str, Any]],
) -> None:
    pod = wired["build-model"]["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m["mountPath"] for m in container(wired["build-model"])["volumeMounts"]}
    assert volumes["registry-ca"]["configMap"] == {
        "name": "registry-ca",
        "items": [{"key": "ca.crt", "path": "ca.crt"}],
    }
    assert volumes["endpoint-ca"]["configMap"]["items"] == [
        {"key": "ca-bundle.crt", "path": "ca.crt"}
    ]
    assert mounts["registry-ca"] == "/opt/app-root/ca/registry"
    assert mounts["endpoint-ca"] == "/opt/app-root/ca/endpoint"


def test_unset_services_leave_the_notebooks_on_their_local_defaults(render: Render) -> None:
    for notebook in notebooks(render()).values():
        names = {e["name"] for e in container(notebook)["env"]}
        assert not names & {"BRAKING_REGISTRATION_REGISTRY_URL", "BRAKING_PREDICT_URL"}
        assert "volumes" in notebook["spec"]["template"]["spec"]
        assert not [m for m in container(notebook)["volumeMounts"] if "/ca/" in m["mountPath"]]
