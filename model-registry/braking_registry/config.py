"""Settings of the embedded Model Registry server (`braking registry serve`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DB = Path(".braking") / "registry" / "registry.db"


def read_token_file(path: Path) -> str:
    """The token stored in `path`, without surrounding whitespace; clear error when empty."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as error:
        raise ValueError(f"token file {path}: cannot be read ({error.strerror})") from None
    if not token:
        raise ValueError(f"token file {path}: is empty, expected a bearer token")
    return token


class ServerSettings(BaseSettings):
    """`braking registry serve` settings (env prefix `BRAKING_REGISTRY_`)."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_REGISTRY_", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface to bind; loopback by default.")
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0 = any free port).")
    db: Path = Field(DEFAULT_DB, description="SQLite database file (created if absent).")
    token_file: Path | None = Field(None, description="File holding the required bearer token.")

    def token(self) -> str | None:
        """The bearer token clients must present, or None for an open server."""
        return read_token_file(self.token_file) if self.token_file else None
