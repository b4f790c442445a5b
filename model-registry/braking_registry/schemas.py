"""The request bodies this server accepts, as JSON Schema (draft 2020-12).

Written for this project from what the Model Registry `v1alpha3` API accepts; tests compare
every schema here with the upstream OpenAPI document in `../shared/reference`, so the two
cannot drift apart silently.

Bodies are open objects (unknown keys are ignored, as upstream does) except the typed
`MetadataValue` variants, which upstream closes. A resource body is the union of its fields,
so schemas are built by merging field tables rather than with `allOf`, which keeps
validation errors pointing at one field.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

ENUMS: dict[str, tuple[str, ...]] = {
    "OrderByField": ("CREATE_TIME", "LAST_UPDATE_TIME", "ID"),
    "SortOrder": ("ASC", "DESC"),
    "ArtifactTypeQueryParam": (
        "model-artifact", "doc-artifact", "dataset-artifact", "metric", "parameter",
    ),
    "RegisteredModelState": ("LIVE", "ARCHIVED"),
    "ModelVersionState": ("LIVE", "ARCHIVED"),
    "ArtifactState": (
        "UNKNOWN", "PENDING", "LIVE", "MARKED_FOR_DELETION", "DELETED", "ABANDONED", "REFERENCE",
    ),
    "ParameterType": ("string", "number", "boolean", "object"),
    "ExperimentState": ("LIVE", "ARCHIVED"),
    "ExperimentRunState": ("LIVE", "ARCHIVED"),
    "ExperimentRunStatus": ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"),
    "InferenceServiceState": ("DEPLOYED", "UNDEPLOYED"),
    "ExecutionState": (
        "UNKNOWN", "NEW", "RUNNING", "COMPLETE", "FAILED", "CACHED", "CANCELED",
    ),
}  # fmt: skip

TEXT: Schema = {"type": "string"}
INT64: Schema = {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1}
# Resource ids travel as decimal strings; upstream caps them at 9 digits.
RESOURCE_ID: Schema = {"type": "string", "pattern": "^[1-9][0-9]{0,8}$"}


def _enum(name: str) -> Schema:
    return {"type": "string", "enum": list(ENUMS[name])}


def _closed(required: dict[str, Schema]) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": sorted(required),
        "properties": required,
    }


def discriminated(field: str, variants: dict[str, Schema]) -> Schema:
    """One of `variants`, chosen by the value of `field`.

    A plain `oneOf` would not do: the open artifact bodies match each other's schemas, so
    every artifact would be rejected as "valid under several". Selecting by the
    discriminator is what OpenAPI's `discriminator` means.
    """
    return {
        "type": "object",
        "required": [field],
        "properties": {field: {"enum": sorted(variants)}},
        "allOf": [
            {"if": {"properties": {field: {"const": value}}}, "then": schema}
            for value, schema in variants.items()
        ],
    }


# int_value is an int32 carried as a string, so JSON parsers keep it exact.
METADATA_VALUE = discriminated(
    "metadataType",
    {
        name: _closed({"metadataType": {"const": name}, **fields})
        for name, fields in {
            "MetadataIntValue": {
                "int_value": {"type": "string", "pattern": "^-?([1-9][0-9]{0,8}|0)$"}
            },
            "MetadataDoubleValue": {"double_value": {"type": "number"}},
            "MetadataStringValue": {"string_value": TEXT},
            "MetadataStructValue": {"struct_value": {"type": "string", "format": "byte"}},
            "MetadataProtoValue": {
                "type": TEXT,
                "proto_value": {"type": "string", "format": "byte"},
            },
            "MetadataBoolValue": {"bool_value": {"type": "boolean"}},
        }.items()
    },
)

# Fields any client may PATCH; `name` is fixed once set, so it is only accepted on create.
UPDATABLE: dict[str, Schema] = {
    "customProperties": {"type": "object", "additionalProperties": METADATA_VALUE},
    "description": TEXT,
    "externalId": TEXT,
}
# The service also rejects "" for names the spec leaves unconstrained: a blank name cannot
# be found again by `?name=`.
NAMED: dict[str, Schema] = {"name": {"type": "string", "minLength": 1}}
# Server-generated fields, present when a client sends back a whole resource (upsert).
GENERATED: dict[str, Schema] = {
    "id": TEXT,
    "createTimeSinceEpoch": TEXT,
    "lastUpdateTimeSinceEpoch": TEXT,
}
ARTIFACT_GENERATED: dict[str, Schema] = {
    **GENERATED,
    "experimentId": RESOURCE_ID,
    "experimentRunId": RESOURCE_ID,
}

REGISTERED_MODEL_FIELDS: dict[str, Schema] = {
    **{name: TEXT for name in ("readme", "maturity", "provider", "license", "libraryName")},
    "language": {"type": "array", "items": TEXT},
    "tasks": {"type": "array", "items": TEXT},
    "logo": {"type": "string", "format": "uri"},
    "licenseLink": {"type": "string", "format": "uri"},
    "owner": TEXT,
    "state": _enum("RegisteredModelState"),
}
MODEL_VERSION_FIELDS: dict[str, Schema] = {"author": TEXT, "state": _enum("ModelVersionState")}
_MODEL_ARTIFACT_TEXT = (
    "uri", "modelFormatName", "modelFormatVersion", "storageKey", "storagePath",
    "serviceAccountName", "modelSourceKind", "modelSourceClass", "modelSourceGroup",
    "modelSourceId", "modelSourceName",
)  # fmt: skip
# artifactType -> (schema name prefix, the type's own fields).
ARTIFACT_TYPES: dict[str, tuple[str, dict[str, Schema]]] = {
    "model-artifact": ("ModelArtifact", {name: TEXT for name in _MODEL_ARTIFACT_TEXT}),
    "doc-artifact": ("DocArtifact", {"uri": TEXT}),
    "dataset-artifact": (
        "DataSet",
        {name: TEXT for name in ("uri", "digest", "sourceType", "source", "schema", "profile")},
    ),
    "metric": (
        "Metric",
        {"value": {"type": "number"}, "timestamp": TEXT, "step": INT64},
    ),
    "parameter": ("Parameter", {"value": TEXT, "parameterType": _enum("ParameterType")}),
}


def _object(fields: dict[str, Schema], required: tuple[str, ...] = ()) -> Schema:
    schema: Schema = {"type": "object", "properties": fields}
    if required:
        schema["required"] = list(required)
    return schema


def _resource_schemas(name: str, own: dict[str, Schema], required: tuple[str, ...]) -> Schema:
    """`<name>Update`, `<name>Create` and `<name>` (the whole resource) for one kind."""
    generated = ARTIFACT_GENERATED if "artifactType" in own else GENERATED
    update = {**UPDATABLE, **own}
    return {
        f"{name}Update": _object(update),
        f"{name}Create": _object({**update, **NAMED}, required),
        name: _object({**update, **NAMED, **generated}, required),
    }


EPOCH_MS: Schema = {"type": "string"}
# name -> (own updatable fields, fields only accepted on create, required on create).
OTHER_RESOURCES: dict[str, tuple[dict[str, Schema], dict[str, Schema], tuple[str, ...]]] = {
    "Experiment": ({"owner": TEXT, "state": _enum("ExperimentState")}, {}, ("name",)),
    "ExperimentRun": (
        {
            "endTimeSinceEpoch": EPOCH_MS,
            "status": _enum("ExperimentRunStatus"),
            "state": _enum("ExperimentRunState"),
            "owner": TEXT,
        },
        {"experimentId": RESOURCE_ID, "startTimeSinceEpoch": EPOCH_MS},
        ("experimentId",),
    ),
    "ServingEnvironment": ({}, {}, ("name",)),
    "InferenceService": (
        {
            "modelVersionId": RESOURCE_ID,
            "runtime": TEXT,
            "desiredState": _enum("InferenceServiceState"),
        },
        {"registeredModelId": RESOURCE_ID, "servingEnvironmentId": RESOURCE_ID},
        ("registeredModelId", "servingEnvironmentId"),
    ),
    "ServeModel": (
        {"lastKnownState": _enum("ExecutionState")},
        {"modelVersionId": RESOURCE_ID},
        ("modelVersionId",),
    ),
}


def _other_schemas(name: str) -> dict[str, Schema]:
    own, on_create, required = OTHER_RESOURCES[name]
    update = {**UPDATABLE, **own}
    create = {**update, **NAMED, **on_create}
    return {
        f"{name}Update": _object(update),
        f"{name}Create": _object(create, required),
        name: _object({**create, **GENERATED}, required),
    }


def _build() -> dict[str, Schema]:
    schemas: dict[str, Schema] = {}
    for name in OTHER_RESOURCES:
        schemas |= _other_schemas(name)
    schemas |= _resource_schemas("RegisteredModel", REGISTERED_MODEL_FIELDS, ("name",))
    version_fields = {**MODEL_VERSION_FIELDS, "registeredModelId": RESOURCE_ID}
    schemas |= _resource_schemas("ModelVersion", version_fields, ("name", "registeredModelId"))
    # A version belongs to its model for good, so the update body has no registeredModelId.
    schemas["ModelVersionUpdate"] = _object({**UPDATABLE, **MODEL_VERSION_FIELDS})
    for prefix, fields in ARTIFACT_TYPES.values():
        own = {"artifactType": TEXT, **fields, "state": _enum("ArtifactState")}
        schemas |= _resource_schemas(prefix, own, ())
    for suffix in ("", "Create", "Update"):
        variants = {kind: schemas[prefix + suffix] for kind, (prefix, _) in ARTIFACT_TYPES.items()}
        schemas[f"Artifact{suffix}"] = discriminated("artifactType", variants)
    schemas["MetadataValue"] = METADATA_VALUE
    return schemas


SCHEMAS: dict[str, Schema] = _build()
