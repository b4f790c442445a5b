"""The official client's calls for names, documents, paging and serving records.

The installed `model-registry` client (0.3.18) has no experiment-run calls, and its generated
`mr_openapi` API has no experiment operations either; experiments are covered over REST in
test_registry_experiments.py.
"""

from __future__ import annotations

import pytest
from model_registry.types import DocArtifact
from mr_openapi import (
    InferenceServiceCreate,
    InferenceServiceState,
    InferenceServiceUpdate,
    ServingEnvironmentCreate,
)
from mr_openapi.exceptions import BadRequestException


def _register(client, name: str, version: str):
    return client.register_model(
        name, f"file:///{name}", model_format_name="onnx", model_format_version="1", version=version
    )


def test_version_names_fit_upstreams_prefixed_255_character_column(registry):
    client = registry.client()
    _register(client, "m", "y" * 250)
    assert client.get_model_version("m", "y" * 250).name == "y" * 250
    with pytest.raises(BadRequestException) as refused:
        _register(client, "m", "x" * 255)
    assert "name: 255 characters exceed the limit of 253" in refused.value.body


def test_a_doc_artifact_upserted_on_a_version_is_stored_and_returned(registry):
    client = registry.client()
    _register(client, "m", "1")
    version = client.get_model_version("m", "1")
    card = DocArtifact(name="model-card", uri="file:///m/card.md", description="card")

    stored = client.async_runner(client._api.upsert_model_version_artifact(card, version.id))

    assert isinstance(stored, DocArtifact) and stored.id and stored.uri == card.uri
    listed = client.async_runner(client._api.get_model_version_artifacts(version.id))
    assert [(type(a).__name__, a.name) for a in listed] == [
        ("ModelArtifact", "m"),
        ("DocArtifact", "model-card"),
    ]


def test_registered_models_list_in_order_page_by_page(registry):
    client = registry.client()
    names = [f"model-{n}" for n in range(5)]
    for name in names:
        _register(client, name, "1")
    model = client.get_registered_model("model-2")
    model.description = "updated"
    client.update(model)

    assert [m.name for m in client.get_registered_models().page_size(2)] == names
    newest_first = client.get_registered_models().order_by_creation_time().descending()
    assert [m.name for m in newest_first.page_size(2)] == names[::-1]
    by_update = client.get_registered_models().order_by_update_time().descending().page_size(3)
    assert next(iter(by_update)).name == "model-2"
    assert client.get_registered_model("model-2").description == "updated"


def test_serving_records_through_the_generated_api(registry):
    client = registry.client()
    _register(client, "m", "1")
    _register(client, "m", "2")
    model = client.get_registered_model("m")
    first = client.get_model_version("m", "1")

    async def record() -> tuple:
        async with client._api.get_client() as api:
            environment = await api.create_serving_environment(
                ServingEnvironmentCreate(name="local")
            )
            created = await api.create_environment_inference_service(
                environment.id,
                InferenceServiceCreate(
                    name="braking",
                    registeredModelId=model.id,
                    servingEnvironmentId=environment.id,
                ),
            )
            latest = await api.get_inference_service_version(created.id)
            await api.update_inference_service(
                created.id,
                InferenceServiceUpdate(
                    modelVersionId=first.id, desiredState=InferenceServiceState.UNDEPLOYED
                ),
            )
            pinned = await api.get_inference_service_version(created.id)
            served_model = await api.get_inference_service_model(created.id)
            found = await api.find_inference_service(
                name="braking", parent_resource_id=environment.id
            )
            return latest, pinned, served_model, found

    latest, pinned, served_model, found = client.async_runner(record())

    assert latest.name == "2"  # no version pinned: the model's latest
    assert pinned.name == "1"
    assert served_model.name == "m"
    assert found.desired_state == InferenceServiceState.UNDEPLOYED
    assert found.model_version_id == first.id
