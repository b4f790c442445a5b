"""Deploy a trained model: to the local inference server or as a KServe InferenceService.

    deployment = deploy_model("outputs/model", DeployConfig(target="local"))
    InferenceClient(deployment.url).predict(features)

Both targets end the same way: the model answers `GET <url>/ready`, and `url` is the model
URL `.../v2/models/<name>` that clients and notebooks use unchanged on either target.
"""

from __future__ import annotations

import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from braking_model.model_dir import ONNX_FILE, ModelDir
from braking_release.config import DeployConfig, S3Connection
from braking_release.kube import (
    KubeApiError,
    KubeClient,
    KubeWaitTimeout,
    connect,
)
from braking_release.manifests import (
    ISVC_API_VERSION,
    inference_service,
    runtime_port,
    serving_runtime,
)
from braking_serving.repository import add_to_repository
from braking_stack.config import StackConfig

if TYPE_CHECKING:
    from braking_release.register import RegisteredModelVersion

__all__ = ["DeployConfig", "DeployError", "Deployment", "deploy_model"]

# KServe gives up on a model in these states; waiting longer would not help.
_FAILED_TRANSITIONS = {"BlockedByFailedLoad", "InvalidSpec"}


class DeployError(RuntimeError):
    """The model could not be deployed or did not become ready; the message says why."""


@dataclass(frozen=True)
class Deployment:
    """A served model: its URL (`.../v2/models/<name>`) and where it runs."""

    name: str
    url: str
    target: str
    version: str | None = None
    namespace: str | None = None
    internal_url: str | None = None


def deploy_model(
    model_dir: str | Path,
    config: DeployConfig,
    *,
    registered: RegisteredModelVersion | None = None,
) -> Deployment:
    """Serve the model in `model_dir` (as written by `braking train`) and wait until ready."""
    if config.target == "local":
        return _deploy_local(Path(model_dir), config, registered)
    return _deploy_kserve(config, registered)


def _wait(check, timeout: float, poll: float, describe_failure) -> object:
    """Call `check()` until it returns a value; DeployError with the failure text on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result is not None:
            return result
        if time.monotonic() >= deadline:
            raise DeployError(describe_failure(timeout))
        time.sleep(poll)


def _registered_model_file(storage_path: str, folder: Path) -> Path:
    """The registered version's model.onnx, fetched from the data connection (AWS_* env)."""
    from braking_release.storage import ModelStorage, StorageError

    try:
        storage = ModelStorage(S3Connection())
        return storage.download_model(storage_path, folder / ONNX_FILE)
    except StorageError as error:
        raise DeployError(str(error)) from None


def _deploy_local(
    model_dir: Path, config: DeployConfig, registered: RegisteredModelVersion | None
) -> Deployment:
    stack = StackConfig()
    server_url = (config.local.server_url or stack.serving_url).rstrip("/")
    repository = config.local.repository or stack.model_repository
    # The registry assigns versions ("3", "v3"); without one the repository takes the next.
    numbered = re.search(r"\d+$", str(getattr(registered, "version_name", "") or ""))
    wanted = int(numbered.group()) if numbered else None
    with tempfile.TemporaryDirectory() as scratch:
        storage_path = getattr(registered, "storage_path", None)
        if storage_path:  # serve what the registry points at
            model_file = _registered_model_file(storage_path, Path(scratch))
        else:
            try:
                model_file = ModelDir(model_dir).require_onnx()
            except FileNotFoundError as error:
                raise DeployError(str(error)) from None
        version = add_to_repository(repository, config.name, model_file, wanted)
    token = config.local.token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with httpx.Client(base_url=server_url, headers=headers, timeout=30) as http:
        try:
            response = http.post(f"/v2/repository/models/{config.name}/load")
        except httpx.TransportError as error:
            raise DeployError(
                f"no inference server answers at {server_url} ({error}); start the embedded "
                "stack with `braking stack up` or set BRAKING_DEPLOY_LOCAL_SERVER_URL"
            ) from None
        if response.status_code != 200:
            raise DeployError(f"loading {config.name!r} failed: {response.text}")
        ready_path = f"/v2/models/{config.name}/versions/{version}/ready"
        _wait(
            lambda: True if http.get(ready_path).status_code == 200 else None,
            config.timeout_seconds,
            min(config.poll_seconds, 0.2),
            lambda t: (
                f"model {config.name!r} version {version} not ready at {server_url} after {t:.0f} s"
            ),
        )
    return Deployment(
        name=config.name,
        url=f"{server_url}/v2/models/{config.name}",
        target="local",
        version=str(version),
    )


