"""Registration step: record a validated ONNX model in a Kubeflow Model Registry.

Uses only the official `model-registry` client, so the same call works against the embedded
registry and against OpenShift AI's. With `storage="s3"` the model is uploaded to the data
connection in OVMS's layout (see `braking_release.storage`), in this order:

1. reserve the version: create the ModelVersion; the registry's unique names arbitrate
   between concurrent runs, so each run owns the folder derived from its version name;
2. upload the model into that version's folder;
3. add the ModelArtifact (`uri`, `storage_key`, `storage_path`).

A failed upload archives the reserved version with the reason, so no LIVE version points at
nothing. Registration is idempotent on the model's content: the ModelVersion's externalId is
`<registered model id>:<sha256 of model.onnx>`, which the registry keeps unique, so the same
bytes (again, or from a concurrent run) return the existing version and upload nothing.
"""

from __future__ import annotations

import logging
import re
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from braking_release.config import RegistrationConfig
from braking_release.model_checks import (
    GATE_OVERRIDE_PROPERTY,
    HASH_PROPERTY,
    ModelDirError,
    check_model_dir,
    model_metadata,
    model_sha256,
)
from braking_release.storage import ModelStorage, StorageError, storage_path

if TYPE_CHECKING:
    from model_registry import ModelRegistry
    from model_registry.types import ModelVersion, RegisteredModel

__all__ = [
    "RegisteredModelVersion",
    "RegistrationConfig",
    "RegistrationError",
    "connect",
    "model_metadata",
    "model_sha256",
    "register_model",
    "registered_version",
]

logger = logging.getLogger(__name__)
# KServe's ONNX serving runtimes (OVMS, Triton) declare `supportedModelFormats: onnx, "1"`.
ONNX_FORMAT_VERSION = "1"
MAX_NAME_ATTEMPTS = 100
ARCHIVE_REASON_PROPERTY = "archived_reason"
# How long a run waits for a concurrent run that registers the same bytes to finish.
CONCURRENT_WAIT_SECONDS = 120.0


class RegistrationError(RuntimeError):
    """The model cannot be registered (bad model dir, storage, name clash, registry refusal)."""


@dataclass(frozen=True)
class RegisteredModelVersion:
    """Ids and location of what registration created or found (`created` False: found)."""

    registered_model_id: str
    model_version_id: str
    model_artifact_id: str
    version_name: str
    uri: str
    created: bool
    storage_key: str | None = None
    storage_path: str | None = None


def connect(config: RegistrationConfig) -> ModelRegistry:
    """An official `ModelRegistry` client for `config` (fails fast on bad address or auth)."""
    from model_registry import ModelRegistry
    from mr_openapi.exceptions import UnauthorizedException

    address = config.registry_url
    token = config.resolved_token()
    try:
        with warnings.catch_warnings():
            if token is None and not config.is_secure:  # an open local registry needs none
                warnings.filterwarnings("ignore", "User access token is missing")
            return ModelRegistry(
                config.server_address,
                config.port,
                author=config.author,
                is_secure=config.is_secure,
                user_token=token,
                custom_ca=str(config.custom_ca) if config.custom_ca else None,
            )
    except UnauthorizedException:
        raise RegistrationError(
            f"model registry at {address} refused the token (401): set token or token_file"
        ) from None
    except OSError as error:
        raise RegistrationError(f"model registry at {address} is unreachable: {error}") from None


def _scan_versions(
    registry: ModelRegistry, name: str, sha256: str
) -> tuple[ModelVersion | None, int]:
    """The LIVE version already holding these bytes (or None) and the newest numeric name.

    One newest-first pass over the versions serves both questions. Archived versions keep
    their names (names are never reused) but never count as holding the model.
    """
    from model_registry.types import ModelVersionState

    if registry.get_registered_model(name) is None:
        return None, 0
    newest_number = None
    for version in registry.get_model_versions(name).order_by_id().descending().page_size(100):
        if newest_number is None and (match := re.search(r"\d+$", version.name or "")):
            newest_number = int(match.group())
        live = version.state == ModelVersionState.LIVE
        if live and (version.custom_properties or {}).get(HASH_PROPERTY) == sha256:
            return version, newest_number or 0
    return None, newest_number or 0


