"""The pipeline-server overlays render with real kustomize and pass strict schema validation."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from crd_schema import CrdSchemas
from k8s_tools import K8sTools, ToolFailed
from manifest_validation import ManifestValidator, load_documents

OVERLAYS = ["default", "development", "production"]
REGISTRY_NAMESPACE = "rhoai-model-registries"
REGISTRY_DATABASE_KINDS = {"Deployment", "Service", "PersistentVolumeClaim"}


def render(k8s_tools: K8sTools, folder: Path) -> list[dict[str, Any]]:
    return load_documents(k8s_tools.kustomize(folder))


def settings(overlay: Path) -> dict[str, str]:
    lines = (overlay / "settings.env").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if line.strip() and not line.startswith("#")]
    return {key: value for key, value in pairs}


def project_namespace(overlay: Path) -> str:
    return yaml.safe_load((overlay / "project" / "kustomization.yaml").read_text())["namespace"]


def one(docs: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    assert len(found) == 1, f"expected one {kind} {name or ''}, found {len(found)}"
    return found[0]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest, pipeline_server: Path) -> Path:
    return pipeline_server / "overlays" / request.param


@pytest.fixture(scope="module")
def rendered(k8s_tools: K8sTools, overlay: Path) -> list[dict[str, Any]]:
    return render(k8s_tools, overlay)


def test_overlay_passes_strict_schema_validation(
    rendered: list[dict[str, Any]], validator: ManifestValidator
) -> None:
    validator.validate_all(rendered)
    kinds = {d["kind"] for d in rendered}
    assert kinds >= {"DataSciencePipelinesApplication", "ModelRegistry", "Namespace", "Role"}
    assert kinds <= {
        *REGISTRY_DATABASE_KINDS,
        "DataSciencePipelinesApplication",
        "ModelRegistry",
        "Namespace",
        "Role",
        "RoleBinding",
    }


def test_every_setting_placeholder_is_filled(rendered: list[dict[str, Any]]) -> None:
    text = yaml.safe_dump_all(rendered)
    assert "set-by-settings" not in text
    assert "braking-platform-settings" not in text, "the settings ConfigMap must not be applied"


def test_dspa_takes_storage_from_the_overlay_settings(
    rendered: list[dict[str, Any]], overlay: Path
) -> None:
    wanted = settings(overlay)
    dspa = one(rendered, "DataSciencePipelinesApplication")
    spec = dspa["spec"]
    assert dspa["metadata"]["name"] == "dspa"  # the name OpenShift AI workbenches look for
    assert spec["dspVersion"] == "v2"
    assert spec["apiServer"]["cacheEnabled"] is True
    assert spec["podToPodTLS"] is True, "set explicitly, not left to the operator's default"
    assert spec["persistenceAgent"]["deploy"] is True
    assert spec["scheduledWorkflow"]["cronScheduleTimezone"] == wanted["CRON_TIMEZONE"]
    assert spec["database"]["mariaDB"]["pvcSize"] == wanted["PIPELINE_DB_SIZE"]
    storage = spec["objectStorage"]["externalStorage"]
    assert storage["host"] == wanted["S3_HOST"]
    assert "://" not in storage["host"], "DSPA wants the host without scheme"
    assert (storage["scheme"], storage["port"]) == (wanted["S3_SCHEME"], wanted["S3_PORT"])
    assert (storage["bucket"], storage["region"]) == (wanted["S3_BUCKET"], wanted["S3_REGION"])
    assert storage["s3CredentialsSecret"] == {
        "secretName": "pipeline-artifacts",
        "accessKey": "AWS_ACCESS_KEY_ID",
        "secretKey": "AWS_SECRET_ACCESS_KEY",
    }


def test_the_default_overlay_is_the_planned_pipeline_server(
    k8s_tools: K8sTools, pipeline_server: Path, validator: ManifestValidator
) -> None:
    docs = render(k8s_tools, pipeline_server / "overlays" / "default")
    validator.validate_all(docs)
    dspa = one(docs, "DataSciencePipelinesApplication")
    spec = dspa["spec"]
    assert dspa["metadata"]["namespace"] == "distance-prediction"
    assert spec["dspVersion"] == "v2"
    assert (spec["apiServer"]["enableOauth"], spec["apiServer"]["cacheEnabled"]) == (True, True)
    assert spec["database"]["mariaDB"]["deploy"] is True
    assert spec["database"]["mariaDB"]["pvcSize"] == "10Gi"
    assert spec["objectStorage"]["externalStorage"]["bucket"] == "pipeline-artifacts"
    assert "minio" not in spec["objectStorage"], "external S3, not an operator-deployed MinIO"
    assert spec["persistenceAgent"] == {"deploy": True, "numWorkers": 2}
    assert spec["scheduledWorkflow"] == {"deploy": True, "cronScheduleTimezone": "UTC"}
    assert spec["podToPodTLS"] is True


def test_project_objects_live_in_the_overlay_namespace(
    rendered: list[dict[str, Any]], overlay: Path
) -> None:
    namespace = project_namespace(overlay)
    assert one(rendered, "Namespace")["metadata"]["name"] == namespace
    registry_side = {
        "braking-distance",
        f"{namespace}.pipeline-runner-dspa",
        "braking-registry-mysql",
    }
    for doc in rendered:
        meta = doc["metadata"]
        if doc["kind"] != "Namespace":
            in_registry = meta["name"] in registry_side
            assert meta["namespace"] == (REGISTRY_NAMESPACE if in_registry else namespace), meta
    runners = [
        s
        for d in rendered
        if d["kind"] == "RoleBinding"
        for s in d["subjects"]
        if s["name"] == "pipeline-runner-dspa"
    ]
    assert len(runners) == 2
    assert all(s["namespace"] == namespace for s in runners)


def test_pipeline_runner_may_use_the_registry_and_deploy_models(
    rendered: list[dict[str, Any]], overlay: Path
) -> None:
    registry = one(rendered, "ModelRegistry")
    assert registry["apiVersion"] == "modelregistry.opendatahub.io/v1beta1"
    access = one(rendered, "RoleBinding", f"{project_namespace(overlay)}.pipeline-runner-dspa")
    assert access["roleRef"]["name"] == f"registry-user-{registry['metadata']['name']}"
    assert registry["spec"]["mysql"]["passwordSecret"] == {
        "name": "braking-registry-db",
        "key": "database-password",
    }
    assert registry["spec"]["mysql"]["host"] == settings(overlay)["REGISTRY_DB_HOST"]
    role = one(rendered, "Role", "braking-model-deployer")
    granted = {
        (res, verb) for rule in role["rules"] for res in rule["resources"] for verb in rule["verbs"]
    }
    for resource in ("inferenceservices", "servingruntimes"):
        assert {(resource, "create"), (resource, "patch"), (resource, "get")} <= granted
    binding = one(rendered, "RoleBinding", "braking-model-deployer")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]


def test_development_brings_its_own_registry_database(
    k8s_tools: K8sTools, pipeline_server: Path
) -> None:
    overlay = pipeline_server / "overlays" / "development"
    docs = render(k8s_tools, overlay)
    wanted = settings(overlay)
    registry = one(docs, "ModelRegistry")["spec"]["mysql"]
    service = one(docs, "Service", "braking-registry-mysql")
    assert registry["host"] == service["metadata"]["name"], "same namespace: the short name works"
    assert registry["port"] == service["spec"]["ports"][0]["port"]
    mysql = one(docs, "Deployment", "braking-registry-mysql")["spec"]["template"]["spec"]
    (container,) = mysql["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MYSQL_USER"]["value"] == registry["username"] == wanted["REGISTRY_DB_USER"]
    assert env["MYSQL_DATABASE"]["value"] == registry["database"] == wanted["REGISTRY_DB_NAME"]
    secret_ref = env["MYSQL_PASSWORD"]["valueFrom"]["secretKeyRef"]
    assert secret_ref == {"name": "braking-registry-db", "key": "database-password"}
    assert registry["passwordSecret"] == secret_ref
    # The server's default authentication (caching_sha2_password on MySQL 8): the deprecated
    # mysql_native_password plugin is off by default from 8.4 and gone in 9.
    assert "MYSQL_DEFAULT_AUTHENTICATION_PLUGIN" not in env
    assert "native_password" not in str(container)
    claim = one(docs, "PersistentVolumeClaim", "braking-registry-mysql")
    assert claim["spec"]["resources"]["requests"]["storage"] == wanted["REGISTRY_DB_SIZE"]
    assert ":latest" not in container["image"] and ":" in container["image"]
    production = render(k8s_tools, pipeline_server / "overlays" / "production")
    assert not [d for d in production if d["kind"] in REGISTRY_DATABASE_KINDS]


def test_registry_is_valid_against_its_crd_when_the_reference_has_it(
    rendered: list[dict[str, Any]], shared_reference: Path
) -> None:
    crds = CrdSchemas.from_paths([shared_reference / "crds"])
    registry = one(rendered, "ModelRegistry")
    if not crds.handles(registry):
        pytest.skip(
            f"{shared_reference / 'crds'} has no ModelRegistry CRD "
            "(modelregistry.opendatahub.io): its fields are checked by the tests above"
        )
    crds.validate(registry)


def test_namespace_is_an_openshift_ai_project(rendered: list[dict[str, Any]]) -> None:
    namespace = one(rendered, "Namespace")["metadata"]
    assert namespace["labels"]["opendatahub.io/dashboard"] == "true"
    assert namespace["labels"]["modelmesh-enabled"] == "false"
    assert namespace["annotations"]["openshift.io/display-name"]


def test_production_trusts_a_private_s3_ca_and_development_does_not(
    k8s_tools: K8sTools, pipeline_server: Path
) -> None:
    def api_server(name: str) -> dict[str, Any]:
        docs = render(k8s_tools, pipeline_server / "overlays" / name)
        return one(docs, "DataSciencePipelinesApplication")["spec"]["apiServer"]

    assert api_server("production")["cABundle"] == {
        "configMapName": "s3-ca-bundle",
        "configMapKey": "ca.crt",
    }
    assert "cABundle" not in api_server("development")


def test_namespace_and_storage_change_in_one_place(
    k8s_tools: K8sTools, pipeline_server: Path, tmp_path: Path
) -> None:
    """Editing project/kustomization.yaml and settings.env moves everything, nothing else."""
    copy = tmp_path / "pipeline-server"
    shutil.copytree(pipeline_server, copy)
    overlay = copy / "overlays" / "development"
    kustomization = overlay / "project" / "kustomization.yaml"
    kustomization.write_text(kustomization.read_text().replace("braking-dev", "team-a"))
    env = overlay / "settings.env"
    env.write_text(
        env.read_text()
        .replace("minio.minio.svc.cluster.local", "s3.team-a.example.org")
        .replace("PIPELINE_DB_SIZE=5Gi", "PIPELINE_DB_SIZE=42Gi")
    )
    docs = render(k8s_tools, overlay)
    text = yaml.safe_dump_all(docs)
    assert "braking-dev" not in text and "minio.minio" not in text
    dspa = one(docs, "DataSciencePipelinesApplication")
    assert dspa["metadata"]["namespace"] == "team-a"
    assert dspa["spec"]["objectStorage"]["externalStorage"]["host"] == "s3.team-a.example.org"
    assert dspa["spec"]["database"]["mariaDB"]["pvcSize"] == "42Gi"
    assert one(docs, "RoleBinding", "team-a.pipeline-runner-dspa")["subjects"][0]["namespace"] == (
        "team-a"
    )


@pytest.mark.parametrize("overlay_name", OVERLAYS)
def test_no_namespace_or_host_is_repeated_across_files(
    pipeline_server: Path, overlay_name: str
) -> None:
    overlay = pipeline_server / "overlays" / overlay_name
    values = [project_namespace(overlay), settings(overlay)["S3_HOST"]]
    files = [p for p in pipeline_server.rglob("*") if p.is_file()]
    for value in values:
        holders = [p.relative_to(pipeline_server) for p in files if value in p.read_text()]
        holders = [p for p in holders if p.suffix != ".md"]  # the README may quote examples
        # Environments may share a value (the same S3), but each writes it once, and only in
        # its own overlay.
        own = [p for p in holders if p.parts[:2] == ("overlays", overlay_name)]
        assert len(own) == 1, f"{value!r} is written in {holders}"
        assert all(p.parts[0] == "overlays" for p in holders), f"{value!r} is in {holders}"


def test_connections_render_as_dashboard_data_connections(
    k8s_tools: K8sTools, pipeline_server: Path, validator: ManifestValidator, tmp_path: Path
) -> None:
    """The Secret generator works once the user copies the examples to *.env files."""
    copy = tmp_path / "connections"
    shutil.copytree(pipeline_server / "connections", copy)
    for example in copy.glob("*.env.example"):
        shutil.copy(example, copy / example.name.removesuffix(".example"))
    docs = render(k8s_tools, copy)
    validator.validate_all(docs)
    assert sorted(d["metadata"]["name"] for d in docs) == ["model-storage", "pipeline-artifacts"]
    for secret in docs:
        meta = secret["metadata"]
        assert "namespace" not in meta, "the namespace comes from `oc apply -n`"
        assert meta["labels"] == {
            "opendatahub.io/dashboard": "true",
            "opendatahub.io/managed": "true",
        }
        assert meta["annotations"]["opendatahub.io/connection-type"] == "s3"
        assert meta["annotations"]["opendatahub.io/connection-type-ref"] == "s3"
        assert meta["annotations"]["openshift.io/display-name"]
        assert set(secret["data"]) == {
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_DEFAULT_REGION",
            "AWS_S3_BUCKET",
            "AWS_S3_ENDPOINT",
        }


def test_connections_refuse_to_render_without_the_users_env_files(
    k8s_tools: K8sTools, pipeline_server: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "connections"
    shutil.copytree(pipeline_server / "connections", copy, ignore=shutil.ignore_patterns("*.env"))
    with pytest.raises(ToolFailed, match=r"pipeline-artifacts\.env"):
        k8s_tools.kustomize(copy)
