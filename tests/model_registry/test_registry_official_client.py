"""The unchanged official `model-registry` client works against the embedded server."""

from __future__ import annotations

import base64

import pytest
from model_registry.exceptions import StoreError


def _register(client, name: str, version: str, **kwargs):
    return client.register_model(
        name,
        f"file:///models/{name}/{version}",
        model_format_name="onnx",
        model_format_version="1",
        version=version,
        **kwargs,
    )


def test_register_then_get_model_version_and_artifact(registry):
    client = registry.client()
    metadata = {"accuracy": 0.93, "epochs": 12, "framework": "sklearn", "gated": True}

    model = _register(
        client,
        "braking-distance",
        "1",
        storage_key="conn",
        storage_path="models/x",
        metadata=metadata,
    )

    assert model.id and model.name == "braking-distance"
    assert client.get_registered_model("braking-distance").id == model.id
    version = client.get_model_version("braking-distance", "1")
    assert version.registered_model_id == model.id
    assert version.author == "tests"
    assert version.state.value == "LIVE"
    assert version.custom_properties == metadata  # int, double, string and bool round-trip
    artifact = client.get_model_artifact("braking-distance", "1")
    assert artifact.uri == "file:///models/braking-distance/1"
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    assert (artifact.storage_key, artifact.storage_path) == ("conn", "models/x")
    assert int(version.create_time_since_epoch) <= int(version.last_update_time_since_epoch)


def test_missing_things_are_none_or_store_errors(registry):
    client = registry.client()
    assert client.get_registered_model("absent") is None
    with pytest.raises(StoreError, match="does not exist"):
        client.get_model_version("absent", "1")
    _register(client, "present", "1")
    assert client.get_model_version("present", "2") is None


def test_duplicate_version_is_refused_but_names_are_scoped_per_model(registry):
    client = registry.client()
    _register(client, "alpha", "1")
    with pytest.raises(StoreError, match="already exists"):
        _register(client, "alpha", "1")
    _register(client, "beta", "1")  # the same version name in another model is fine
    assert client.get_model_version("beta", "1").name == "1"


def test_update_registered_model_version_and_artifact(registry):
    client = registry.client()
    _register(client, "m", "1", metadata={"a": 1})
    model = client.get_registered_model("m")
    model.description = "braking model"
    client.update(model)
    version = client.get_model_version("m", "1")
    version.description = "archived after a regression"
    version.state = "ARCHIVED"
    version.custom_properties = {"a": 2, "b": "new"}
    updated = client.update(version)
    artifact = client.get_model_artifact("m", "1")
    artifact.uri = "s3://bucket/models/m/1"
    client.update(artifact)

    assert client.get_registered_model("m").description == "braking model"
    fetched = client.get_model_version("m", "1")
    assert fetched.state.value == "ARCHIVED"
    assert fetched.custom_properties == {"a": 2, "b": "new"}  # replaced as a whole
    assert int(updated.last_update_time_since_epoch) >= int(updated.create_time_since_epoch)
    assert client.get_model_artifact("m", "1").uri == "s3://bucket/models/m/1"


def test_listing_versions_walks_every_page_once(registry):
    client = registry.client()
    names = [str(n) for n in range(1, 8)]
    for name in names:
        _register(client, "paged", name)

    assert [v.name for v in client.get_model_versions("paged").page_size(3)] == names
    newest_first = client.get_model_versions("paged").order_by_creation_time().descending()
    assert [v.name for v in newest_first.page_size(2)] == names[::-1]
    assert [m.name for m in client.get_registered_models()] == ["paged"]


def test_struct_and_proto_custom_properties_round_trip_over_rest(registry):
    """The client maps only bool/int/float/str; the API also stores struct and proto values."""
    blob = base64.b64encode(b'{"k": [1, 2]}').decode()
    properties = {
        "i": {"metadataType": "MetadataIntValue", "int_value": "-42"},
        "d": {"metadataType": "MetadataDoubleValue", "double_value": 0.5},
        "s": {"metadataType": "MetadataStringValue", "string_value": "x"},
        "b": {"metadataType": "MetadataBoolValue", "bool_value": False},
        "st": {"metadataType": "MetadataStructValue", "struct_value": blob},
        "p": {
            "metadataType": "MetadataProtoValue",
            "type": "type.googleapis.com/x",
            "proto_value": blob,
        },
    }
    with registry.http() as http:
        created = http.post(
            "/registered_models", json={"name": "props", "customProperties": properties}
        )
        assert created.status_code == 201, created.text
        fetched = http.get(f"/registered_models/{created.json()['id']}").json()
    assert fetched["customProperties"] == properties
    client = registry.client()
    assert client.get_registered_model("props").custom_properties["i"] == -42
