"""Settings of the embedded registry server and of the registration step.

Both read `BRAKING_REGISTRY_*` environment variables, so the same code targets the embedded
registry (defaults) or OpenShift AI's Model Registry (address, token, CA from the env/flags).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_data.contract import MODEL_NAME

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


class RegistrationConfig(BaseSettings):
    """Where and how `register_model` records a model (env prefix `BRAKING_REGISTRY_`).

    Locally: `server_address="http://127.0.0.1"`, `port=8080`, `is_secure=False`, a `file://`
    URI. On OpenShift AI: the registry route (`https://<name>-rest.apps.<domain>`, port 443),
    a token (or token file, e.g. the service-account token), an optional custom CA, and
    `storage="s3"` with the data connection name as `storage_key`.
    """

    model_config = SettingsConfigDict(env_prefix="BRAKING_REGISTRY_", extra="ignore")

    server_address: str = Field(
        "http://127.0.0.1", description="Registry URL with scheme, without port."
    )
    port: int = Field(8080, ge=1, le=65535, description="Registry REST port (443 on a cluster).")
    is_secure: bool = Field(False, description="Use TLS and require a token (cluster).")
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

    @field_validator("server_address")
    @classmethod
    def _address_has_scheme(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"got {value!r}, expected a URL starting with http:// or https://")
        return value.rstrip("/")

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
        return read_token_file(self.token_file) if self.token_file else None
