"""Settings of the serving stage: inference server, deployment and embedded stack.

Each is a pydantic-settings object: fields come from keyword arguments (CLI flags) first,
then from environment variables with the class's prefix, then from the defaults here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_data.contract import MODEL_NAME

# The OpenVINO Model Server image of OpenDataHub's kserve-ovms runtime, pinned by digest.
OVMS_IMAGE = (
    "quay.io/modh/openvino_model_server"
    "@sha256:6c7795279f9075bebfcd9aecbb4a4ce4177eec41fb3f3e1f1079ce6309b7ae45"
)
_DNS_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")


def check_model_name(name: str) -> str:
    """Model names double as InferenceService names, so they must be DNS-1123 labels."""
    if len(name) > 63 or not _DNS_LABEL.match(name):
        raise ValueError(
            f"model name {name!r} must be a DNS-1123 label (lowercase letters, digits and '-', "
            "starting with a letter, at most 63 characters), as it names the InferenceService"
        )
    return name


class ServerConfig(BaseSettings):
    """The local Open Inference Protocol server (`braking serve`). Env prefix BRAKING_SERVING_."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_SERVING_")

    host: str = Field("127.0.0.1", description="interface to bind; loopback by default")
    port: int = Field(8081, ge=0, le=65535, description="TCP port (0 = any free port)")
    workers: int = Field(1, ge=1, le=64, description="server processes sharing the port")
    models: dict[str, Path] = Field(
        default_factory=dict, description="model name -> model.onnx (or the folder holding it)"
    )
    model_repository: Path | None = Field(
        None, description="OVMS-style repository <dir>/<name>/<version>/model.onnx to serve"
    )
    token: str | None = Field(None, description="bearer token required on every API call")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="largest request body")
    metrics: bool = Field(True, description="serve Prometheus metrics at /metrics")
    repository_poll_seconds: float = Field(
        1.0, gt=0, description="how often each worker checks the repository for changes"
    )

    @field_validator("models")
    @classmethod
    def _model_names(cls, models: dict[str, Path]) -> dict[str, Path]:
        for name in models:
            check_model_name(name)
        return models


class StackConfig(BaseSettings):
    """The embedded stack (`braking stack`): registry + inference server. Env BRAKING_STACK_*."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_STACK_")

    dir: Path = Field(Path(".braking-stack"), description="state dir: pid files, logs, data")
    host: str = Field("127.0.0.1", description="interface both servers bind")
    registry_port: int = Field(8080, ge=1, le=65535, description="model registry port")
    serving_port: int = Field(8081, ge=1, le=65535, description="inference server port")
    serving_workers: int = Field(1, ge=1, le=64, description="inference server processes")
    services: tuple[Literal["registry", "serving"], ...] = ("registry", "serving")
    token: str | None = Field(None, description="bearer token both servers require")
    start_timeout_seconds: float = Field(60.0, gt=0, description="wait for health at startup")

    @property
    def state_dir(self) -> Path:
        return self.dir.resolve()

    @property
    def model_repository(self) -> Path:
        return self.state_dir / "models"

    @property
    def registry_db(self) -> Path:
        return self.state_dir / "registry" / "registry.db"

    @property
    def serving_url(self) -> str:
        return f"http://{self.host}:{self.serving_port}"

    @property
    def registry_url(self) -> str:
        return f"http://{self.host}:{self.registry_port}"


class DeployConfig(BaseSettings):
    """Where and how `deploy_model` serves a model. Env prefix BRAKING_DEPLOY_."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_DEPLOY_")

    target: Literal["local", "kserve"] = Field("local", description="local server or KServe")
    name: str = Field(MODEL_NAME, description="InferenceService / served model name")
    timeout_seconds: float = Field(600.0, gt=0, description="wait this long for Ready")
    poll_seconds: float = Field(2.0, gt=0, description="interval between readiness checks")

    # target=local: the stack's inference server and its model repository.
    server_url: str | None = Field(None, description="local server URL (default: the stack's)")
    repository: Path | None = Field(None, description="its model repository (default: stack's)")
    token: str | None = Field(None, description="bearer token of the local server")

    # target=kserve: the InferenceService.
    namespace: str | None = Field(None, description="namespace (default: in-cluster/kubeconfig)")
    runtime: str = Field("kserve-ovms", description="ServingRuntime the model runs on")
    create_runtime: bool = Field(False, description="also apply an OVMS ServingRuntime")
    runtime_image: str = Field(OVMS_IMAGE, description="OVMS image, pinned by digest")
    storage_key: str | None = Field(None, description="data connection (Secret) of the model")
    storage_path: str | None = Field(
        None, description="path in the bucket: the parent of the numeric version folders"
    )
    storage_uri: str | None = Field(None, description="model URI instead of a data connection")
    deployment_mode: Literal["RawDeployment", "Serverless"] = "RawDeployment"
    enable_auth: bool = Field(False, description="require a bearer token (ServiceAccount)")
    expose: bool = Field(False, description="create an external route")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(1, ge=1)
    cpu_request: str = "500m"
    cpu_limit: str = "2"
    memory_request: str = "512Mi"
    memory_limit: str = "2Gi"

    # Kubernetes API access (default: in-cluster ServiceAccount, then kubeconfig).
    kube_api_url: str | None = Field(None, description="API server URL")
    kube_token: str | None = Field(None, description="bearer token for the API server")
    kube_ca_bundle: Path | None = Field(None, description="CA bundle of the API server")
    kubeconfig: Path | None = Field(None, description="kubeconfig file (default ~/.kube/config)")
    kube_context: str | None = Field(None, description="kubeconfig context")

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        return check_model_name(name)
