"""Settings of the local Open Inference Protocol server (`braking serve`).

A pydantic-settings object: fields come from keyword arguments (CLI flags) first, then from
environment variables with the class's prefix, then from the defaults here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.defaults import LOOPBACK_HOST, SERVING_PORT
from braking_common.http_limits import HttpLimits
from braking_data.contract import MAX_ROWS_PER_CALL, check_model_name


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
    engine: Literal["onnxruntime", "openvino"] = Field(
        "onnxruntime",
        description="what runs the graphs: onnxruntime, or OpenVINO in f32 as OVMS runs it",
    )
    token: str | None = Field(None, description="bearer token required on every API call")
    max_body_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="largest request body")
    max_inflight_body_bytes: int = Field(
        32 * 1024 * 1024,
        ge=1024,
        description="request bytes buffered at once over all connections; beyond it the "
        "server stops reading new bodies until earlier ones are processed",
    )
    max_rows_per_call: int = Field(
        MAX_ROWS_PER_CALL,
        ge=1,
        le=262_144,  # the graph addresses a call's split decisions with int32 offsets
        description="most rows one inference call gets: larger requests get 413 (clients "
        "split batches), the batcher stops gathering at it, and it bounds a call's memory",
    )
    batching: bool = Field(
        True, description="gather concurrent requests for one model into one inference call"
    )
    batch_max_wait_ms: float = Field(
        0.0,
        ge=0,
        le=1000,
        description="how long the first request of a batch waits for more (0 = only those "
        "already received: no added latency)",
    )
    http: HttpLimits = Field(
        default_factory=HttpLimits, description="header size/count limits and read timeouts"
    )
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
