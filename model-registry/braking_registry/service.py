"""Registry semantics over the store: validation, defaults, scoping and the API's JSON shape.

Kept free of HTTP so the rules (which fields a resource has, who its parent is, which names
must be unique where) read in one place; `routes.py` only maps paths onto these calls. Every
kind is handled by the same code, driven by its description in `resources.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from braking_registry import limits
from braking_registry.filter_query import FilterSyntaxError, parse
from braking_registry.filter_sql import Condition, to_condition
from braking_registry.resources import (
    ARTIFACT_SCHEMAS,
    ARTIFACTS,
    KINDS,
    Kind,
    filter_fields,
    stored_fields,
    to_api,
)
from braking_registry.spec import InvalidRequest, enum_values, schema_properties, validate_body
from braking_registry.store import Criteria, NotFound, RegistryStore, Row

ID_PATTERN = re.compile(r"^[1-9][0-9]{0,8}$")
DEFAULT_PAGE_SIZE = 100


def parse_id(value: Any, field: str) -> int:
    """A resource id from a path, query or body field (positive decimal, as the spec says)."""
    if not isinstance(value, str) or not ID_PATTERN.match(value):
        raise InvalidRequest(field, f"{value!r} is not a resource id (expected 1..999999999)")
    return int(value)


def _artifact_type(body: Mapping[str, Any], fixed: str | None) -> str:
    declared = body.get("artifactType", fixed)
    if declared not in ARTIFACT_SCHEMAS or (fixed and declared != fixed):
        expected = fixed or ", ".join(ARTIFACT_SCHEMAS)
        raise InvalidRequest("artifactType", f"got {declared!r}, expected {expected}")
    return declared


def _and(*conditions: Condition | None) -> Condition | None:
    present = [c for c in conditions if c is not None]
    if not present:
        return None
    return Condition(" AND ".join(c.sql for c in present), sum((c.params for c in present), ()))


class RegistryService:
    """The registry's operations, independent of the transport."""

    def __init__(self, store: RegistryStore) -> None:
        self.store = store

    def get_row(self, kind: Kind, resource_id: int) -> Row:
        """The stored resource; `NotFound` naming the kind and id otherwise."""
        try:
            return self.store.get(kind.kind, resource_id)
        except NotFound:
            raise NotFound(f"no {kind.label} with id {resource_id}") from None

    def get(self, kind: Kind, resource_id: int) -> dict[str, Any]:
        """The resource of `kind` with `resource_id` as the API returns it."""
        return to_api(kind, self.get_row(kind, resource_id))

    def _check_references(self, kind: Kind, body: Mapping[str, Any], model_id: Any) -> None:
        """Ids in the body name existing resources; a served version belongs to its model."""
        for field, referenced in kind.references.items():
            if body.get(field) is None:
                continue
            row = self.get_row(KINDS[referenced], parse_id(body[field], field))
            foreign = model_id is not None and str(row.parent_id) != model_id
            if field == "modelVersionId" and foreign:
                raise InvalidRequest(
                    field,
                    f"version {row.id} belongs to registered model {row.parent_id}, "
                    f"not to registeredModelId {model_id}",
                )

    def _parent_of(self, kind: Kind, body: Mapping[str, Any], path_parent: int | None) -> Any:
        if not kind.parent_field:
            return path_parent
        body_parent = parse_id(body.get(kind.parent_field), kind.parent_field)
        if path_parent is not None and body_parent != path_parent:
            raise InvalidRequest(
                kind.parent_field, f"{body_parent} differs from the id {path_parent} in the path"
            )
        self.get_row(KINDS[kind.parent_kind or ""], body_parent)
        return body_parent

    def create(
        self,
        kind: Kind,
        body: Any,
        schema: str,
        *,
        parent_id: int | None = None,
        artifact_type: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Validate `body` against `schema` and store it as a new resource.

        `parent_id` comes from the path (checked by the caller); `extra` adds server-set fields.
        """
        validate_body(schema, body)
        limits.check_fields(body)
        if body.get("name") == "":
            raise InvalidRequest("name", "must not be empty (omit it or give at least 1 character)")
        type_ = _artifact_type(body, artifact_type) if kind.artifact else kind.kind
        parent_id = self._parent_of(kind, body, parent_id)
        limits.check_name(kind.schema(type_), body.get("name"), parent_id)
        self._check_references(kind, body, body.get("registeredModelId"))
        allowed = stored_fields(kind, type_)
        fields = {key: value for key, value in body.items() if key in allowed}
        fields |= extra or {}
        for key, default in kind.defaults.items():
            fields.setdefault(key, default)
        row = self.store.create(
            kind.kind,
            type_,
            fields,
            name=body.get("name"),
            external_id=body.get("externalId"),
            parent_id=parent_id,
        )
        return to_api(kind, row)

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
        limits.check_fields(body)

        def change(current: Row) -> tuple[dict[str, Any], str | None, int | None]:
            if kind.artifact:
                _artifact_type(body, current.type)
                allowed = stored_fields(kind, current.type)
            else:
                allowed = schema_properties(f"{kind.label}Update")
            patch = {key: value for key, value in body.items() if key in allowed}
            self._check_references(kind, patch, current.body.get("registeredModelId"))
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
        self, kind: Kind, query: Mapping[str, str], *, artifact_type: str | None = None
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
            criteria = ", ".join(f"{k}={v[:80]!r}" for k, v in query.items() if v is not None)
            raise NotFound(f"no {kind.label} matches {criteria}") from None
        return to_api(kind, row)

    def list(
        self,
        kind: Kind,
        query: Mapping[str, str],
        *,
        parent: tuple[Kind, int] | None = None,
        artifact_type: str | None = None,
        condition: Condition | None = None,
    ) -> dict[str, Any]:
        """A page of resources as the spec's `*List` object (optionally under `parent`)."""
        if parent is not None:
            self.get_row(*parent)
        page_size = DEFAULT_PAGE_SIZE
        if "pageSize" in query:
            page_size = parse_id(query["pageSize"], "pageSize")
        order_by = self._enum(query, "orderBy", "OrderByField", "ID")
        sort_order = self._enum(query, "sortOrder", "SortOrder", "ASC")
        if "artifactType" in query and artifact_type is None:
            artifact_type = self._enum(query, "artifactType", "ArtifactTypeQueryParam", "")
        criteria = Criteria(
            kind.kind,
            artifact_type,
            query.get("name"),
            query.get("externalId"),
            parent[1] if parent else None,
        )
        page = self.store.list(
            criteria,
            order_by=order_by,
            descending=sort_order == "DESC",
            page_size=page_size,
            page_token=query.get("nextPageToken") or None,
            condition=_and(self._filter(kind, query, artifact_type), condition),
        )
        return {
            "items": [to_api(kind, row) for row in page.rows],
            "nextPageToken": page.next_page_token,
            "pageSize": page.page_size,
            "size": len(page.rows),
        }

    @staticmethod
    def _filter(kind: Kind, query: Mapping[str, str], artifact_type: str | None) -> Any:
        try:
            node = parse(query.get("filterQuery") or "")
            return None if node is None else to_condition(node, filter_fields(kind, artifact_type))
        except FilterSyntaxError as error:
            raise InvalidRequest("filterQuery", str(error)) from None

    @staticmethod
    def _enum(query: Mapping[str, str], field: str, schema: str, default: str) -> str:
        value = query.get(field, default)
        allowed = enum_values(schema)
        if value not in allowed:
            raise InvalidRequest(field, f"got {value[:80]!r}, expected one of {', '.join(allowed)}")
        return value

    def upsert_artifact(
        self, parent_kind: Kind, parent_id: int, body: Any, extra: Mapping[str, Any] | None = None
    ) -> tuple[dict[str, Any], bool]:
        """Attach an artifact to a version or run: create it, or update the one named by `id`.

        Returns the artifact and whether it was created.
        """
        self.get_row(parent_kind, parent_id)
        if isinstance(body, dict) and body.get("id") is not None:
            artifact_id = parse_id(body["id"], "id")
            return self.update(ARTIFACTS, artifact_id, body, "Artifact", parent_id=parent_id), False
        created = self.create(ARTIFACTS, body, "Artifact", parent_id=parent_id, extra=extra)
        return created, True
