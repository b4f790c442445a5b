"""The workbenches chart renders dashboard-shaped, schema-valid Notebooks for any value set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from k8s_tools import K8sTools, ToolFailed
from manifest_validation import ManifestValidator

VALUE_SETS = {
    "defaults": (),
    "openshift-ai-3": ("openshift-ai-3.yaml",),
    "oauth-wheel-bootstrap": ("oauth-wheel-bootstrap.yaml",),
    "cluster-services": ("cluster-services.yaml",),
}
Render = Callable[..., list[dict[str, Any]]]
WEBHOOK_VOLUMES = {"oauth-config", "oauth-client", "tls-certificates", "kube-rbac-proxy-config"}


def notebooks(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == "Notebook"}


def container(notebook: dict[str, Any]) -> dict[str, Any]:
    (only,) = notebook["spec"]["template"]["spec"]["containers"]
    return only


def env(notebook: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container(notebook).get("env", [])}


@pytest.fixture(scope="module", params=list(VALUE_SETS))
def rendered(request: pytest.FixtureRequest, render: Render) -> list[dict[str, Any]]:
    return render(*VALUE_SETS[request.param])


def test_every_rendered_object_passes_strict_validation(
    namespace: str, rendered: list[dict[str, Any]], validator: ManifestValidator
) -> None:
    validator.validate_all(rendered)
    assert {d["kind"] for d in rendered} == {"Notebook", "PersistentVolumeClaim"}
    assert all(d["metadata"]["namespace"] == namespace for d in rendered)


def test_each_workbench_is_shaped_like_a_dashboard_workbench(
    namespace: str,
    rendered: list[dict[str, Any]],
) -> None:
    claims = {d["metadata"]["name"]: d for d in rendered if d["kind"] == "PersistentVolumeClaim"}
    assert set(claims) == set(notebooks(rendered))
    for name, notebook in notebooks(rendered).items():
        meta = notebook["metadata"]
        assert meta["labels"]["app"] == name
        assert meta["labels"]["opendatahub.io/dashboard"] == "true"
        assert meta["labels"]["opendatahub.io/odh-managed"] == "true"
        assert meta["annotations"]["openshift.io/display-name"]
        assert meta["annotations"]["opendatahub.io/image-display-name"]
        selection = meta["annotations"]["notebooks.opendatahub.io/last-image-selection"]
        main = container(notebook)
        assert main["name"] == name, "OpenShift AI resolves the image of the container so named"
        assert main["image"].endswith("/" + selection)
        assert env(notebook)["JUPYTER_IMAGE"] == main["image"]
        base_url = f"/notebook/{namespace}/{name}"
        assert f"--ServerApp.base_url={base_url}" in env(notebook)["NOTEBOOK_ARGS"]
        for probe in ("livenessProbe", "readinessProbe"):
            assert main[probe]["httpGet"]["path"] == f"{base_url}/api"
            assert main[probe]["httpGet"]["port"] == "notebook-port"
        assert main["ports"] == [
            {"name": "notebook-port", "containerPort": 8888, "protocol": "TCP"}
        ]
        assert main["workingDir"] == "/opt/app-root/src"
        mounts = {m["mountPath"]: m["name"] for m in main["volumeMounts"]}
        assert mounts.items() >= {"/opt/app-root/src": name, "/dev/shm": "shm"}.items()
        assert all(
            path.startswith("/opt/app-root/ca/")
            for path in mounts.keys() - {"/opt/app-root/src", "/dev/shm"}
        ), "besides its volume and shm a workbench mounts only CA bundles"
        pod = notebook["spec"]["template"]["spec"]
        volumes = {v["name"]: v for v in pod["volumes"]}
        assert volumes[name]["persistentVolumeClaim"]["claimName"] == name
        assert volumes["shm"]["emptyDir"] == {"medium": "Memory"}
        assert pod["enableServiceLinks"] is False
        security = main["securityContext"]
        assert security["runAsNonRoot"] is True
        assert security["allowPrivilegeEscalation"] is False
        assert security["capabilities"]["drop"] == ["ALL"]
        assert "runAsUser" not in security, "OpenShift assigns the UID (restricted SCC)"
        assert claims[name]["metadata"]["labels"]["opendatahub.io/dashboard"] == "true"
        keep = claims[name]["metadata"]["annotations"]["helm.sh/resource-policy"]
        assert keep == "keep", "disabling a workbench must not delete its files"
        assert main["resources"]["requests"] and main["resources"]["limits"]


def test_nothing_the_openshift_ai_webhook_injects_is_templated(
    rendered: list[dict[str, Any]], chart: Path
) -> None:
    for notebook in notebooks(rendered).values():
        pod = notebook["spec"]["template"]["spec"]
        assert len(pod["containers"]) == 1, "the auth proxy sidecar is injected, not templated"
        assert "serviceAccountName" not in pod
        assert not WEBHOOK_VOLUMES & {v["name"] for v in pod["volumes"]}
        assert "kubeflow-resource-stopped" not in notebook["metadata"]["annotations"]
    templates = " ".join(p.read_text() for p in (chart / "templates").iterdir())
    assert "lookup" not in templates, "lookup renders nothing under helm template / GitOps"


def test_default_values_install_the_two_application_workbenches(
    namespace: str, render: Render
) -> None:
    docs = notebooks(render())
    assert set(docs) == {"data-generation", "build-model"}
    for notebook in docs.values():
        annotations = notebook["metadata"]["annotations"]
        assert annotations["notebooks.opendatahub.io/inject-oauth"] == "true"
        assert container(notebook)["envFrom"] == [{"secretRef": {"name": "model-storage"}}]
        assert env(notebook)["BRAKING_DSPA_HOST"] == (
            f"https://ds-pipeline-dspa.{namespace}.svc.cluster.local:8443"
        )
        assert "lifecycle" not in container(notebook), "no bootstrap without bootstrap.package"


def test_workbenches_are_added_disabled_and_overridden_through_values(render: Render) -> None:
    docs = render(*VALUE_SETS["openshift-ai-3"])
    found = notebooks(docs)
    assert set(found) == {"build-model", "serving-lab"}
    lab = found["serving-lab"]
    assert lab["metadata"]["annotations"]["notebooks.opendatahub.io/inject-auth"] == "true"
    assert "notebooks.opendatahub.io/inject-oauth" not in lab["metadata"]["annotations"]
    assert container(lab)["image"] == (
        "image-registry.openshift-image-registry.svc:5000/braking-dev/braking-workbench:0.1.0"
    )
    annotations = lab["metadata"]["annotations"]
    assert annotations["opendatahub.io/workbench-image-namespace"] == "braking-dev"
    assert container(lab)["resources"] == {
        "requests": {"cpu": "500m", "memory": "2Gi"},
        "limits": {"cpu": "1", "memory": "2Gi"},
    }
    assert [c["secretRef"]["name"] for c in container(lab)["envFrom"]] == [
        "model-storage",
        "pipeline-artifacts",
    ]
    assert env(lab)["BRAKING_LOG_LEVEL"] == "INFO"
    assert lab["metadata"]["labels"]["opendatahub.io/user"] == "kube-3aadmin"
    assert '"hub_prefix":"/projects/braking-dev"' in env(lab)["NOTEBOOK_ARGS"]
    claim = next(
        d
        for d in docs
        if d["kind"] == "PersistentVolumeClaim" and d["metadata"]["name"] == "serving-lab"
    )
    assert claim["spec"]["storageClassName"] == "gp3-csi"
    assert claim["spec"]["resources"]["requests"]["storage"] == "1Gi"


def test_oauth_logout_and_gpu_limits(namespace: str, render: Render) -> None:
    found = notebooks(render(*VALUE_SETS["oauth-wheel-bootstrap"]))
    build = found["build-model"]
    annotations = build["metadata"]["annotations"]
    assert annotations["notebooks.opendatahub.io/oauth-logout-url"] == (
        "https://rhods-dashboard-redhat-ods-applications.apps.cluster.example.com"
        f"/projects/{namespace}?notebookLogout=build-model"
    )
    assert build["metadata"]["labels"]["opendatahub.io/user"] == "alice-40example-2ecom"
    assert container(build)["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert container(build)["imagePullPolicy"] == "IfNotPresent"
    assert "BRAKING_DSPA_HOST" not in env(build)


def test_helm_lint_strict_passes(values_dir: Path, k8s_tools: K8sTools, chart: Path) -> None:
    for values in (
        [],
        *[[f"--values={values_dir / f}" for f in files] for files in VALUE_SETS.values()],
    ):
        out = k8s_tools.helm_lint(chart, "--strict", *values)
        assert "0 chart(s) failed" in out


@pytest.mark.parametrize(
    ("values_file", "field", "detail"),
    [
        ("bad-resources.yaml", "/workbenches/build-model/resources/limits/cpu", "'lots'"),
        ("bad-image-tag.yaml", "/image/tag", "got number, want string"),
    ],
)
def test_bad_values_file_is_rejected_naming_the_field(
    render: Render, values_file: str, field: str, detail: str
) -> None:
    with pytest.raises(ToolFailed) as raised:
        render(values_file)
    assert f"at '{field}'" in str(raised.value)
    assert detail in str(raised.value)


@pytest.mark.parametrize(
    ("setting", "named"),
    [
        ("image.tagg=2025.1", "tagg"),
        ("auth=oauth", "/auth"),
        ("auth=none", "/auth"),  # Jupyter without token or password holding S3 keys
        ("modelRegistry.url=braking-registry:8080", "/modelRegistry/url"),
        ("modelRegistry.url=https://registry.example.com:8443", "/modelRegistry/url"),
        ("endpoint.url=https://host/v1/models/x", "/endpoint/url"),
        ("workbenches.Build_Model.enabled=true", "Build_Model"),
        ("workbenches.build-model.storage.size=big", "/workbenches/build-model/storage/size"),
        (
            "workbenches.build-model.connections[0]=My Secret",
            "/workbenches/build-model/connections/0",
        ),
        ("bootstrap.package=--index-url=http://evil", "/bootstrap/package"),
        ("dashboardUrl=http://dashboard", "/dashboardUrl"),
        ("workbenches.build-model.enabled=maybe", "/workbenches/build-model/enabled"),
    ],
)
def test_bad_values_are_rejected_naming_the_field(render: Render, setting: str, named: str) -> None:
    with pytest.raises(ToolFailed, match="schema") as raised:
        render(sets=(setting,))
    assert named in str(raised.value)


def test_default_connections_are_ones_the_pipeline_server_generates(
    render: Render, repo_root: Path
) -> None:
    """A workbench whose envFrom names a missing Secret never starts."""
    generator = yaml.safe_load(
        (repo_root / "pipeline-server/connections/kustomization.yaml").read_text()
    )
    generated = {g["name"] for g in generator["secretGenerator"]}
    attached = {
        ref["secretRef"]["name"]
        for notebook in notebooks(render()).values()
        for ref in container(notebook).get("envFrom", [])
    }
    assert attached and attached <= generated
