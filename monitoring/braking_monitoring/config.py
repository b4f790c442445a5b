"""Settings of the inference-log collector (`braking monitor serve`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.defaults import INFERENCE_LOG, LOOPBACK_HOST, MONITORING_PORT


class CollectorConfig(BaseSettings):
    """The collector: where it listens and stores. Env prefix BRAKING_MONITOR_."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_MONITOR_")

    host: str = Field(LOOPBACK_HOST, description="interface to bind; loopback by default")
    port: int = Field(MONITORING_PORT, ge=0, le=65535, description="TCP port (0 = any free port)")
    store: str = Field(
        str(INFERENCE_LOG),
        description="inference log root: a folder, or s3://bucket/prefix (AWS_* env for S3)",
    )
    window_rows: int | None = Field(
        None, ge=10, description="rows per drift window; None: the reference profile's"
    )
    flush_seconds: float = Field(5.0, gt=0, description="how often buffered rows are written")
    schedule_seconds: float = Field(
        5.0, gt=0, description="how often scheduled metric requests are computed (TrustyAI's)"
    )
    pair_timeout_seconds: float = Field(60.0, gt=0, description="wait for the other half")
