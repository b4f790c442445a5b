"""Where a model version serves, recorded in the Model Registry as OpenShift AI does.

    deployment = deploy_model(model_dir, deploy_config, registered=version)
    record_deployment(deployment, version, registration_config)
    ...
    record_undeployment("braking-distance", registration_config, environment="my-namespace")

A ServingEnvironment is the namespace (`local` on the embedded stack); in it, an
InferenceService named after the served model names the registered model, the version it
serves and the desired state (DEPLOYED / UNDEPLOYED), and each deployment adds a ServeModel
record, so the registry answers "which version serves where, and since when". Replacing the
model updates the same InferenceService. All calls use the client's generated API.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from braking_release.config import RegistrationConfig
from braking_release.register import RegisteredModelVersion, connect

if TYPE_CHECKING:
    from braking_release.deploy import Deployment

__all__ = ["LOCAL_ENVIRONMENT", "ServingRecord", "record_deployment", "record_undeployment"]

LOCAL_ENVIRONMENT = "local"


@dataclass(frozen=True)
class ServingRecord:
    """Ids of the serving records written."""

    serving_environment_id: str
    inference_service_id: str
    desired_state: str
    serve_model_id: str | None = None


async def _find(call, *args: Any, **kwargs: Any) -> Any:
    from mr_openapi.exceptions import NotFoundException

    try:
        return await call(*args, **kwargs)
    except NotFoundException:
        return None


async def _environment(api: Any, name: str) -> Any:
    from mr_openapi import ServingEnvironmentCreate

    found = await _find(api.find_serving_environment, name=name)
    return found or await api.create_serving_environment(ServingEnvironmentCreate(name=name))


def _properties(deployment: Deployment) -> dict[str, Any]:
    from mr_openapi import MetadataStringValue, MetadataValue

    values = {"url": deployment.url, "target": deployment.target}
    kind = "MetadataStringValue"
    return {
        key: MetadataValue(MetadataStringValue(string_value=value, metadataType=kind))
        for key, value in values.items()
    }


def record_deployment(
    deployment: Deployment,
    registered: RegisteredModelVersion,
    config: RegistrationConfig | None = None,
) -> ServingRecord:
    """Record that `registered` now serves as `deployment` (created or updated in place)."""
    from mr_openapi import (
        ExecutionState,
        InferenceServiceCreate,
        InferenceServiceState,
        InferenceServiceUpdate,
        ServeModelCreate,
    )

    registry = connect(config or RegistrationConfig())
    environment_name = deployment.namespace or LOCAL_ENVIRONMENT

    async def record() -> ServingRecord:
        async with registry._api.get_client() as api:
            environment = await _environment(api, environment_name)
            service = await _find(
                api.find_inference_service, name=deployment.name, parent_resource_id=environment.id
            )
            wanted = {
                "modelVersionId": registered.model_version_id,
                "desiredState": InferenceServiceState.DEPLOYED,
                "runtime": deployment.target,
                "customProperties": _properties(deployment),
            }
            if service is None:
                service = await api.create_environment_inference_service(
                    environment.id,
                    InferenceServiceCreate(
                        name=deployment.name,
                        registeredModelId=registered.registered_model_id,
                        servingEnvironmentId=environment.id,
                        **wanted,
                    ),
                )
            else:
                update = InferenceServiceUpdate(**wanted)
                service = await api.update_inference_service(service.id, update)
            serve = await api.create_inference_service_serve(
                service.id,
                ServeModelCreate(
                    modelVersionId=registered.model_version_id,
                    lastKnownState=ExecutionState.RUNNING,
                ),
            )
            return ServingRecord(environment.id, service.id, "DEPLOYED", serve.id)

    return registry.async_runner(record())


def record_undeployment(
    name: str,
    config: RegistrationConfig | None = None,
    *,
    environment: str | None = None,
) -> ServingRecord | None:
    """Mark the InferenceService `name` UNDEPLOYED (None when it was never recorded)."""
    from mr_openapi import InferenceServiceState, InferenceServiceUpdate

    registry = connect(config or RegistrationConfig())

    async def record() -> ServingRecord | None:
        async with registry._api.get_client() as api:
            found = await _find(api.find_serving_environment, name=environment or LOCAL_ENVIRONMENT)
            service = found and await _find(
                api.find_inference_service, name=name, parent_resource_id=found.id
            )
            if not service:
                return None
            update = InferenceServiceUpdate(desiredState=InferenceServiceState.UNDEPLOYED)
            await api.update_inference_service(service.id, update)
            return ServingRecord(found.id, service.id, "UNDEPLOYED")

    return registry.async_runner(record())
