"""KServe manifests for the braking model: an InferenceService and its ServingRuntime.

The InferenceService follows what the OpenShift AI dashboard creates (annotations, labels,
`storage.key`/`storage.path` from a data connection) with two deliberate choices: the
runtime is always named, because OpenShift AI's `kserve-ovms` does not auto-select ONNX
(kserve/kserve#2372), and the storage path is the registered version's own folder, which
holds the model as `1/model.onnx`, the only layout OVMS loads
(openvinotoolkit/model_server#441).

Two ServingRuntimes can be generated: OpenVINO Model Server like OpenShift AI's `kserve-ovms`
template, and the project's own V2 server (onnxruntime), `braking-serving`.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

from braking_data.contract import MODEL_NAME, OPENVINO_CONFIG
from braking_release.config import BRAKING_RUNTIME, KServeTarget

ISVC_API_VERSION = "serving.kserve.io/v1beta1"
RUNTIME_API_VERSION = "serving.kserve.io/v1alpha1"
OVMS_REST_PORT = 8888
BRAKING_SERVER_PORT = 8080
# Where KServe's storage-initializer leaves the model in the predictor container.
MODEL_MOUNT = "/mnt/models"
REGISTRY_LABEL = "modelregistry.opendatahub.io/name"
REGISTERED_MODEL_LABEL = "modelregistry.opendatahub.io/registered-model-id"
MODEL_VERSION_LABEL = "modelregistry.opendatahub.io/model-version-id"


class RegisteredLocation(Protocol):
    """What the InferenceService reads from a registered version (RegisteredModelVersion)."""

    # Read-only properties, so that a version whose ids are always set fits too.
    @property
    def registered_model_id(self) -> str | None:
        """Id of the RegisteredModel, recorded as a label."""

    @property
    def model_version_id(self) -> str | None:
        """Id of the ModelVersion, recorded as a label."""

    @property
    def uri(self) -> str | None:
        """The ModelArtifact's URI (`s3://...` when uploaded)."""

    @property
    def storage_key(self) -> str | None:
        """Data connection (Secret) holding the model."""

    @property
    def storage_path(self) -> str | None:
        """Folder in the bucket holding `1/model.onnx`."""


def runtime_port(target: KServeTarget) -> int:
    """The REST port of the selected runtime's container (what a headless Service exposes)."""
    return BRAKING_SERVER_PORT if target.runtime == BRAKING_RUNTIME else OVMS_REST_PORT


def _location(target: KServeTarget, registered: RegisteredLocation | None) -> dict:
    """Explicit settings first, else what the registry recorded on the version's artifact."""
    if target.storage_uri and (target.storage_key or target.storage_path):
        raise ValueError(
            "give either storage_uri or storage_key + storage_path (a data connection), not both"
        )
    if target.storage_uri or target.storage_key or target.storage_path:
        return {"key": target.storage_key, "path": target.storage_path, "uri": target.storage_uri}
    key, path = (getattr(registered, name, None) for name in ("storage_key", "storage_path"))
    uri = getattr(registered, "uri", None) or ""
    if key and path:
        return {"key": key, "path": path, "uri": None}
    if uri.startswith("s3://"):
        return {"key": None, "path": None, "uri": uri.split("?", 1)[0]}
    registered_at = f" (the registered version is at {uri})" if uri else ""
    raise ValueError(
        "the InferenceService needs the model's location: register the model with S3 storage "
        "(BRAKING_REGISTRATION_STORAGE=s3), or set storage_key (data connection Secret name) + "
        f"storage_path (the folder holding 1/model.onnx), or storage_uri{registered_at}"
    )


def _storage(target: KServeTarget, registered: RegisteredLocation | None) -> dict:
    location = _location(target, registered)
    if location["uri"]:
        return {"storageUri": location["uri"]}
    if not (location["key"] and location["path"]):
        raise ValueError(
            "storage_key and storage_path go together: the data connection Secret's name and "
            "the folder holding 1/model.onnx"
        )
    path = location["path"].strip("/")
    last = path.rsplit("/", 1)[-1]
    if last.isdigit():
        raise ValueError(
            f"storage_path {location['path']!r} ends in a version folder; OVMS needs its "
            f"parent ({path.rsplit('/', 1)[0] or '/'!r}) and picks the version itself"
        )
    return {"storage": {"key": location["key"], "path": path}}


def inference_service(
    target: KServeTarget,
    namespace: str,
    *,
    name: str = MODEL_NAME,
    registered: RegisteredLocation | None = None,
    display_name: str | None = None,
) -> dict:
    """The InferenceService serving the ONNX model on the configured runtime.

    The model's location is the registered version's (`storage_key` + `storage_path`, else
    its `s3://` URI) unless the target names one.
    """
    annotations = {
        "openshift.io/display-name": display_name or name,
        "serving.kserve.io/deploymentMode": target.deployment_mode,
    }
    if target.deployment_mode == "Serverless":
        annotations |= {
            "serving.knative.openshift.io/enablePassthrough": "true",
            "sidecar.istio.io/inject": "true",
            "sidecar.istio.io/rewriteAppHTTPProbers": "true",
        }
    if target.enable_auth:
        annotations["security.opendatahub.io/enable-auth"] = "true"
    labels = {"opendatahub.io/dashboard": "true", "app.kubernetes.io/part-of": "braking-distance"}
    registered_model_id = getattr(registered, "registered_model_id", None)
    model_version_id = getattr(registered, "model_version_id", None)
    if registered_model_id:
        labels[REGISTERED_MODEL_LABEL] = registered_model_id
        labels[REGISTRY_LABEL] = target.registry_name
    if model_version_id:
        labels[MODEL_VERSION_LABEL] = model_version_id
    if target.expose:
        if target.deployment_mode == "RawDeployment":
            labels["networking.kserve.io/visibility"] = "exposed"
    elif target.deployment_mode == "Serverless":
        labels["networking.knative.dev/visibility"] = "cluster-local"
    model = {
        "modelFormat": {"name": "onnx", "version": "1"},
        "runtime": target.runtime,
        **_storage(target, registered),
        "resources": _resources(target),
    }
    predictor: dict[str, Any] = {
        "minReplicas": target.min_replicas,
        "maxReplicas": target.max_replicas,
    }
    if target.logger_url:  # KServe sends each request/response as CloudEvents (monitoring)
        predictor["logger"] = {"mode": target.logger_mode, "url": target.logger_url}
    return {
        "apiVersion": ISVC_API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {"predictor": {**predictor, "model": model}},
    }


