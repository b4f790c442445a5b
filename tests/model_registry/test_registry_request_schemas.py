"""The project's own request schemas accept exactly what the upstream API accepts."""

from __future__ import annotations

import pytest
from registry_fixtures import reference_validator

from braking_registry.schemas import ENUMS, SCHEMAS
from braking_registry.spec import InvalidRequest, validate_body

PROPS = {
    "i": {"metadataType": "MetadataIntValue", "int_value": "-12"},
    "d": {"metadataType": "MetadataDoubleValue", "double_value": 0.5},
    "s": {"metadataType": "MetadataStringValue", "string_value": "x"},
    "st": {"metadataType": "MetadataStructValue", "struct_value": "e30="},
    "p": {"metadataType": "MetadataProtoValue", "type": "t", "proto_value": "AAE="},
    "b": {"metadataType": "MetadataBoolValue", "bool_value": True},
}
MODEL = {"artifactType": "model-artifact", "name": "onnx", "uri": "s3://b/k"}


def _collect(spec: dict, node: dict, key: str) -> set[str]:
    """Property names (`key`="properties") or required names of an upstream schema."""
    schemas = spec["components"]["schemas"]
    if "$ref" in node:
        return _collect(spec, schemas[node["$ref"].rsplit("/", 1)[1]], key)
    found = set(node.get(key, ()))
    for part in node.get("allOf", []):
        found |= _collect(spec, part, key)
    return found


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_schema_declares_the_upstream_fields(reference_spec, name):
    upstream = reference_spec["components"]["schemas"][name]
    ours = SCHEMAS[name]
    if "discriminator" in upstream:
        field, mapping = (
            upstream["discriminator"]["propertyName"],
            upstream["discriminator"]["mapping"],
        )
        assert ours["properties"] == {field: {"enum": sorted(mapping)}}
        return
    assert set(ours["properties"]) == _collect(reference_spec, upstream, "properties")
    assert set(ours.get("required", ())) == _collect(reference_spec, upstream, "required")


@pytest.mark.parametrize("name", sorted(ENUMS))
def test_enums_match_upstream(reference_spec, name):
    assert ENUMS[name] == tuple(reference_spec["components"]["schemas"][name]["enum"])


# (schema, body, field the error must name; None = valid)
CASES = [
    ("RegisteredModelCreate", {"name": "m", "customProperties": PROPS}, None),
    ("RegisteredModelCreate", {"name": "m", "logo": "data:image/png;base64,AA==", "x": 1}, None),
    ("RegisteredModelCreate", {"name": "m", "language": ["en"], "state": "ARCHIVED"}, None),
    ("RegisteredModelCreate", {"description": "no name"}, "name"),
    ("RegisteredModelCreate", {"name": "m", "state": "DELETED"}, "state"),
    ("RegisteredModelCreate", {"name": "m", "logo": "not a uri"}, "logo"),
    ("RegisteredModelCreate", {"name": "m", "language": "en"}, "language"),
    ("RegisteredModelUpdate", {"owner": 3}, "owner"),
    ("ModelVersionCreate", {"name": "1", "registeredModelId": "7", "author": "a"}, None),
    ("ModelVersionCreate", {"name": "1"}, "registeredModelId"),
    ("ModelVersionCreate", {"name": "1", "registeredModelId": "07"}, "registeredModelId"),
    ("ModelVersionCreate", {"name": "", "registeredModelId": "7"}, "name"),
    ("ModelVersionUpdate", {"state": "ARCHIVED", "registeredModelId": "whatever"}, None),
    ("ModelVersionUpdate", {"state": "PENDING"}, "state"),
    ("ModelVersion", {"name": "1", "registeredModelId": "7", "id": "3"}, None),
    ("ModelVersion", {"name": "1", "registeredModelId": "7", "id": 3}, "id"),
    ("ModelArtifactCreate", {"uri": "s3://b/k", "state": "LIVE", "storageKey": "k"}, None),
    ("ModelArtifactUpdate", {"state": "ARCHIVED"}, "state"),
    ("ArtifactCreate", {"artifactType": "metric", "name": "mae", "value": 0.1, "step": 2}, None),
    ("ArtifactCreate", {"artifactType": "metric", "name": "mae", "step": 1.5}, "step"),
    ("ArtifactCreate", {"artifactType": "parameter", "parameterType": "list"}, "parameterType"),
    ("ArtifactCreate", {"artifactType": "dataset-artifact", "digest": "d", "uri": "x"}, None),
    ("ArtifactCreate", {"name": "no type"}, "artifactType"),
    ("ArtifactCreate", {"artifactType": "video"}, "artifactType"),
    ("ArtifactUpdate", {"artifactType": "doc-artifact", "uri": 5}, "uri"),
    ("Artifact", {**MODEL, "id": "4", "experimentId": "12"}, None),
    ("Artifact", {**MODEL, "experimentId": "x"}, "experimentId"),
    (
        "RegisteredModelCreate",
        {"name": "m", "customProperties": {
            "n": {"metadataType": "MetadataIntValue", "int_value": 1}
        }},
        "customProperties.n.int_value",
    ),
    (
        "RegisteredModelCreate",
        {"name": "m", "customProperties": {"n": {"metadataType": "MetadataBoolValue"}}},
        "customProperties.n.bool_value",
    ),
    (
        "RegisteredModelCreate",
        {
            "name": "m",
            "customProperties": {
                "n": {"metadataType": "MetadataStringValue", "string_value": "s", "extra": 1}
            },
        },
        "customProperties.n",
    ),
    (
        "RegisteredModelCreate",
        {"name": "m", "customProperties": {
            "n": {"metadataType": "MetadataStructValue", "struct_value": "%%"}
        }},
        "customProperties.n.struct_value",
    ),
    (
        "RegisteredModelCreate",
        {"name": "m", "customProperties": {"n": "plain"}},
        "customProperties.n",
    ),
    ("RegisteredModelCreate", [{"name": "m"}], "body"),
]  # fmt: skip


@pytest.mark.parametrize(("schema", "body", "field"), CASES)
def test_verdicts_agree_with_the_upstream_spec(reference_spec, schema, body, field):
    upstream_valid = reference_validator(reference_spec, schema).is_valid(body)
    assert upstream_valid == (field is None), "the case itself contradicts the upstream spec"
    if field is None:
        validate_body(schema, body)
        return
    with pytest.raises(InvalidRequest) as raised:
        validate_body(schema, body)
    assert raised.value.field == field, str(raised.value)


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/registered_models", {"name": "m", "owner": ["a"]}, "owner"),
        ("/registered_models", {"name": "m", "licenseLink": "no scheme"}, "licenseLink"),
        ("/model_versions", {"name": "1", "registeredModelId": 5}, "registeredModelId"),
        ("/artifacts", {"artifactType": "metric", "value": "high"}, "value"),
        ("/model_artifacts", {"uri": "s3://b/k", "state": "GONE"}, "state"),
    ],
)
def test_server_rejects_bodies_the_spec_forbids_naming_the_field(
    registry, reference_spec, path, body, field
):
    schema = {
        "/registered_models": "RegisteredModelCreate",
        "/model_versions": "ModelVersionCreate",
    }
    schema |= {"/artifacts": "ArtifactCreate", "/model_artifacts": "ModelArtifactCreate"}
    assert not reference_validator(reference_spec, schema[path]).is_valid(body)
    with registry.http() as http:
        response = http.post(path, json=body)
        assert response.status_code == 400, response.text
        assert response.json()["message"].startswith(f"{field}:")
        assert http.post("/registered_models", json={"name": "still-serving"}).status_code == 201
