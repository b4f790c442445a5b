"""Kubernetes API access through the official `kubernetes` client.

Credentials are found the way kubectl finds them: explicit settings first, then the pod's
ServiceAccount (in-cluster), then the kubeconfig (`$KUBECONFIG`, ~/.kube/config), which may
log in through an exec plugin (`oc login` with OIDC, cloud CLIs) or an auth provider.

Objects are written with server-side apply under one field manager, so re-deploying is one
idempotent PATCH, and a field dropped from the manifest is dropped from the object. Waiting
is a watch: the API server pushes each change instead of being polled.

The `kubernetes` package takes a second or more to import (its generated models); it is
imported only when a connection is made, so `braking --help` does not pay for it.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from braking_common.credentials import SERVICE_ACCOUNT_DIR
from braking_release.config import ClusterAccess

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

FIELD_MANAGER = "braking-distance"
APPLY_PATCH = "application/apply-patch+yaml"
T = TypeVar("T")


class KubeConfigError(RuntimeError):
    """No usable Kubernetes credentials were found; the message says where we looked."""


class KubeApiError(RuntimeError):
    """The API server refused a request: HTTP status, reason and its message."""

    def __init__(self, status: int, reason: str, message: str) -> None:
        super().__init__(f"Kubernetes API {status} {reason}: {message}")
        self.status = status
        self.reason = reason


class KubeWaitTimeout(RuntimeError):
    """The watched object did not reach the wanted state in time; `last` is its last state."""

    def __init__(self, description: str, timeout: float, last: dict) -> None:
        super().__init__(f"{description} not ready after {timeout:.0f} s")
        self.last = last


@dataclass(frozen=True)
class KubeConnection:
    """A configured API client and the namespace to work in."""

    api_client: ApiClient
    namespace: str


def _explicit(api_url: str, access: ClusterAccess) -> KubeConnection:
    from kubernetes import client

    configuration = client.Configuration()
    configuration.host = api_url.rstrip("/")
    if access.token:
        configuration.api_key = {"authorization": f"Bearer {access.token}"}
    if access.ca_bundle:
        configuration.ssl_ca_cert = str(access.ca_bundle)
    return KubeConnection(client.ApiClient(configuration), access.namespace or "default")


def _in_cluster(access: ClusterAccess, account_dir: Path) -> KubeConnection:
    from kubernetes import client
    from kubernetes.config.incluster_config import InClusterConfigLoader

    configuration = client.Configuration()
    loader = InClusterConfigLoader(str(account_dir / "token"), str(account_dir / "ca.crt"))
    loader.load_and_set(configuration)  # re-reads the projected token as it rotates
    if access.token:
        configuration.api_key = {"authorization": f"Bearer {access.token}"}
    namespace = access.namespace or (account_dir / "namespace").read_text().strip()
    return KubeConnection(client.ApiClient(configuration), namespace)


@contextmanager
def _logged_errors() -> Iterator[list[str]]:
    """Error messages logged (by the kubernetes client) while the block runs."""

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    messages: list[str] = []
    handler = Collect(logging.ERROR)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield messages
    finally:
        root.removeHandler(handler)


def _from_kubeconfig(access: ClusterAccess) -> KubeConnection:
    from kubernetes import client
    from kubernetes import config as kube_config
    from kubernetes.config.config_exception import ConfigException

    # The client reads $KUBECONFIG once at import; resolve it now (several paths allowed).
    paths = str(access.config_file or os.environ.get("KUBECONFIG", "~/.kube/config"))
    if not any(Path(p).expanduser().is_file() for p in paths.split(os.pathsep) if p):
        raise KubeConfigError(
            f"no Kubernetes credentials: not in a pod, no kubeconfig at {paths}; "
            "log in (`oc login`) or set BRAKING_DEPLOY_KUBE_API_URL and BRAKING_DEPLOY_KUBE_TOKEN"
        )
    try:
        contexts, active = kube_config.list_kube_config_contexts(paths)
        wanted = access.context or active["name"]
        context = next((c for c in contexts if c["name"] == wanted), None)
        if context is None:
            raise KubeConfigError(f"context {wanted!r} not found in {paths}")
        configuration = client.Configuration()
        # Runs exec plugins and auth providers, as kubectl does; the client only logs a
        # failing plugin and goes on without credentials, so catch that log line.
        with _logged_errors() as errors:
            kube_config.load_kube_config(paths, wanted, client_configuration=configuration)
    except ConfigException as error:
        raise KubeConfigError(f"kubeconfig {paths}: {error}") from None
    if errors:
        raise KubeConfigError(f"kubeconfig {paths}, context {wanted!r}: {errors[-1]}")
    if access.token:
        configuration.api_key = {"authorization": f"Bearer {access.token}"}
    namespace = access.namespace or context["context"].get("namespace") or "default"
    return KubeConnection(client.ApiClient(configuration), namespace)


def connect(access: ClusterAccess, account_dir: Path = SERVICE_ACCOUNT_DIR) -> KubeConnection:
    """Resolve the API server and credentials from the settings, the pod, or kubeconfig."""
    if access.api_url:
        return _explicit(access.api_url, access)
    if os.environ.get("KUBERNETES_SERVICE_HOST") and (account_dir / "token").is_file():
        return _in_cluster(access, account_dir)
    return _from_kubeconfig(access)


def _api_error(error: Exception) -> KubeApiError:
    """The API server's Status (reason, message) or the transport failure, in one line."""
    from kubernetes.client.exceptions import ApiException

    if not isinstance(error, ApiException):
        return KubeApiError(0, "Unreachable", str(error))
    try:
        status = json.loads(error.body or "{}")
    except ValueError:
        status = {}
    return KubeApiError(
        error.status or 0,
        status.get("reason") or error.reason or "",
        status.get("message") or str(error.body or ""),
    )


