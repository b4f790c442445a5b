"""Rollback to the previous champion; the champion records themselves live in
`braking_monitoring.champions` (the pipeline's compare and deploy steps use them too)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

from braking_monitoring.champions import champions, set_champion
from braking_release.config import DeployConfig, RegistrationConfig
from braking_release.deploy import Deployment, deploy_model
from braking_release.register import RegisteredModelVersion, RegistrationError
from braking_release.register import registered_version as find_registered_version


class RollbackError(RuntimeError):
    """No previous champion to return to, or its model cannot be found."""


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
