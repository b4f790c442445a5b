"""Settings of the embedded stack (`braking stack`): where its state lives, which ports."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class StackConfig(BaseSettings):
    """The embedded stack (`braking stack`): registry + inference server. Env BRAKING_STACK_*."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_STACK_")

    dir: Path = Field(Path(".braking-stack"), description="state dir: pid files, logs, data")
    host: str = Field("127.0.0.1", description="interface both servers bind")
    registry_port: int = Field(8080, ge=1, le=65535, description="model registry port")
    serving_port: int = Field(8081, ge=1, le=65535, description="inference server port")
    serving_workers: int = Field(1, ge=1, le=64, description="inference server processes")
    monitoring_port: int = Field(8083, ge=1, le=65535, description="inference-log collector port")
    services: tuple[Literal["registry", "serving", "monitoring"], ...] = Field(
        ("registry", "serving"), description="services to run; add monitoring for the collector"
    )
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
    def monitoring_url(self) -> str:
        return f"http://{self.host}:{self.monitoring_port}"

    @property
    def registry_url(self) -> str:
        return f"http://{self.host}:{self.registry_port}"