def _candidate_names(template: str, fields: dict[str, str], newest_number: int) -> Iterator[str]:
    """Version names to try in order; `{n}` counts up from the newest numeric name."""
    if "{n}" not in template:
        yield template.format(n=0, **fields)
        return
    for n in range(newest_number + 1, newest_number + 1 + MAX_NAME_ATTEMPTS):
        yield template.format(n=n, **fields)


def _is_clash(error: Exception) -> bool:
    from model_registry.exceptions import StoreError
    from mr_openapi.exceptions import ConflictException

    return isinstance(error, ConflictException) or (
        isinstance(error, StoreError) and "already exists" in str(error)
    )


# The client's public `register_model` creates the RegisteredModel, the ModelVersion and the
# ModelArtifact in one call. The functions below are those same three steps of the client,
# called apart so that the upload happens between reserving a version and describing it.


def _registered_model(registry: ModelRegistry, config: RegistrationConfig) -> RegisteredModel:
    """Find or create the RegisteredModel; a concurrent run may create it first."""
    try:
        return registry.async_runner(
            registry._register_model(config.model_name, owner=config.author)
        )
    except Exception as error:
        if not _is_clash(error):
            raise
        return registry.get_registered_model(config.model_name)


def _reserve(
    registry: ModelRegistry,
    config: RegistrationConfig,
    metadata: dict,
    fields: dict[str, str],
    newest_number: int,
) -> ModelVersion | None:
    """Create the ModelVersion under the first free name; None when these bytes are taken."""
    registered = _registered_model(registry, config)
    sha256 = str(metadata[HASH_PROPERTY])
    for name in _candidate_names(config.version_template, fields, newest_number):
        try:
            return registry.async_runner(
                registry._register_new_version(
                    registered,
                    name,
                    config.author,
                    description=f"braking-distance ONNX model sha256:{sha256[:12]}",
                    external_id=f"{registered.id}:{sha256}",
                    custom_properties=metadata,
                )
            )
        except Exception as error:
            if not _is_clash(error):
                raise
        if _scan_versions(registry, config.model_name, sha256)[0] is not None:
            return None  # not our name but our bytes: a concurrent run registered them
        logger.info("version name %s is taken, trying the next one", name)
    raise RegistrationError(
        f"version_template {config.version_template!r}: every candidate name is already taken "
        f"in {config.model_name!r}; include {{n}} or {{hash8}} to make names unique"
    )


def archive_version(registry: ModelRegistry, version: ModelVersion, reason: str) -> None:
    """Archive `version` (a failed upload, a rejected challenger): say why, free its
    externalId so the same bytes can be registered again."""
    from model_registry.types import ModelVersionState

    version.state = ModelVersionState.ARCHIVED
    version.external_id = f"{version.external_id}:archived:{version.id}"
    properties = version.custom_properties or {}
    version.custom_properties = {**properties, ARCHIVE_REASON_PROPERTY: reason}
    registry.update(version)


def _add_artifact(
    registry: ModelRegistry,
    config: RegistrationConfig,
    version: ModelVersion,
    uri: str,
    path: str | None,
    run_id: str | None,
) -> None:
    registry.async_runner(
        registry._register_model_artifact(
            version,
            config.model_name,
            uri,
            model_format_name="onnx",
            model_format_version=ONNX_FORMAT_VERSION,
            storage_key=config.storage_key if path else None,
            storage_path=path,
            model_source_kind="kfp" if run_id else None,
            model_source_class="pipelinerun" if run_id else None,
            model_source_id=run_id,
        )
    )


