"""Settings of the pipeline stage: what the pipeline is built with, and where it is sent.

Two objects, each read from flags, env vars or a YAML file:
- `PipelineConfig` (`BRAKING_PIPELINE_*`): the container image, run defaults, resources,
  retries, secret names: everything fixed when the pipeline is compiled.
- `DspaConfig` (`BRAKING_DSPA_*`): the Data Science Pipelines endpoint, its token and CA,
  the experiment: everything needed to submit or schedule a compiled pipeline.
"""

from __future__ import annotations

import os
from importlib.metadata import version
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.credentials import SERVICE_ACCOUNT_TOKEN, SERVICE_CA_BUNDLE, read_token_file
from braking_common.defaults import REGISTRY_URL
from braking_data.contract import MODEL_NAME

# The image built by the root Containerfile; pinned by tag, never `latest`.
DEFAULT_BASE_IMAGE = f"quay.io/braking-distance/braking-distance:{version('braking-distance')}"


# Keys of an OpenShift AI S3 data connection Secret, mounted under the same env names.
S3_CONNECTION_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_S3_BUCKET",
    "AWS_S3_ENDPOINT",
)


class Resources(BaseModel):
    """CPU and memory of one pod, in Kubernetes quantities."""

    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "2Gi"
    memory_limit: str = "4Gi"


class PipelineConfig(BaseSettings):
    """How the braking pipeline is compiled and what a run uses by default."""

    model_config = SettingsConfigDict(
        env_prefix="BRAKING_PIPELINE_", env_nested_delimiter="__", extra="forbid"
    )

    name: str = Field("braking-distance", description="Pipeline name shown in the KFP UI.")
    base_image: str = Field(
        DEFAULT_BASE_IMAGE, description="Image of every step: this project installed."
    )
    pipeline_root: str | None = Field(
        None, description="Artifact root, e.g. s3://bucket/prefix; None = the DSPA default."
    )
    local_root: Path = Field(
        Path("outputs/pipeline-root"), description="Artifact root of `--local` runs."
    )
    data_rows: int = Field(20_000, ge=100, description="Rows of sensor data to generate.")
    seed: int = Field(7, ge=0, description="Seed of data generation, split and search.")
    tuning_shards: int = Field(
        2, ge=1, description="Search-space shards, one tuning task (pod) each."
    )
    max_parallel_shards: int = Field(
        4, ge=1, description="At most this many tuning shards run at once (ParallelFor)."
    )
    model_name: str = Field(MODEL_NAME, description="Name in the model registry.")
    registry_url: str = Field(
        REGISTRY_URL, description="Model registry URL: scheme, host and port (443 on a cluster)."
    )
    deploy_target: Literal["local", "kserve"] = Field(
        "local", description="Where the deploy step puts the model."
    )
    training_resources: Resources = Field(default_factory=Resources)
    service_retries: int = Field(
        3, ge=0, description="Retries of steps that talk to the registry or serving."
    )
    retry_backoff: str = Field("30s", description="First wait between those retries.")
    service_env: dict[str, str] = Field(
        default_factory=dict,
        description="Env vars of the register/deploy/smoke steps (non-secret cluster "
        "settings, e.g. BRAKING_REGISTRATION_IS_SECURE, BRAKING_REGISTRATION_STORAGE, "
        "BRAKING_DEPLOY_NAMESPACE).",
    )
    s3_connection_secret: str = Field(
        "model-storage",
        description="Data connection Secret (AWS_* keys) given to register and deploy; "
        "pipeline-server/connections creates it under this name.",
    )
    registry_token_secret: str = Field(
        "model-registry-token",
        description="Optional Secret holding a model registry token; when it does not exist "
        "the step uses the run's service-account token (pipeline-runner-dspa).",
    )
    registry_token_key: str = Field("token", description="Key of the token in that Secret.")

    @classmethod
    def from_yaml(cls, path: Path | None, **overrides: Any) -> PipelineConfig:
        """Settings from a YAML file (optional), env vars, then explicit overrides."""
        return cls(**{**_load_yaml(path), **_drop_none(overrides)})


class DspaConfig(BaseSettings):
    """Where and as whom to submit: a DSPA's KFP v2 API endpoint."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_DSPA_", extra="forbid")

    host: str | None = Field(
        None,
        description="KFP API URL, e.g. https://ds-pipeline-dspa-<ns>.apps.<domain> or "
        "https://ds-pipeline-dspa.<ns>.svc.cluster.local:8443 from inside the cluster.",
    )
    token: SecretStr | None = Field(None, description="Bearer token (e.g. `oc whoami -t`).")
    token_file: Path | None = Field(
        None, description="File holding the token; default: the pod's service-account token."
    )
    namespace: str | None = Field(None, description="Project (namespace) of the DSPA.")
    ca_bundle: Path | None = Field(
        None, description="CA bundle for the API's TLS certificate (self-signed clusters)."
    )
    experiment: str = Field("braking-distance", description="Experiment that holds the runs.")
    service_account: str | None = Field(
        None, description="Service account of the run's pods; None = the DSPA default."
    )
    timeout_seconds: float = Field(15.0, gt=0, description="Timeout of the reachability check.")

    @field_validator("host")
    @classmethod
    def _host_has_scheme(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"host {value!r} must start with https:// (or http://)")
        return value.rstrip("/") if value else value

    def resolved_token(self) -> str | None:
        """The token: explicit, else from token_file, else the pod's service account."""
        if self.token is not None:
            return self.token.get_secret_value().strip()
        path = self.token_file or _default_token_file()
        if path is None:
            return None
        return read_token_file(path)

    def resolved_ca_bundle(self) -> Path | None:
        """The CA bundle: explicit, else the service CA for in-cluster `.svc` hosts."""
        if self.ca_bundle is not None:
            if not self.ca_bundle.is_file():
                raise FileNotFoundError(f"ca_bundle {self.ca_bundle} does not exist")
            return self.ca_bundle
        if self.host and ".svc" in self.host and SERVICE_CA_BUNDLE.is_file():
            return SERVICE_CA_BUNDLE
        return None


def _default_token_file() -> Path | None:
    # kfp and the model-registry client honour the same variable inside pipeline pods.
    configured = os.environ.get("KF_PIPELINES_SA_TOKEN_PATH")
    if configured:
        return Path(configured)
    return SERVICE_ACCOUNT_TOKEN if SERVICE_ACCOUNT_TOKEN.is_file() else None


def _load_yaml(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    loaded = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(loaded, dict):
        raise ValueError(f"config file {path} must hold a mapping, got {type(loaded).__name__}")
    return loaded


def _drop_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}
