"""Settings of the embedded Model Registry server (`braking registry serve`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.credentials import optional_token
from braking_common.defaults import LOOPBACK_HOST, REGISTRY_DB, REGISTRY_PORT

ENV_PREFIX = "BRAKING_REGISTRY_"


class ServerSettings(BaseSettings):
    """`braking registry serve` settings (env prefix `BRAKING_REGISTRY_`, the server only;
    clients that register models read `BRAKING_REGISTRATION_*`)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX)

    host: str = Field(LOOPBACK_HOST, description="Interface to bind; loopback by default.")
    port: int = Field(REGISTRY_PORT, ge=0, le=65535, description="TCP port (0 = any free port).")
    db: Path = Field(REGISTRY_DB, description="SQLite database file (created if absent).")
    token_file: Path | None = Field(None, description="File holding the required bearer token.")

    def token(self) -> str | None:
        """The bearer token clients must present, or None for an open server."""
        return optional_token(self.token_file)
