"""Every resource kind of the API, described once: its schema, parent, defaults and search keys.

The service, the routes and the filter compiler read these descriptions instead of
special-casing kinds, so a kind added to the spec is one entry here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from braking_registry.filter_sql import FilterFields
from braking_registry.spec import schema_properties
from braking_registry.store import Property, Row

ARTIFACT_SCHEMAS = {
    "model-artifact": "ModelArtifact",
    "doc-artifact": "DocArtifact",
    "dataset-artifact": "DataSet",
    "metric": "Metric",
    "parameter": "Parameter",
}
# Fields the server owns or keeps in columns rather than in the JSON body.
COLUMN_FIELDS = frozenset(
    {"id", "name", "externalId", "createTimeSinceEpoch", "lastUpdateTimeSinceEpoch", "artifactType"}
)
# Body fields too free-form to search: not copied into the property index.
UNSEARCHED = frozenset({"customProperties", "description", "readme", "language", "tasks"})
_INT64_TEXT = re.compile(r"^-?[0-9]{1,18}$")


@dataclass(frozen=True)
class Kind:
    """How one resource kind maps onto the API and the store.

    `parent_field` is the body field naming the parent (None when the API shows no such
    field); `references` are other id fields that must name an existing resource.
    """

    kind: str
    label: str
    defaults: dict[str, str] = field(default_factory=dict)
    parent_kind: str | None = None
    parent_field: str | None = None
    references: dict[str, str] = field(default_factory=dict)

    @property
    def artifact(self) -> bool:
        """Whether this kind is the artifact kind (typed by `artifactType`)."""
        return self.kind == "artifact"

    def schema(self, type_: str) -> str:
        """The response schema of a stored resource of this kind."""
        return ARTIFACT_SCHEMAS[type_] if self.artifact else self.label


REGISTERED_MODELS = Kind("registered_model", "RegisteredModel", {"state": "LIVE"})
MODEL_VERSIONS = Kind(
    "model_version",
    "ModelVersion",
    {"state": "LIVE"},
    parent_kind="registered_model",
    parent_field="registeredModelId",
)
ARTIFACTS = Kind("artifact", "Artifact", {"state": "UNKNOWN"})
EXPERIMENTS = Kind("experiment", "Experiment", {"state": "LIVE"})
EXPERIMENT_RUNS = Kind(
    "experiment_run",
    "ExperimentRun",
    {"state": "LIVE", "status": "RUNNING"},
    parent_kind="experiment",
    parent_field="experimentId",
)
SERVING_ENVIRONMENTS = Kind("serving_environment", "ServingEnvironment")
INFERENCE_SERVICES = Kind(
    "inference_service",
    "InferenceService",
    {"desiredState": "DEPLOYED"},
    parent_kind="serving_environment",
    parent_field="servingEnvironmentId",
    references={"registeredModelId": "registered_model", "modelVersionId": "model_version"},
)
SERVE_MODELS = Kind(
    "serve_model",
    "ServeModel",
    {"lastKnownState": "UNKNOWN"},
    parent_kind="inference_service",
    references={"modelVersionId": "model_version"},
)
# History of metric values logged on experiment runs (parent: the run).
METRIC_HISTORY = Kind("metric_history", "Metric", parent_kind="experiment_run")
KINDS = {
    kind.kind: kind
    for kind in (
        REGISTERED_MODELS, MODEL_VERSIONS, ARTIFACTS, EXPERIMENTS, EXPERIMENT_RUNS,
        SERVING_ENVIRONMENTS, INFERENCE_SERVICES, SERVE_MODELS, METRIC_HISTORY,
    )
}  # fmt: skip
# Artifacts hang under a model version or an experiment run.
ARTIFACT_PARENTS = ("model_version", "experiment_run")


def to_api(kind: Kind, row: Row) -> dict[str, Any]:
    """The JSON the API returns for a stored resource (ids and times as strings)."""
    resource: dict[str, Any] = dict(row.body)
    resource["id"] = str(row.id)
    if row.name is not None:
        resource["name"] = row.name
    if row.external_id is not None:
        resource["externalId"] = row.external_id
    resource["createTimeSinceEpoch"] = str(row.create_time)
    resource["lastUpdateTimeSinceEpoch"] = str(row.update_time)
    if kind.parent_field and row.parent_id is not None:
        resource[kind.parent_field] = str(row.parent_id)
    if kind.artifact or kind is METRIC_HISTORY:
        resource["artifactType"] = row.type
    return resource


def stored_fields(kind: Kind, type_: str) -> frozenset[str]:
    """Body fields kept in the stored JSON for a resource of this kind and type."""
    return schema_properties(kind.schema(type_)) - COLUMN_FIELDS - {kind.parent_field}


def _typed(value: Any) -> tuple[str | None, int | None, float | None, bool | None] | None:
    if isinstance(value, bool):
        return None, None, None, value
    if isinstance(value, int):  # the schemas bound stored integers to int64
        return (None, value, None, None) if abs(value) < 2**63 else None
    if isinstance(value, float):
        return None, None, value, None
    if isinstance(value, str):  # int64 fields travel as strings; make them range-searchable
        return value, int(value) if _INT64_TEXT.match(value) else None, None, None
    return None


def _custom(value: dict[str, Any]) -> tuple[str | None, int | None, float | None, bool | None]:
    metadata_type = value.get("metadataType")
    if metadata_type == "MetadataIntValue":
        return None, int(value["int_value"]), None, None
    if metadata_type == "MetadataDoubleValue":
        return None, None, float(value["double_value"]), None
    if metadata_type == "MetadataBoolValue":
        return None, None, None, bool(value["bool_value"])
    if metadata_type == "MetadataStringValue":
        return value["string_value"], None, None, None
    return None, None, None, None  # struct / proto values are not searchable


def index_properties(kind: str, type_: str, body: dict[str, Any]) -> list[Property]:
    """The searchable values of a stored body: well-known fields and custom properties."""
    properties: list[Property] = []
    for name, value in body.items():
        typed = None if name in UNSEARCHED else _typed(value)
        if typed is not None:
            properties.append((False, name, *typed))
    for name, value in (body.get("customProperties") or {}).items():
        properties.append((True, name, *_custom(value)))
    return properties


def filter_fields(kind: Kind, type_: str | None = None) -> FilterFields:
    """The names a filterQuery on this kind may use as columns, and its well-known fields."""
    columns: dict[str, tuple[str, type]] = {
        "id": ("id", int),
        "name": ("name", str),
        "externalId": ("external_id", str),
        "createTimeSinceEpoch": ("create_time", int),
        "lastUpdateTimeSinceEpoch": ("update_time", int),
    }
    if kind.parent_field:
        columns[kind.parent_field] = ("parent_id", int)
    types = [type_] if type_ else list(ARTIFACT_SCHEMAS) if kind.artifact else [kind.kind]
    well_known = set().union(*(stored_fields(kind, t) for t in types)) - UNSEARCHED
    return FilterFields(columns, frozenset(well_known))
