"""Settings of the pipeline stage: what the pipeline is built with, and where it is sent.

Two objects, each read from flags, env vars or a YAML file:
- `PipelineConfig` (`BRAKING_PIPELINE_*`): the container image, run defaults, resources,
  retries, secret names: everything fixed when the pipeline is compiled.
- `DspaConfig` (`BRAKING_DSPA_*`): the Data Science Pipelines endpoint, its token and CA,
  the experiment: everything needed to submit or schedule a compiled pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.credentials import SERVICE_ACCOUNT_TOKEN, SERVICE_CA_BUNDLE, read_token_file
from braking_common.defaults import REGISTRY_URL
from braking_data.contract import MODEL_NAME
from braking_model.reference import WINDOW_ROWS
from braking_release.config import PROJECT_IMAGE

# The image built by the root Containerfile; pinned by tag, never `latest`.
DEFAULT_BASE_IMAGE = PROJECT_IMAGE


# Keys of an OpenShift AI S3 data connection Secret, mounted under the same env names.
S3_CONNECTION_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "AWS_S3_BUCKET",
    "AWS_S3_ENDPOINT",
)


# The pipeline's steps, in order: the component names, which are also the keys of per-step
# settings such as `pods.timeouts`.
STEPS = (
    "data_seed",
    "generate_data",
    "split_data",
    "plan_shards",
    "tune_shard",
    "select_best",
    "train_model",
    "validate_model",
    "register_model",
    "compare_models",
    "deploy_model",
    "smoke_test",
)
# Oldest KFP backend each compile mode runs on (see pipelines/README.md, "Backends").
# 2.15: everything. 2.5: no `optional` field on Secret env vars (kubeflow/pipelines#12495).
# 2.0: additionally no dsl.Collected artifact fan-in (kubeflow/pipelines#11725).
KfpBackend = Literal["2.15", "2.5", "2.0"]


class Toleration(BaseModel):
    """A Kubernetes toleration of every step's pod."""

    model_config = ConfigDict(extra="forbid")

    key: str | None = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str | None = None
    effect: Literal["NoExecute", "NoSchedule", "PreferNoSchedule"] | None = None
    toleration_seconds: int | None = Field(None, ge=0)


class PodSettings(BaseModel):
    """Scheduling and metadata of the steps' pods (kfp-kubernetes); empty = cluster defaults."""

    model_config = ConfigDict(extra="forbid")

    node_selector: dict[str, str] = Field(
        default_factory=dict, description="Node labels every step's pod must match."
    )
    tolerations: list[Toleration] = Field(
        default_factory=list, description="Taints every step's pod tolerates."
    )
    image_pull_secrets: list[str] = Field(
        default_factory=list, description="Secrets to pull a private step image with."
    )
    labels: dict[str, str] = Field(default_factory=dict, description="Labels of every pod.")
    timeouts: dict[str, int] = Field(
        default_factory=dict,
        description="Per-step timeout in seconds (activeDeadlineSeconds), by step name.",
    )

    @field_validator("node_selector", "labels", mode="before")
    @classmethod
    def _label_values_as_text(cls, labels: Any) -> Any:
        # `--set pods.labels.cost-center=42` parses 42 as YAML; a label value is text.
        if not isinstance(labels, dict):
            return labels
        return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in labels.items()}

    @field_validator("timeouts")
    @classmethod
    def _known_steps(cls, timeouts: dict[str, int]) -> dict[str, int]:
        for step, seconds in timeouts.items():
            if step not in STEPS:
                raise ValueError(f"timeouts: got step {step!r}, expected one of {', '.join(STEPS)}")
            if seconds < 1:
                raise ValueError(f"timeouts.{step}: got {seconds}, expected seconds >= 1")
        return timeouts


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
    fresh_data: bool = Field(
        False,
        description="Derive the data seed from the run's scheduled/creation time (recurring "
        "and retraining runs); False keeps `seed`, so runs are reproducible.",
    )
    inference_log: str = Field(
        "",
        description="Inference log the collector writes (folder or s3://bucket/prefix): its "
        "labelled rows are the promotion window and may be mixed into training; '' = none.",
    )
    log_fraction: float = Field(
        0.0, ge=0.0, le=1.0, description="Share of training rows taken from the inference log."
    )
    evaluation_rows: int = Field(
        WINDOW_ROWS, ge=100, description="Rows of the labelled window the promotion decides on."
    )
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
        "BRAKING_DEPLOY_KUBE_NAMESPACE).",
    )
    s3_connection_secret: str = Field(
        "model-storage",
        description="Data connection Secret (AWS_* keys) the register step uploads to; "
        "pipeline-server/connections creates it under this name.",
    )
    registry_token_secret: str = Field(
        "model-registry-token",
        description="Optional Secret holding a model registry token; when it does not exist "
        "the step uses the run's service-account token (pipeline-runner-dspa).",
    )
    registry_token_key: str = Field("token", description="Key of the token in that Secret.")
    pods: PodSettings = Field(
        default_factory=PodSettings,
        description="Pod settings of every step (JSON in env): node_selector, tolerations, "
        "image_pull_secrets, labels, timeouts by step name; empty = cluster defaults.",
    )
    kfp_backend: KfpBackend = Field(
        "2.15",
        description="Oldest KFP backend the compiled pipeline must run on: 2.15 (DSP with the "
        "`optional` Secret field), 2.5 (DSP 2.14-2.16), 2.0 (DSP 2.0-2.13, one tuning task).",
    )

    @field_validator("kfp_backend", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, float) else value  # YAML reads 2.5 as a number

    @classmethod
    def from_yaml(
        cls, path: Path | None, sets: list[str] | None = None, **overrides: Any
    ) -> PipelineConfig:
        """Settings from a YAML file (optional), `--set FIELD=VALUE` pairs and explicit
        overrides, over env vars."""
        merged = _deep_merge(_load_yaml(path), parse_sets(sets or []))
        return cls(**_deep_merge(merged, _drop_none(overrides)))


def parse_sets(pairs: list[str]) -> dict[str, Any]:
    """`pods.node_selector.disktype=ssd` style pairs as nested settings (values are YAML)."""
    result: dict[str, Any] = {}
    for pair in pairs:
        path, separator, text = pair.partition("=")
        keys = path.strip().split(".")
        if not separator or not all(keys):
            raise ValueError(f"--set {pair!r}: expected FIELD=VALUE, e.g. pods.labels.team=ml")
        nested: Any = yaml.safe_load(text) if text.strip() else ""
        for key in reversed(keys):
            nested = {key: nested}
        result = _deep_merge(result, nested)
    return result


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


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