def _group_version(manifest: dict) -> tuple[str, str]:
    group, _, version = manifest["apiVersion"].rpartition("/")
    return group, version


class KubeClient:
    """Server-side apply and watch for namespaced custom resources."""

    def __init__(self, connection: KubeConnection, field_manager: str = FIELD_MANAGER) -> None:
        from kubernetes import client

        self.connection = connection
        self.field_manager = field_manager
        self._api = client.CustomObjectsApi(connection.api_client)

    def close(self) -> None:
        """Close the client's connection pool."""
        self.connection.api_client.close()

    def apply(self, manifest: dict, plural: str) -> dict:
        """Server-side apply `manifest` (force: this manager owns the fields it sets)."""
        group, version = _group_version(manifest)
        name = manifest["metadata"]["name"]
        namespace = manifest["metadata"].get("namespace") or self.connection.namespace
        # CustomObjectsApi.patch_* always sends merge-patch; apply needs its own content type.
        try:
            return self.connection.api_client.call_api(
                f"/apis/{group}/{version}/namespaces/{namespace}/{plural}/{name}",
                "PATCH",
                query_params=[("fieldManager", self.field_manager), ("force", True)],
                header_params={"Content-Type": APPLY_PATCH, "Accept": "application/json"},
                body=manifest,
                response_type="object",
                auth_settings=["BearerToken"],
                _return_http_data_only=True,
            )
        except _client_errors() as error:
            raise _api_error(error) from None

    def wait_for(
        self,
        manifest: dict,
        plural: str,
        ready: Callable[[dict], T | None],
        timeout: float,
    ) -> T:
        """Watch the object until `ready(object)` returns a value; KubeWaitTimeout otherwise.

        `ready` may raise to stop early on a terminal failure.
        """
        from kubernetes import watch

        group, version = _group_version(manifest)
        name = manifest["metadata"]["name"]
        namespace = manifest["metadata"].get("namespace") or self.connection.namespace
        deadline = time.monotonic() + timeout
        last: dict[str, Any] = {}
        while (remaining := deadline - time.monotonic()) > 0:
            watcher = watch.Watch()
            try:
                # Without a resourceVersion the server first sends the current state (ADDED).
                for event in watcher.stream(
                    self._api.list_namespaced_custom_object,
                    group,
                    version,
                    namespace,
                    plural,
                    field_selector=f"metadata.name={name}",
                    timeout_seconds=max(1, math.ceil(remaining)),
                    _request_timeout=(10, remaining + 5),  # (connect, read) seconds
                ):
                    if event["type"] == "DELETED":
                        last = {}
                        continue
                    last = event["object"]
                    result = ready(last)
                    if result is not None:
                        return result
                    if time.monotonic() >= deadline:
                        break
            except _client_errors() as error:
                raise _api_error(error) from None
            finally:
                watcher.stop()
        raise KubeWaitTimeout(f"{manifest['kind']} {namespace}/{name}", timeout, last)


def _client_errors() -> tuple[type[Exception], ...]:
    """Errors of the client or its transport (as opposed to those of a caller's `ready`)."""
    from kubernetes.client.exceptions import ApiException
    from urllib3.exceptions import HTTPError

    return ApiException, HTTPError