def _conditions(status: dict) -> str:
    lines = [
        f"{c.get('type')}={c.get('status')}"
        + (
            f" ({c.get('reason')}: {c.get('message')})"
            if c.get("reason") or c.get("message")
            else ""
        )
        for c in status.get("conditions", [])
    ]
    failure = status.get("modelStatus", {}).get("lastFailureInfo")
    if failure:
        lines.append(f"last failure: {failure.get('reason')}: {failure.get('message')}")
    return "; ".join(lines) or "no status conditions reported yet"


def _ready_status(isvc: dict, generation: int | None) -> dict | None:
    """The status once Ready for our generation; raises DeployError on a terminal failure."""
    status = isvc.get("status") or {}
    model_status = status.get("modelStatus") or {}
    if (
        model_status.get("transitionStatus") in _FAILED_TRANSITIONS
        or (model_status.get("states") or {}).get("activeModelState") == "FailedToLoad"
    ):
        raise DeployError(f"InferenceService failed: {_conditions(status)}")
    observed = status.get("observedGeneration")
    if generation is not None and observed is not None and observed < generation:
        return None  # the status still describes the previous spec
    ready = any(
        c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", [])
    )
    return status if ready else None


def _deploy_kserve(config: DeployConfig, registered: RegisteredModelVersion | None) -> Deployment:
    connection = connect(config.kube)
    namespace = connection.namespace
    kube = KubeClient(connection)
    try:
        manifest = inference_service(
            config.kserve, namespace, name=config.name, registered=registered
        )
    except ValueError as error:
        raise DeployError(str(error)) from None
    try:
        if config.kserve.applies_runtime:
            kube.apply(serving_runtime(config.kserve, namespace), "servingruntimes")
        isvc = kube.apply(manifest, "inferenceservices")
        generation = isvc.get("metadata", {}).get("generation")
        status = kube.wait_for(
            manifest,
            "inferenceservices",
            lambda current: _ready_status(current, generation),
            config.timeout_seconds,
        )
    except KubeWaitTimeout as timeout:
        raise DeployError(f"{timeout}: {_conditions(timeout.last.get('status') or {})}") from None
    except KubeApiError as error:
        raise DeployError(f"{ISVC_API_VERSION} InferenceService {config.name}: {error}") from None
    finally:
        kube.close()
    internal = _internal_url(config, namespace, status)
    url = (status.get("url") or internal).rstrip("/")
    return Deployment(
        name=config.name,
        url=f"{url}/v2/models/{config.name}",
        target="kserve",
        version=getattr(registered, "version_name", None),
        namespace=namespace,
        internal_url=f"{internal}/v2/models/{config.name}",
    )


def _internal_url(config: DeployConfig, namespace: str, status: dict) -> str:
    """Where pods in the cluster reach the model.

    A RawDeployment's predictor Service is headless on OpenShift AI (no port mapping): callers
    go to the pod on the runtime's own container port (OVMS REST 8888, braking-serving 8080).
    """
    if config.kserve.deployment_mode == "RawDeployment":
        host = f"{config.name}-predictor.{namespace}.svc.cluster.local"
        return f"http://{host}:{runtime_port(config.kserve)}"
    address = (status.get("address") or {}).get("url")
    return (address or f"http://{config.name}-predictor.{namespace}.svc.cluster.local").rstrip("/")
