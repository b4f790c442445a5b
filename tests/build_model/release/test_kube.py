"""The official Kubernetes client, configured the ways users log in, against the API double."""

from __future__ import annotations

import base64
import json
import shutil
import sys
import textwrap

import pytest
import yaml
from crd_schema import CrdSchemas
from registry_fixtures import self_signed_certificate

from braking_release.config import ClusterAccess, KServeTarget
from braking_release.kube import KubeApiError, KubeClient, KubeConfigError, connect
from braking_release.manifests import serving_runtime

from .kube_double import TOKEN, KubeApiDouble


@pytest.fixture(scope="module")
def crds(shared_reference) -> CrdSchemas:
    folder = shared_reference / "crds"
    return CrdSchemas.from_paths([folder / "servingruntimes.serving.kserve.io.yaml"])


@pytest.fixture
def no_pod(monkeypatch):
    """Outside a pod: credentials come from the kubeconfig."""
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)


def _kubeconfig(tmp_path, server: str, user: dict, namespace: str = "braking") -> str:
    path = tmp_path / "kubeconfig"
    context = {"cluster": "c", "user": "u", "namespace": namespace}
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "dev",
                "contexts": [{"name": "dev", "context": context}],
                "clusters": [{"name": "c", "cluster": {"server": server}}],
                "users": [{"name": "u", "user": user}],
            }
        )
    )
    return str(path)


def _apply_runtime(connection) -> dict:
    kube = KubeClient(connection)
    try:
        return kube.apply(serving_runtime(KServeTarget(), connection.namespace), "servingruntimes")
    finally:
        kube.close()


def test_an_exec_plugin_kubeconfig_logs_in_with_the_plugins_token(
    crds, tmp_path, monkeypatch, no_pod
):
    # What `oc login` with OIDC or a cloud CLI writes: kubectl runs a command for a token.
    plugin = tmp_path / "credential-plugin.py"
    plugin.write_text(
        textwrap.dedent(
            f"""
            import json, os
            assert json.loads(os.environ["KUBERNETES_EXEC_INFO"])["kind"] == "ExecCredential"
            print(json.dumps({{
                "apiVersion": "client.authentication.k8s.io/v1beta1",
                "kind": "ExecCredential",
                "status": {{"token": "{TOKEN}"}},
            }}))
            """
        )
    )
    exec_user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": [str(plugin)],
            "interactiveMode": "Never",
        }
    }
    with KubeApiDouble(crds) as double:
        monkeypatch.setenv("KUBECONFIG", _kubeconfig(tmp_path, double.url, exec_user))
        connection = connect(ClusterAccess())
        applied = _apply_runtime(connection)
    assert connection.namespace == "braking"
    assert applied["metadata"]["managedFields"][0]["manager"] == "braking-distance"
    assert double.objects["servingruntimes/braking/kserve-ovms"]["kind"] == "ServingRuntime"


def test_an_oidc_auth_provider_kubeconfig_sends_its_id_token(crds, tmp_path, monkeypatch, no_pod):
    # What older `oc`/`kubectl` OIDC logins write: the id-token (a JWT) in the kubeconfig.
    def part(claims: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    id_token = ".".join(
        [part({"alg": "RS256"}), part({"sub": "alice", "exp": 4_102_444_800}), "signature"]
    )
    user = {"auth-provider": {"name": "oidc", "config": {"id-token": id_token}}}
    with KubeApiDouble(crds, tokens=(id_token,)) as double:
        monkeypatch.setenv("KUBECONFIG", _kubeconfig(tmp_path, double.url, user))
        _apply_runtime(connect(ClusterAccess()))
    assert "servingruntimes/braking/kserve-ovms" in double.objects


def test_a_failing_exec_plugin_is_reported(crds, tmp_path, monkeypatch, no_pod):
    exec_user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": sys.executable,
            "args": ["-c", "import sys; sys.exit('login expired')"],
        }
    }
    monkeypatch.setenv("KUBECONFIG", _kubeconfig(tmp_path, "http://127.0.0.1:9", exec_user))
    with pytest.raises(KubeConfigError, match="login expired"):
        connect(ClusterAccess())


def test_a_token_kubeconfig_with_the_context_and_namespace_from_settings(
    crds, tmp_path, monkeypatch, no_pod
):
    with KubeApiDouble(crds) as double:
        path = _kubeconfig(tmp_path, double.url, {"token": TOKEN}, namespace="other")
        connection = connect(ClusterAccess(config_file=path, context="dev", namespace="braking"))
        _apply_runtime(connection)
    assert "servingruntimes/braking/kserve-ovms" in double.objects


def test_an_unknown_context_names_the_context(tmp_path, no_pod):
    path = _kubeconfig(tmp_path, "http://127.0.0.1:9", {"token": TOKEN})
    with pytest.raises(KubeConfigError, match="context 'prod' not found"):
        connect(ClusterAccess(config_file=path, context="prod"))


def test_without_credentials_says_how_to_log_in(tmp_path, monkeypatch, no_pod):
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "missing"))
    with pytest.raises(KubeConfigError, match="oc login"):
        connect(ClusterAccess())


def test_in_a_pod_the_service_account_is_used_over_tls(crds, tmp_path, monkeypatch):
    certificate, key = self_signed_certificate(tmp_path)
    account = tmp_path / "serviceaccount"
    account.mkdir()
    (account / "token").write_text(TOKEN)
    (account / "namespace").write_text("distance-prediction")
    shutil.copy(certificate, account / "ca.crt")  # the cluster CA the pod trusts
    with KubeApiDouble(crds, tls=(certificate, key)) as double:
        monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1")
        monkeypatch.setenv("KUBERNETES_SERVICE_PORT", str(double.port))
        connection = connect(ClusterAccess(), account_dir=account)
        _apply_runtime(connection)
    assert connection.namespace == "distance-prediction"
    assert "servingruntimes/distance-prediction/kserve-ovms" in double.objects


def test_an_invalid_object_is_refused_with_the_schema_error(crds):
    with KubeApiDouble(crds) as double:
        connection = connect(ClusterAccess(api_url=double.url, token=TOKEN))
        runtime = serving_runtime(KServeTarget(), "braking")
        runtime["spec"]["containers"] = "not-a-list"
        with pytest.raises(KubeApiError, match="422 Invalid"):
            KubeClient(connection).apply(runtime, "servingruntimes")
    assert "servingruntimes/braking/kserve-ovms" not in double.objects


def test_an_unreachable_api_server_is_one_error(crds):
    connection = connect(ClusterAccess(api_url="http://127.0.0.1:9", token=TOKEN))
    connection.api_client.configuration.retries = 0
    with pytest.raises(KubeApiError, match="Unreachable"):
        KubeClient(connection).apply(serving_runtime(KServeTarget(), "braking"), "servingruntimes")
