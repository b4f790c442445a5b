"""Settings of the local Open Inference Protocol server (`braking serve`).

A pydantic-settings object: fields come from keyword arguments (CLI flags) first, then from
environment variables with the class's prefix, then from the defaults here.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.defaults import LOOPBACK_HOST, SERVING_PORT
from braking_data.contract import check_model_name


class ServerConfig(BaseSettings):
    """The local Open Inference Protocol server (`braking serve`). Env prefix BRAKING_SERVING_."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_SERVING_")

    host: str = Field(LOOPBACK_HOST, description="interface to bind; loopback by default")
    port: int = Field(SERVING_PORT, ge=0, le=65535, description="TCP port (0 = any free port)")
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
