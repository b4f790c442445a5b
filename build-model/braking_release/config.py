"""Settings of the release steps: registering the gated model and deploying it.

`RegistrationConfig` targets the embedded registry (defaults) or OpenShift AI's Model Registry;
`DeployConfig` the embedded stack's inference server or a KServe InferenceService.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.credentials import optional_token
from braking_common.defaults import REGISTRY_URL
from braking_data.contract import MODEL_NAME, check_model_name

# The OpenVINO Model Server image of OpenDataHub's kserve-ovms runtime, pinned by digest.
OVMS_IMAGE = (
    "quay.io/modh/openvino_model_server"
    "@sha256:6c7795279f9075bebfcd9aecbb4a4ce4177eec41fb3f3e1f1079ce6309b7ae45"
)


class RegistrationConfig(BaseSettings):
    """Where and how `register_model` records a model (env prefix `BRAKING_REGISTRATION_`).

    Locally: the embedded registry at `http://127.0.0.1:8080`, `is_secure=False`, a `file://`
    URI. On OpenShift AI: the registry route (`https://<name>-rest.apps.<domain>:443`), a token
    (or token file, e.g. the service-account token), an optional custom CA, and
    `storage="s3"` with the data connection name as `storage_key`.
    """

    model_config = SettingsConfigDict(env_prefix="BRAKING_REGISTRATION_")

    registry_url: str = Field(
        REGISTRY_URL, description="Model registry URL: scheme, host and port (443 on a cluster)."
    )
    is_secure: bool | None = Field(
        None, description="Use TLS and require a token (default: true for https URLs)."
    )
    token: str | None = Field(None, description="Bearer token for the registry.", repr=False)
    token_file: Path | None = Field(None, description="File holding the bearer token.")
    custom_ca: Path | None = Field(None, description="PEM bundle trusted for the registry TLS.")
    author: str = Field("braking-distance", description="Author recorded on the version.")
    model_name: str = Field(MODEL_NAME, description="RegisteredModel name.")
    version_template: str = Field(
        "{n}",
        description="Version name; placeholders {n} (next free number, the registry's "
        "uniqueness check arbitrates), {hash} / {hash8} (model content), {run_id}, {date}.",
    )
    storage: Literal["file", "s3"] = Field("file", description="Where the model lives.")
    s3_bucket: str | None = Field(None, description="Bucket of the data connection (s3).")
    s3_prefix: str = Field("models/braking-distance", description="Key prefix in the bucket.")
    s3_endpoint: str | None = Field(None, description="S3 endpoint URL, recorded in the URI.")
    s3_region: str | None = Field(None, description="S3 region, recorded in the URI.")
    storage_key: str | None = Field(None, description="Data connection (secret) name (s3).")

    @field_validator("registry_url")
    @classmethod
    def _url_has_scheme_and_host(cls, value: str) -> str:
        parsed = urlsplit(value)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"got {value!r}, expected http(s)://host[:port]")
        return value.rstrip("/")

    @property
    def server_address(self) -> str:
        """Scheme and host of `registry_url`, as the official client takes them."""
        parsed = urlsplit(self.registry_url)
        return f"{parsed.scheme}://{parsed.hostname}"

    @property
    def port(self) -> int:
        """Port of `registry_url` (the scheme's default when it names none)."""
        parsed = urlsplit(self.registry_url)
        return parsed.port or (443 if parsed.scheme == "https" else 80)

    @model_validator(mode="after")
    def _secure_follows_the_scheme(self) -> RegistrationConfig:
        if self.is_secure is None:
            self.is_secure = self.registry_url.startswith("https://")
        return self

    @model_validator(mode="after")
    def _s3_is_complete(self) -> RegistrationConfig:
        if self.storage == "s3" and not (self.s3_bucket and self.storage_key):
            raise ValueError(
                "storage='s3' needs s3_bucket and storage_key (the data connection name)"
            )
        return self

    def resolved_token(self) -> str | None:
        """The token from `token` or `token_file`."""
        if self.token:
            return self.token
        return optional_token(self.token_file)


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
    logger_url: str | None = Field(
        None,
        description="inference logger target (`spec.predictor.logger.url`), e.g. the collector",
    )
    logger_mode: Literal["all", "request", "response"] = Field("all", description="what to log")
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
