"""A minimal Kubernetes API client: enough to create, patch and watch custom resources.

Credentials are found the way kubectl finds them: explicit settings first, then the pod's
ServiceAccount (in-cluster), then the kubeconfig file (`$KUBECONFIG`, ~/.kube/config).
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path

import httpx
import yaml

from braking_common.credentials import (
    SERVICE_ACCOUNT_CA,
    SERVICE_ACCOUNT_NAMESPACE,
    SERVICE_ACCOUNT_TOKEN,
    read_token_file,
)
from braking_release.config import DeployConfig

MERGE_PATCH = "application/merge-patch+json"


class KubeConfigError(RuntimeError):
    """No usable Kubernetes credentials were found; the message says where we looked."""


class KubeApiError(RuntimeError):
    """The API server refused a request: HTTP status, reason and its message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"Kubernetes API {status} {reason}: {message}")
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class KubeConnection:
    """Where the API server is, how to trust it and how to authenticate."""

    api_url: str
    namespace: str
    token: str | None = None
    verify: ssl.SSLContext | bool = True


def _ssl_context(
    ca_file: str | None, ca_data: str | None, cert: tuple[str, str] | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=ca_file, cadata=ca_data)
    if cert:
        context.load_cert_chain(*cert)
    return context


def _from_kubeconfig(path: Path, context_name: str | None) -> KubeConnection:
    kubeconfig = yaml.safe_load(path.read_text())
    name = context_name or kubeconfig.get("current-context")
    by_name = {
        kind: {item["name"]: item[kind[:-1]] for item in kubeconfig.get(kind) or []}
        for kind in ("contexts", "clusters", "users")
    }
    if name not in by_name["contexts"]:
        raise KubeConfigError(f"context {name!r} not found in {path}")
    context = by_name["contexts"][name]
    cluster = by_name["clusters"][context["cluster"]]
    user = by_name["users"].get(context.get("user"), {})
    if "exec" in user or "auth-provider" in user:
        raise KubeConfigError(
            f"user {context.get('user')!r} in {path} uses an exec/auth-provider plugin; "
            "log in with a token (`oc login --token ...`) or set BRAKING_DEPLOY_KUBE_TOKEN"
        )
    verify: ssl.SSLContext | bool = True
    ca_data = cluster.get("certificate-authority-data")
    cert = None
    with tempfile.TemporaryDirectory() as scratch:  # ssl loads client keys from files only
        if "client-certificate-data" in user:
            cert = (Path(scratch) / "client.crt", Path(scratch) / "client.key")
            cert[0].write_bytes(base64.b64decode(user["client-certificate-data"]))
            cert[1].write_bytes(base64.b64decode(user["client-key-data"]))
        elif "client-certificate" in user:
            cert = (user["client-certificate"], user["client-key"])
        if cluster.get("insecure-skip-tls-verify"):
            verify = False
        elif ca_data or cluster.get("certificate-authority") or cert:
            ca_pem = base64.b64decode(ca_data).decode() if ca_data else None
            verify = _ssl_context(
                cluster.get("certificate-authority"),
                ca_pem,
                tuple(map(str, cert)) if cert else None,
            )
    token = user.get("token")
    if token is None and user.get("tokenFile"):
        token = read_token_file(user["tokenFile"])
    return KubeConnection(
        api_url=cluster["server"].rstrip("/"),
        namespace=context.get("namespace", "default"),
        token=token,
        verify=verify,
    )


def connect(config: DeployConfig) -> KubeConnection:
    """Resolve the API server and credentials from the settings, the pod, or kubeconfig."""
    if config.kube_api_url:
        verify = _ssl_context(str(config.kube_ca_bundle), None) if config.kube_ca_bundle else True
        return KubeConnection(
            config.kube_api_url.rstrip("/"),
            config.namespace or "default",
            config.kube_token,
            verify,
        )
    host = os.environ.get("KUBERNETES_SERVICE_HOST")
    token_file = SERVICE_ACCOUNT_TOKEN
    if host and token_file.is_file():
        port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
        namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
        return KubeConnection(
            f"https://{host}:{port}",
            config.namespace or namespace,
            config.kube_token or read_token_file(token_file),
            _ssl_context(str(SERVICE_ACCOUNT_CA), None),
        )
    path = (
        config.kubeconfig
        or Path(os.environ.get("KUBECONFIG", "~/.kube/config").split(os.pathsep)[0]).expanduser()
    )
    if not path.is_file():
        raise KubeConfigError(
            "no Kubernetes credentials: not in a pod, no kubeconfig at "
            f"{path}; set BRAKING_DEPLOY_KUBE_API_URL and BRAKING_DEPLOY_KUBE_TOKEN or log in"
        )
    connection = _from_kubeconfig(path, config.kube_context)
    overrides = {"namespace": config.namespace, "token": config.kube_token}
    return KubeConnection(
        **{**connection.__dict__, **{k: v for k, v in overrides.items() if v is not None}}
    )


class KubeClient:
    """JSON calls to the API server; errors become KubeApiError with the server's message."""

    def __init__(self, connection: KubeConnection, timeout: float = 30.0) -> None:
        self.connection = connection
        headers = {"Accept": "application/json", "User-Agent": "braking-distance/serving"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        self._http = httpx.Client(
            base_url=connection.api_url, headers=headers, verify=connection.verify, timeout=timeout
        )

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def _call(self, method: str, path: str, body: dict | None = None, content_type: str = ""):
        headers = {"Content-Type": content_type or "application/json"} if body is not None else {}
        response = self._http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            try:
                status = response.json()
                reason, message = status.get("reason", ""), status.get("message", response.text)
            except ValueError:
                reason, message = response.reason_phrase, response.text
            raise KubeApiError(response.status_code, reason, message)
        return response.json()

    def get(self, path: str) -> dict | None:
        """The object at `path`, or None when it does not exist."""
        try:
            return self._call("GET", path)
        except KubeApiError as error:
            if error.status == 404:
                return None
            raise

    def create(self, collection_path: str, body: dict) -> dict:
        """POST `body` to the collection at `collection_path`; returns the created object."""
        return self._call("POST", collection_path, body)

    def merge_patch(self, path: str, body: dict) -> dict:
        """Apply a JSON merge patch to the object at `path`; returns the patched object."""
        return self._call("PATCH", path, body, MERGE_PATCH)

    def apply(self, collection_path: str, manifest: dict) -> tuple[dict, bool]:
        """Create the object, or merge-patch it when it exists; returns (object, created)."""
        path = f"{collection_path}/{manifest['metadata']['name']}"
        if self.get(path) is None:
            return self.create(collection_path, manifest), True
        return self.merge_patch(path, manifest), False