def register_model(
    model_dir: Path | str,
    config: RegistrationConfig | None = None,
    *,
    run_id: str | None = None,
    source_revision: str | None = None,
    model_uri: str | None = None,
    allow_failed_gate: bool = False,
) -> RegisteredModelVersion:
    """Register `model_dir/model.onnx` as a new version of `config.model_name`.

    The folder must pass `check_model_dir` (loads, unchanged since export, gate passed or
    `allow_failed_gate`). Returns the existing version when the same model bytes were
    registered before. Version names follow `config.version_template`; with `{n}` a name
    taken concurrently by another run makes this run move on to the next number.
    """
    config = config or RegistrationConfig()
    model_dir = Path(model_dir)
    try:
        sha256 = check_model_dir(model_dir, allow_failed_gate=allow_failed_gate)
    except ModelDirError as error:
        raise RegistrationError(str(error)) from None
    metadata = model_metadata(model_dir, run_id=run_id, source_revision=source_revision)
    if allow_failed_gate and metadata.get("gate_passed") is not True:
        metadata[GATE_OVERRIDE_PROPERTY] = True
    storage = ModelStorage(config.connection) if config.storage == "s3" else None
    if storage is not None:
        try:  # before any registry write: a storage we cannot use registers nothing
            storage.check_access()
        except StorageError as error:
            raise RegistrationError(str(error)) from None
    registry = connect(config)
    existing, newest_number = _scan_versions(registry, config.model_name, sha256)
    if existing is not None:
        return _result(registry, config, existing, created=False, wait=CONCURRENT_WAIT_SECONDS)

    fields = {
        "hash": sha256,
        "hash8": sha256[:8],
        "run_id": run_id or "local",
        "date": datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
    }
    version = _reserve(registry, config, metadata, fields, newest_number)
    if version is None:
        existing = _scan_versions(registry, config.model_name, sha256)[0]
        return _result(registry, config, existing, created=False, wait=CONCURRENT_WAIT_SECONDS)
    path = None
    uri = model_uri or model_dir.resolve().as_uri()
    if storage is not None:
        path = storage_path(config.s3_prefix, config.model_name, version.name, sha256)
        try:
            uri = storage.upload(model_dir, path).uri
        except StorageError as error:
            archive_version(registry, version, f"upload failed: {error}")
            raise RegistrationError(f"{error}; version {version.name!r} archived") from None
    _add_artifact(registry, config, version, uri, path, run_id)
    return _result(registry, config, version, created=True)


def registered_version(
    version_name: str, config: RegistrationConfig | None = None
) -> RegisteredModelVersion:
    """Version `version_name` of `config.model_name`, with its ModelArtifact's location."""
    config = config or RegistrationConfig()
    registry = connect(config)
    version = registry.get_model_version(config.model_name, version_name)
    if version is None:
        raise RegistrationError(
            f"version {version_name!r} of {config.model_name!r} is not in the registry at "
            f"{config.registry_url}"
        )
    return _result(registry, config, version, created=False)


def _result(
    registry: ModelRegistry,
    config: RegistrationConfig,
    version: ModelVersion,
    *,
    created: bool,
    wait: float = 0.0,
) -> RegisteredModelVersion:
    """The version's ids and location; waits up to `wait` s for a concurrent run's upload."""
    deadline = time.monotonic() + wait
    while (artifact := registry.get_model_artifact(config.model_name, version.name)) is None:
        if time.monotonic() >= deadline:
            raise RegistrationError(
                f"version {version.name!r} of {config.model_name!r} has no model artifact "
                "(an interrupted registration?); archive it and register again"
            )
        time.sleep(0.5)
    return RegisteredModelVersion(
        registered_model_id=str(version.registered_model_id),
        model_version_id=str(version.id),
        model_artifact_id=str(artifact.id),
        version_name=version.name,
        uri=artifact.uri or "",
        created=created,
        storage_key=artifact.storage_key,
        storage_path=artifact.storage_path,
    )
