"""Champion and challenger records on the Model Registry, through the official client.

The registered model carries `champion_version` (the version serving now) and
`previous_champion_version` (what `rollback` returns to) as custom properties; every compared
challenger version carries its decision and evidence as `promotion.*` properties. Here, below
the pipelines, so the pipeline's compare and deploy steps and the feedback loop share them.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from braking_monitoring.promotion import PromotionDecision
from braking_release.config import RegistrationConfig
from braking_release.register import archive_version, connect

CHAMPION = "champion_version"
PREVIOUS = "previous_champion_version"


@dataclass(frozen=True)
class Champions:
    """The version serving now and the one `rollback` returns to (None when unset)."""

    champion: str | None
    previous: str | None


def champions(config: RegistrationConfig) -> Champions:
    """The registered model's champion and previous champion version names."""
    registered = connect(config).get_registered_model(config.model_name)
    properties = (registered.custom_properties or {}) if registered else {}
    return Champions(properties.get(CHAMPION), properties.get(PREVIOUS))


def record_decision(
    config: RegistrationConfig,
    version: str,
    decision: PromotionDecision,
    extra: dict[str, str] | None = None,
    *,
    archive: bool = False,
) -> None:
    """Write the decision, its evidence and `extra` `promotion.*` properties (e.g. where the
    window came from) on the challenger's model version. `archive` (a challenger that failed
    the validation gate): archive it in the same update, so its verdict stays on record and
    nothing ever serves it."""
    registry = connect(config)
    model_version = registry.get_model_version(config.model_name, version)
    if model_version is None:
        raise ValueError(f"version {version!r} of {config.model_name!r} is not registered")
    model_version.custom_properties = {
        **(model_version.custom_properties or {}),
        **decision.properties(),
        **{f"promotion.{key}": value for key, value in (extra or {}).items()},
    }
    if archive:
        archive_version(registry, model_version, "; ".join(decision.reasons))
    else:
        registry.update(model_version)


def model_version_properties(config: RegistrationConfig, version: str) -> dict:
    """The custom properties of one version (its `promotion.*` decision among them)."""
    model_version = connect(config).get_model_version(config.model_name, version)
    if model_version is None:
        raise ValueError(f"version {version!r} of {config.model_name!r} is not registered")
    return dict(model_version.custom_properties or {})


def set_champion(config: RegistrationConfig, version: str) -> Champions:
    """Make `version` the champion; the champion until now becomes the previous one."""
    registry = connect(config)
    registered = registry.get_registered_model(config.model_name)
    if registered is None:
        raise ValueError(f"{config.model_name!r} is not registered")
    properties = dict(registered.custom_properties or {})
    current = properties.get(CHAMPION)
    if current != version:
        properties[CHAMPION] = version
        if current is not None:
            properties[PREVIOUS] = current
    registered.custom_properties = properties
    registry.update(registered)
    return Champions(properties.get(CHAMPION), properties.get(PREVIOUS))


def model_file(config: RegistrationConfig, version: str) -> Path:
    """A local copy of the version's `model.onnx`: its folder (file://) or downloaded (s3://,
    with the data connection of `config`)."""
    from braking_release.register import registered_version
    from braking_release.storage import ModelStorage

    registered = registered_version(version, config)
    location = urlsplit(registered.uri)
    if location.scheme in ("", "file"):
        return Path(location.path) / "model.onnx"
    if registered.storage_path is None:
        raise ValueError(f"version {version!r} is stored at {registered.uri} with no S3 path")
    target = Path(tempfile.mkdtemp(prefix=f"champion-{version}-")) / "model.onnx"
    return ModelStorage(config.connection).download_model(registered.storage_path, target)
