"""Registry semantics over the store: validation, defaults, scoping and the API's JSON shape.

Kept free of HTTP so the rules (which fields a resource has, who its parent is, which names
must be unique where) read in one place; `server.py` only maps routes onto these calls.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from braking_registry.spec import InvalidRequest, enum_values, schema_properties, validate_body
from braking_registry.store import (
    ARTIFACT,
    MODEL_VERSION,
    REGISTERED_MODEL,
    Criteria,
    NotFound,
    RegistryStore,
    Row,
)

ID_PATTERN = re.compile(r"^[1-9][0-9]{0,8}$")
DEFAULT_PAGE_SIZE = 100
# Fields the server owns or keeps in columns rather than in the JSON body.
_COLUMN_FIELDS = {
    "id",
    "name",
    "externalId",
    "createTimeSinceEpoch",
    "lastUpdateTimeSinceEpoch",
    "registeredModelId",
    "artifactType",
}
ARTIFACT_SCHEMAS = {
    "model-artifact": "ModelArtifact",
    "doc-artifact": "DocArtifact",
    "dataset-artifact": "DataSet",
    "metric": "Metric",
    "parameter": "Parameter",
}


@dataclass(frozen=True)
class Kind:
    """How one resource kind maps onto the API."""

    kind: str
    label: str
    default_state: str
    parent_field: str | None = None


REGISTERED_MODELS = Kind(REGISTERED_MODEL, "RegisteredModel", "LIVE")
MODEL_VERSIONS = Kind(MODEL_VERSION, "ModelVersion", "LIVE", parent_field="registeredModelId")
ARTIFACTS = Kind(ARTIFACT, "Artifact", "UNKNOWN")


def parse_id(value: str | None, field: str) -> int:
    """A resource id from a path or query parameter (positive decimal, as the spec says)."""
    if value is None or not ID_PATTERN.match(value):
        raise InvalidRequest(field, f"{value!r} is not a resource id (expected 1..999999999)")
    return int(value)


def _response_schema(kind: Kind, type_: str) -> str:
    return ARTIFACT_SCHEMAS[type_] if kind is ARTIFACTS else kind.label


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
    if kind is ARTIFACTS:
        resource["artifactType"] = row.type
    return resource


def _body_fields(schema: str, body: Mapping[str, Any]) -> dict[str, Any]:
    allowed = schema_properties(schema) - _COLUMN_FIELDS
    return {key: value for key, value in body.items() if key in allowed}


def _artifact_type(body: Mapping[str, Any], fixed: str | None) -> str:
    declared = body.get("artifactType", fixed)
    if declared not in ARTIFACT_SCHEMAS or (fixed and declared != fixed):
        expected = fixed or ", ".join(ARTIFACT_SCHEMAS)
        raise InvalidRequest("artifactType", f"got {declared!r}, expected {expected}")
    return declared


class RegistryService:
    """The registry's operations, independent of the transport."""

    def __init__(self, store: RegistryStore) -> None:
        self.store = store

    def _check_parent(self, kind: Kind, parent_id: int | None) -> None:
        if kind is MODEL_VERSIONS and parent_id is not None:
            self.get_row(REGISTERED_MODELS, parent_id)
        if kind is ARTIFACTS and parent_id is not None:
            self.get_row(MODEL_VERSIONS, parent_id)

    def get_row(self, kind: Kind, resource_id: int) -> Row:
        """The stored row of `kind` with `resource_id`; NotFound otherwise."""
        try:
            return self.store.get(kind.kind, resource_id)
        except NotFound:
            raise NotFound(f"no {kind.label} with id {resource_id}") from None

    def create(
        self,
        kind: Kind,
        body: Any,
        schema: str,
        *,
        parent_id: int | None = None,
        artifact_type: str | None = None,
    ) -> dict[str, Any]:
        """Validate `body` against `schema` and store it as a new resource."""
        validate_body(schema, body)
        if body.get("name") == "":
            raise InvalidRequest("name", "must not be empty (omit it or give at least 1 character)")
        type_ = _artifact_type(body, artifact_type) if kind is ARTIFACTS else kind.kind
        if kind.parent_field:
            body_parent = parse_id(body.get(kind.parent_field), kind.parent_field)
            if parent_id is not None and body_parent != parent_id:
                raise InvalidRequest(
                    kind.parent_field, f"{body_parent} differs from the id {parent_id} in the path"
                )
            parent_id = body_parent
        self._check_parent(kind, parent_id)
        fields = _body_fields(_response_schema(kind, type_), body)
        fields.setdefault("state", kind.default_state)
        row = self.store.create(
            kind.kind,
            type_,
            fields,
            name=body.get("name"),
            external_id=body.get("externalId"),
            parent_id=parent_id,
        )
        return to_api(kind, row)

    def get(self, kind: Kind, resource_id: int) -> dict[str, Any]:
        """The resource of `kind` with `resource_id` as the API returns it."""
        return to_api(kind, self.get_row(kind, resource_id))

    def update(
        self,
        kind: Kind,
        resource_id: int,
        body: Any,
        schema: str,
        *,
        parent_id: int | None = None,
    ) -> dict[str, Any]:
        """Apply a PATCH: given fields replace stored ones, customProperties as a whole."""
        validate_body(schema, body)

        def change(current: Row) -> tuple[dict[str, Any], str | None, int | None]:
            if kind is ARTIFACTS:
                _artifact_type(body, current.type)
            patch = _body_fields(_response_schema(kind, current.type), body)
            return (
                {**current.body, **patch},
                body.get("externalId", current.external_id),
                current.parent_id if parent_id is None else parent_id,
            )

        try:
            row = self.store.update(kind.kind, resource_id, change)
        except NotFound:
            raise NotFound(f"no {kind.label} with id {resource_id}") from None
        return to_api(kind, row)

    def find(
        self,
        kind: Kind,
        query: Mapping[str, str],
        *,
        artifact_type: str | None = None,
    ) -> dict[str, Any]:
        """The resource matching `name` / `externalId` (and `parentResourceId`)."""
        name, external_id = query.get("name"), query.get("externalId")
        if name is None and external_id is None:
            raise InvalidRequest("name", "give a name or an externalId to search for")
        parent = query.get("parentResourceId")
        parent_id = None if parent is None else parse_id(parent, "parentResourceId")
        try:
            row = self.store.find(Criteria(kind.kind, artifact_type, name, external_id, parent_id))
        except NotFound:
            criteria = ", ".join(f"{k}={v!r}" for k, v in query.items() if v is not None)
            raise NotFound(f"no {kind.label} matches {criteria}") from None
        return to_api(kind, row)

    def list(
        self,
        kind: Kind,
        query: Mapping[str, str],
        *,
        parent_id: int | None = None,
        artifact_type: str | None = None,
    ) -> dict[str, Any]:
        """A page of resources as the spec's `*List` object."""
        if parent_id is not None:
            self._check_parent(kind, parent_id)
        page_size = DEFAULT_PAGE_SIZE
        if "pageSize" in query:
            page_size = parse_id(query["pageSize"], "pageSize")
        order_by = self._enum(query, "orderBy", "OrderByField", "ID")
        sort_order = self._enum(query, "sortOrder", "SortOrder", "ASC")
        if "artifactType" in query and artifact_type is None:
            artifact_type = self._enum(query, "artifactType", "ArtifactTypeQueryParam", "")
        if query.get("filterQuery"):
            raise InvalidRequest("filterQuery", "filter queries are not supported by this server")
        criteria = Criteria(
            kind.kind, artifact_type, query.get("name"), query.get("externalId"), parent_id
        )
        page = self.store.list(
            criteria,
            order_by=order_by,
            descending=sort_order == "DESC",
            page_size=page_size,
            page_token=query.get("nextPageToken") or None,
        )
        return {
            "items": [to_api(kind, row) for row in page.rows],
            "nextPageToken": page.next_page_token,
            "pageSize": page.page_size,
            "size": len(page.rows),
        }

    @staticmethod
    def _enum(query: Mapping[str, str], field: str, schema: str, default: str) -> str:
        value = query.get(field, default)
        allowed = enum_values(schema)
        if value not in allowed:
            raise InvalidRequest(field, f"got {value!r}, expected one of {', '.join(allowed)}")
        return value

    def upsert_version_artifact(self, version_id: int, body: Any) -> tuple[dict[str, Any], bool]:
        """Attach an artifact to a version: create it, or update the one named by `id`.

        Returns the artifact and whether it was created.
        """
        self.get_row(MODEL_VERSIONS, version_id)
        if isinstance(body, dict) and body.get("id") is not None:
            artifact_id = parse_id(body["id"], "id")
            return self.update(
                ARTIFACTS, artifact_id, body, "Artifact", parent_id=version_id
            ), False
        return self.create(ARTIFACTS, body, "Artifact", parent_id=version_id), True
