"""Settings of the embedded stack (`braking stack`): where its state lives, which ports."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.defaults import (
    LOOPBACK_HOST,
    MODEL_REPOSITORY,
    MONITORING_PORT,
    REGISTRY_DB,
    REGISTRY_PORT,
    SERVING_PORT,
    STATE_DIR,
)


class StackConfig(BaseSettings):
    """The embedded stack (`braking stack`): registry + inference server. Env BRAKING_STACK_*."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_STACK_")

    dir: Path = Field(STATE_DIR, description="state dir: pid files, logs, registry db, models")
    host: str = Field(LOOPBACK_HOST, description="interface both servers bind")
    registry_port: int = Field(REGISTRY_PORT, ge=1, le=65535, description="model registry port")
    serving_port: int = Field(SERVING_PORT, ge=1, le=65535, description="inference server port")
    serving_workers: int = Field(1, ge=1, le=64, description="inference server processes")
    monitoring_port: int = Field(
        MONITORING_PORT, ge=1, le=65535, description="inference-log collector port"
    )
    services: tuple[Literal["registry", "serving", "monitoring"], ...] = Field(
        ("registry", "serving"), description="services to run; add monitoring for the collector"
    )
    token: str | None = Field(None, description="bearer token both servers require")
    start_timeout_seconds: float = Field(60.0, gt=0, description="wait for health at startup")

    @property
    def state_dir(self) -> Path:
        """The state folder as an absolute path."""
        return self.dir.resolve()

    @property
    def model_repository(self) -> Path:
        """The OVMS-style model repository the inference server follows."""
        return self.state_dir / MODEL_REPOSITORY.relative_to(STATE_DIR)

    @property
    def inference_log(self) -> Path:
        """Where the stack's collector writes the inference log (Parquet partitions)."""
        return self.state_dir / "inference-log"

    @property
    def registry_db(self) -> Path:
        """The registry's SQLite file (same place as `braking registry serve`'s default)."""
        return self.state_dir / REGISTRY_DB.relative_to(STATE_DIR)

    @property
    def serving_url(self) -> str:
        """Base URL of the stack's inference server."""
        return f"http://{self.host}:{self.serving_port}"

    @property
    def monitoring_url(self) -> str:
        """URL of the inference-log collector (the optional monitoring service)."""
        return f"http://{self.host}:{self.monitoring_port}"

    @property
    def registry_url(self) -> str:
        """Base URL of the stack's model registry."""
        return f"http://{self.host}:{self.registry_port}"