def _resources(target: KServeTarget) -> dict:
    return {
        "requests": {"cpu": target.cpu_request, "memory": target.memory_request},
        "limits": {"cpu": target.cpu_limit, "memory": target.memory_limit},
    }


def _runtime(
    target: KServeTarget,
    namespace: str,
    *,
    display_name: str,
    protocols: list[str],
    container: dict,
    formats: list[dict],
) -> dict:
    """A single-model ServingRuntime as the dashboard instantiates one from its template."""
    port = container["ports"][0]["containerPort"]
    container |= {
        "name": "kserve-container",
        "resources": _resources(target),
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "shm", "mountPath": "/dev/shm"}],
    }
    return {
        "apiVersion": RUNTIME_API_VERSION,
        "kind": "ServingRuntime",
        "metadata": {
            "name": target.runtime,
            "namespace": namespace,
            "labels": {"opendatahub.io/dashboard": "true"},
            "annotations": {
                "openshift.io/display-name": display_name,
                "opendatahub.io/template-name": target.runtime,
                "opendatahub.io/template-display-name": display_name,
                "opendatahub.io/apiProtocol": "REST",
            },
        },
        "spec": {
            "multiModel": False,
            "protocolVersions": protocols,
            "supportedModelFormats": formats,
            "annotations": {"prometheus.io/port": str(port), "prometheus.io/path": "/metrics"},
            "containers": [container],
            "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
        },
    }


def serving_runtime(target: KServeTarget, namespace: str) -> dict:
    """The ServingRuntime `target.runtime` names: the project's own server, or OVMS."""
    if target.runtime == BRAKING_RUNTIME:
        return braking_runtime(target, namespace)
    return ovms_runtime(target, namespace)


def ovms_runtime(target: KServeTarget, namespace: str) -> dict:
    """An OpenVINO Model Server runtime like OpenShift AI's `kserve-ovms` template makes.

    For clusters without that template (plain KServe); on OpenShift AI prefer
    `oc process -n redhat-ods-applications kserve-ovms | oc apply -n <ns> -f -`. OpenVINO
    infers in bf16 on CPUs that have it unless told f32, which would move tree splits.
    """
    container = {
        "image": target.runtime_image,
        "args": [
            "--model_name={{.Name}}",
            "--port=8001",
            f"--rest_port={OVMS_REST_PORT}",
            f"--model_path={MODEL_MOUNT}",
            "--file_system_poll_wait_seconds=0",
            "--grpc_bind_address=0.0.0.0",
            "--rest_bind_address=0.0.0.0",
            "--target_device=AUTO",
            "--metrics_enable",
            f"--plugin_config={json.dumps(OPENVINO_CONFIG, separators=(',', ':'))}",
        ],
        "ports": [{"containerPort": OVMS_REST_PORT, "protocol": "TCP"}],
    }
    formats = [
        {"name": "onnx", "version": "1", "autoSelect": True},
        {"name": "openvino_ir", "version": "opset13", "autoSelect": True},
    ]
    return _runtime(
        target,
        namespace,
        display_name="OpenVINO Model Server",
        protocols=["v2", "grpc-v2"],
        container=container,
        formats=formats,
    )


def braking_runtime(target: KServeTarget, namespace: str) -> dict:
    """The project's own V2 server (onnxruntime) on the pipeline image, as a ServingRuntime.

    It serves `/mnt/models` as the storage-initializer leaves it (`1/model.onnx`) under the
    InferenceService's name. Host and port come from the environment so that the arguments
    stay the same wherever the server runs.
    """
    container = {
        "image": target.server_image,
        "command": ["python", "-m", "braking_serving"],
        "args": braking_runtime_args(),
        "env": [
            {"name": "BRAKING_SERVING_HOST", "value": "0.0.0.0"},
            {"name": "BRAKING_SERVING_PORT", "value": str(BRAKING_SERVER_PORT)},
        ],
        "ports": [{"containerPort": BRAKING_SERVER_PORT, "protocol": "TCP"}],
    }
    return _runtime(
        target,
        namespace,
        display_name="braking-distance V2 server (onnxruntime)",
        protocols=["v2"],
        container=container,
        formats=[{"name": "onnx", "version": "1", "autoSelect": True}],
    )


def braking_runtime_args() -> list[str]:
    """Container arguments of the braking-serving runtime (KServe fills in `{{.Name}}`)."""
    return ["--model-dir", MODEL_MOUNT, "--name", "{{.Name}}"]
