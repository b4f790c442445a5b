"""KServe manifests for the braking model: an InferenceService and an OVMS ServingRuntime.

The InferenceService follows what the OpenShift AI dashboard creates (annotations, labels,
`storage.key`/`storage.path` from a data connection) with two deliberate choices: the
runtime is always named, because OpenShift AI's `kserve-ovms` does not auto-select ONNX
(kserve/kserve#2372), and the storage path is the parent of the numeric version folders,
because that is the only layout OVMS loads (openvinotoolkit/model_server#441).
"""

from __future__ import annotations

from braking_release.config import DeployConfig

ISVC_API_VERSION = "serving.kserve.io/v1beta1"
RUNTIME_API_VERSION = "serving.kserve.io/v1alpha1"
OVMS_REST_PORT = 8888
REGISTERED_MODEL_LABEL = "modelregistry.opendatahub.io/registered-model-id"
MODEL_VERSION_LABEL = "modelregistry.opendatahub.io/model-version-id"


def _storage(config: DeployConfig) -> dict:
    if config.storage_uri and (config.storage_key or config.storage_path):
        raise ValueError(
            "give either storage_uri or storage_key + storage_path (a data connection), not both"
        )
    if config.storage_uri:
        return {"storageUri": config.storage_uri}
    if not (config.storage_key and config.storage_path):
        raise ValueError(
            "the InferenceService needs the model's location: storage_key (data connection "
            "Secret name) + storage_path (parent folder of the numeric version folders), "
            "or storage_uri"
        )
    path = config.storage_path.strip("/")
    last = path.rsplit("/", 1)[-1]
    if last.isdigit():
        raise ValueError(
            f"storage_path {config.storage_path!r} ends in a version folder; OVMS needs its "
            f"parent ({path.rsplit('/', 1)[0] or '/'!r}) and picks the version itself"
        )
    return {"storage": {"key": config.storage_key, "path": path}}


def inference_service(
    config: DeployConfig,
    namespace: str,
    *,
    registered_model_id: str | None = None,
    model_version_id: str | None = None,
    display_name: str | None = None,
) -> dict:
    """The InferenceService serving the ONNX model on the configured runtime."""
    annotations = {
        "openshift.io/display-name": display_name or config.name,
        "serving.kserve.io/deploymentMode": config.deployment_mode,
    }
    if config.deployment_mode == "Serverless":
        annotations |= {
            "serving.knative.openshift.io/enablePassthrough": "true",
            "sidecar.istio.io/inject": "true",
            "sidecar.istio.io/rewriteAppHTTPProbers": "true",
        }
    if config.enable_auth:
        annotations["security.opendatahub.io/enable-auth"] = "true"
    labels = {"opendatahub.io/dashboard": "true", "app.kubernetes.io/part-of": "braking-distance"}
    if registered_model_id:
        labels[REGISTERED_MODEL_LABEL] = registered_model_id
    if model_version_id:
        labels[MODEL_VERSION_LABEL] = model_version_id
    if config.expose:
        if config.deployment_mode == "RawDeployment":
            labels["networking.kserve.io/visibility"] = "exposed"
    elif config.deployment_mode == "Serverless":
        labels["networking.knative.dev/visibility"] = "cluster-local"
    model = {
        "modelFormat": {"name": "onnx", "version": "1"},
        "runtime": config.runtime,
        **_storage(config),
        "resources": {
            "requests": {"cpu": config.cpu_request, "memory": config.memory_request},
            "limits": {"cpu": config.cpu_limit, "memory": config.memory_limit},
        },
    }
    predictor = {"minReplicas": config.min_replicas, "maxReplicas": config.max_replicas}
    if config.logger_url:  # KServe sends each request/response as CloudEvents (monitoring)
        predictor["logger"] = {"mode": config.logger_mode, "url": config.logger_url}
    return {
        "apiVersion": ISVC_API_VERSION,
        "kind": "InferenceService",
        "metadata": {
            "name": config.name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {"predictor": {**predictor, "model": model}},
    }


def serving_runtime(config: DeployConfig, namespace: str) -> dict:
    """An OpenVINO Model Server runtime like OpenShift AI's `kserve-ovms` template makes.

    For clusters without that template (plain KServe); on OpenShift AI prefer
    `oc process -n redhat-ods-applications kserve-ovms | oc apply -n <ns> -f -`.
    """
    container = {
        "name": "kserve-container",
        "image": config.runtime_image,
        "args": [
            "--model_name={{.Name}}",
            "--port=8001",
            f"--rest_port={OVMS_REST_PORT}",
            "--model_path=/mnt/models",
            "--file_system_poll_wait_seconds=0",
            "--grpc_bind_address=0.0.0.0",
            "--rest_bind_address=0.0.0.0",
            "--target_device=AUTO",
            "--metrics_enable",
        ],
        "ports": [{"containerPort": OVMS_REST_PORT, "protocol": "TCP"}],
        "resources": {
            "requests": {"cpu": config.cpu_request, "memory": config.memory_request},
            "limits": {"cpu": config.cpu_limit, "memory": config.memory_limit},
        },
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
            "name": config.runtime,
            "namespace": namespace,
            "labels": {"opendatahub.io/dashboard": "true"},
            "annotations": {
                "openshift.io/display-name": "OpenVINO Model Server",
                "opendatahub.io/apiProtocol": "REST",
            },
        },
        "spec": {
            "multiModel": False,
            "protocolVersions": ["v2", "grpc-v2"],
            "supportedModelFormats": [
                {"name": "onnx", "version": "1", "autoSelect": True},
                {"name": "openvino_ir", "version": "opset13", "autoSelect": True},
            ],
            "annotations": {
                "prometheus.io/port": str(OVMS_REST_PORT),
                "prometheus.io/path": "/metrics",
            },
            "containers": [container],
            "volumes": [{"name": "shm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
        },
    }
