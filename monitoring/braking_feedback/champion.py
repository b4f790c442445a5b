"""Champion and challenger on the Model Registry, through the official client.

The registered model carries `champion_version` (the version serving now) and
`previous_champion_version` (what `rollback` returns to) as custom properties; every compared
challenger version carries its decision and evidence as `promotion.*` properties.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from braking_monitoring.promotion import PromotionDecision
from braking_release.config import DeployConfig, RegistrationConfig
from braking_release.deploy import Deployment, deploy_model
from braking_release.register import (
    RegisteredModelVersion,
    RegistrationError,
    connect,
)
from braking_release.register import registered_version as find_registered_version

CHAMPION = "champion_version"
PREVIOUS = "previous_champion_version"


class RollbackError(RuntimeError):
    """No previous champion to return to, or its model cannot be found."""


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


def record_decision(config: RegistrationConfig, version: str, decision: PromotionDecision) -> None:
    """Write the decision and its evidence on the challenger's model version."""
    registry = connect(config)
    model_version = registry.get_model_version(config.model_name, version)
    if model_version is None:
        raise ValueError(f"version {version!r} of {config.model_name!r} is not registered")
    model_version.custom_properties = {
        **(model_version.custom_properties or {}),
        **decision.properties(),
    }
    registry.update(model_version)


def set_champion(config: RegistrationConfig, version: str) -> Champions:
    """Make `version` the champion; the champion until now becomes the previous one."""
    registry = connect(config)
    registered = registry.get_registered_model(config.model_name)
    properties = dict(registered.custom_properties or {})
    current = properties.get(CHAMPION)
    if current != version:
        properties[CHAMPION] = version
        if current is not None:
            properties[PREVIOUS] = current
    registered.custom_properties = properties
    registry.update(registered)
    return Champions(properties.get(CHAMPION), properties.get(PREVIOUS))


def registered_version(config: RegistrationConfig, version: str) -> RegisteredModelVersion:
    """Ids and location of a registered version, as registration returns them."""
    try:
        return find_registered_version(version, config)
    except RegistrationError as error:
        raise RollbackError(str(error)) from None


def rollback(registration: RegistrationConfig, deploy: DeployConfig) -> Deployment:
    """Serve the previous champion again and record it as the champion.

    Locally the served version is the newest folder of the model repository (OVMS rule), so
    the newer folders are removed first; on KServe the InferenceService points back at it.
    """
    state = champions(registration)
    if state.previous is None:
        raise RollbackError(f"{registration.model_name!r} has no previous champion to roll back to")
    previous = registered_version(registration, state.previous)
    model_dir = Path(urlsplit(previous.uri).path) if previous.uri.startswith("file:") else Path()
    if deploy.target == "local":
        number = re.search(r"\d+$", state.previous)
        if number is None:
            raise RollbackError(f"version name {state.previous!r} has no number to serve it by")
        _drop_newer_versions(deploy, int(number.group()))
    deployment = deploy_model(model_dir, deploy, registered=previous)
    set_champion(registration, state.previous)
    return deployment


def _drop_newer_versions(deploy: DeployConfig, version: int) -> None:
    from braking_serving.repository import model_versions
    from braking_stack.config import StackConfig

    root = (deploy.local.repository or StackConfig().model_repository) / deploy.name
    for newer in (v for v in model_versions(root) if v > version):
        shutil.rmtree(root / str(newer))
