"""Registration step: record a validated ONNX model in a Kubeflow Model Registry.

Uses only the official `model-registry` client, so the same call works against the embedded
registry and against OpenShift AI's. Registration is idempotent on the model's content: the
SHA-256 of `model.onnx` is stored on the version, and registering the same bytes again returns
that version instead of creating a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from braking_data.storage import file_sha256
from braking_model.model_dir import ModelDir
from braking_release.config import RegistrationConfig

if TYPE_CHECKING:
    from model_registry import ModelRegistry
    from model_registry.types import ModelVersion

__all__ = [
    "RegisteredModelVersion",
    "RegistrationConfig",
    "RegistrationError",
    "connect",
    "model_metadata",
    "register_model",
    "storage_location",
]

logger = logging.getLogger(__name__)
HASH_PROPERTY = "model_sha256"
# KServe's ONNX serving runtimes (OVMS, Triton) declare `supportedModelFormats: onnx, "1"`.
ONNX_FORMAT_VERSION = "1"
MAX_NAME_ATTEMPTS = 100


class RegistrationError(RuntimeError):
    """The model cannot be registered (bad model dir, name clash, registry refusal)."""


@dataclass(frozen=True)
class RegisteredModelVersion:
    """Ids of what registration created or found; `created` is False on an idempotent hit."""

    registered_model_id: str
    model_version_id: str
    model_artifact_id: str
    version_name: str
    uri: str
    created: bool


def model_sha256(model_dir: Path) -> str:
    """SHA-256 of the ONNX file, the identity used for idempotent registration."""
    try:
        return file_sha256(ModelDir(model_dir).require_onnx())
    except FileNotFoundError as error:
        raise RegistrationError(str(error)) from None


def storage_location(model_dir: Path, config: RegistrationConfig) -> tuple[str, str | None]:
    """(URI, storage path) of the model: its local folder, or a content-addressed S3 prefix.

    The S3 prefix is `<s3_prefix>/<first 12 hex of the hash>`, so the uploader and the
    registration agree on it before any version name exists.
    """
    if config.storage == "file":
        return Path(model_dir).resolve().as_uri(), None
    from model_registry.utils import s3_uri_from

    path = f"{config.s3_prefix.strip('/')}/{model_sha256(model_dir)[:12]}"
    if config.s3_endpoint and config.s3_region:
        uri = s3_uri_from(
            path, config.s3_bucket, endpoint=config.s3_endpoint, region=config.s3_region
        )
    else:
        uri = s3_uri_from(path, config.s3_bucket)
    return uri, path


def _flatten_numbers(prefix: str, value: Any) -> Iterator[tuple[str, float | int]]:
    if isinstance(value, bool) or (isinstance(value, float) and not math.isfinite(value)):
        return
    if isinstance(value, int) and abs(value) > 999_999_999:
        value = float(value)  # MetadataIntValue holds int32 only
    if isinstance(value, int | float):
        yield prefix, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _flatten_numbers(f"{prefix}.{key}", item)


# metrics.json keys (written by braking_model.train) that are lineage, not metrics.
_PARAM_KEYS = ("hyperparameters", "params", "best_params", "training_params")
_DATASET_KEYS = ("training_data_sha256", "dataset_sha256")
_FAMILY_KEYS = ("model_family", "family")


def model_metadata(model_dir: Path, *, run_id: str | None, source_revision: str | None) -> dict:
    """Custom properties of the version: content hash, metrics, gate verdict, lineage."""
    files = ModelDir(model_dir)
    metadata: dict[str, str | int | float | bool] = {HASH_PROPERTY: model_sha256(files.path)}
    try:
        metrics, gate = files.read_metrics(), files.read_gate()
    except ValueError as error:
        raise RegistrationError(str(error)) from None
    for key, value in metrics.items():
        if key in _PARAM_KEYS:
            metadata["training_params"] = json.dumps(value, sort_keys=True)
        elif key in _DATASET_KEYS:
            metadata["dataset_sha256"] = str(value)
        elif key in _FAMILY_KEYS:
            metadata["model_family"] = str(value)
        elif key == "seed":
            metadata["training_seed"] = value
        else:
            metadata.update(_flatten_numbers(f"metric.{key}", value))
    if isinstance(gate, Mapping) and "passed" in gate:
        metadata["gate_passed"] = bool(gate["passed"])
        metadata["gate_reasons"] = json.dumps(gate.get("reasons", []))
    profile = model_dir / "reference_profile.json"  # what monitoring compares traffic with
    if profile.is_file():
        metadata["reference_profile"] = profile.name
        metadata["reference_profile_sha256"] = hashlib.sha256(profile.read_bytes()).hexdigest()
    if run_id:
        metadata["pipeline_run_id"] = run_id
    if source_revision:
        metadata["source_revision"] = source_revision
    return metadata


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
    """The version already holding these bytes (or None) and the newest numeric version name.

    One newest-first pass over the versions serves both questions.
    """
    if registry.get_registered_model(name) is None:
        return None, 0
    newest_number = None
    for version in registry.get_model_versions(name).order_by_id().descending().page_size(100):
        if newest_number is None and (match := re.search(r"\d+$", version.name or "")):
            newest_number = int(match.group())
        if (version.custom_properties or {}).get(HASH_PROPERTY) == sha256:
            return version, newest_number or 0
    return None, newest_number or 0


def _candidate_names(template: str, fields: dict[str, str], newest_number: int) -> Iterator[str]:
    """Version names to try in order; `{n}` counts up from the newest numeric name."""
    if "{n}" not in template:
        yield template.format(n=0, **fields)
        return
    for n in range(newest_number + 1, newest_number + 1 + MAX_NAME_ATTEMPTS):
        yield template.format(n=n, **fields)


def _is_name_clash(error: Exception) -> bool:
    from model_registry.exceptions import StoreError
    from mr_openapi.exceptions import ConflictException

    return isinstance(error, ConflictException) or (
        isinstance(error, StoreError) and "already exists" in str(error)
    )


def register_model(
    model_dir: Path | str,
    config: RegistrationConfig | None = None,
    *,
    run_id: str | None = None,
    source_revision: str | None = None,
    model_uri: str | None = None,
) -> RegisteredModelVersion:
    """Register `model_dir/model.onnx` as a new version of `config.model_name`.

    Returns the existing version when the same model bytes were registered before. Version
    names follow `config.version_template`; with `{n}` a name taken concurrently by another
    run makes this run move on to the next number (the registry rejects duplicates).
    """
    config = config or RegistrationConfig()
    model_dir = Path(model_dir)
    metadata = model_metadata(model_dir, run_id=run_id, source_revision=source_revision)
    sha256 = str(metadata[HASH_PROPERTY])
    registry = connect(config)
    existing, newest_number = _scan_versions(registry, config.model_name, sha256)
    if existing is not None:
        return _result(registry, config, existing, created=False)

    uri, storage_path = storage_location(model_dir, config)
    uri = model_uri or uri
    fields = {
        "hash": sha256,
        "hash8": sha256[:8],
        "run_id": run_id or "local",
        "date": datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
    }
    for version_name in _candidate_names(config.version_template, fields, newest_number):
        try:
            registry.register_model(
                config.model_name,
                uri,
                model_format_name="onnx",
                model_format_version=ONNX_FORMAT_VERSION,
                version=version_name,
                storage_key=config.storage_key if config.storage == "s3" else None,
                storage_path=storage_path,
                model_source_kind="kfp" if run_id else None,
                model_source_class="pipelinerun" if run_id else None,
                model_source_id=run_id,
                author=config.author,
                version_description=f"braking-distance ONNX model sha256:{sha256[:12]}",
                metadata=metadata,
            )
        except Exception as error:
            if not _is_name_clash(error):
                raise
            logger.info("version name %s is taken, trying the next one", version_name)
            continue
        version = registry.get_model_version(config.model_name, version_name)
        return _result(registry, config, version, created=True)
    raise RegistrationError(
        f"version_template {config.version_template!r}: every candidate name is already taken "
        f"in {config.model_name!r}; include {{n}} or {{hash8}} to make names unique"
    )


def _result(
    registry: ModelRegistry, config: RegistrationConfig, version: ModelVersion, *, created: bool
) -> RegisteredModelVersion:
    artifact = registry.get_model_artifact(config.model_name, version.name)
    if artifact is None:
        raise RegistrationError(
            f"version {version.name!r} of {config.model_name!r} has no model artifact "
            "(an interrupted registration?); archive it and register again"
        )
    return RegisteredModelVersion(
        registered_model_id=str(version.registered_model_id),
        model_version_id=str(version.id),
        model_artifact_id=str(artifact.id),
        version_name=version.name,
        uri=artifact.uri or "",
        created=created,
    )
