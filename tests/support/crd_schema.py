"""Strict validation of custom resources against the OpenAPI v3 schemas of their CRDs.

The API server with strict field validation (`kubectl apply --validate=strict`, the default
since Kubernetes 1.27) rejects a field its structural schema does not declare instead of
silently pruning it. This module reproduces that: each CRD version's `openAPIV3Schema` is
turned into a JSON Schema in which every object without `additionalProperties` or
`x-kubernetes-preserve-unknown-fields` forbids unknown keys. Kubernetes extensions are
honoured: `x-kubernetes-int-or-string`, `x-kubernetes-embedded-resource` (apiVersion, kind
and metadata allowed and checked), `x-kubernetes-list-type: set|map` uniqueness, `nullable`,
`int32`/`int64` ranges, and `metadata` checked as an ObjectMeta (string labels/annotations).
CEL rules (`x-kubernetes-validations`) are not evaluated.

Usage::

    schemas = CrdSchemas.from_paths([shared_reference / "crds"])
    schemas.validate(manifest)          # raises ManifestError listing every violation
    errors = schemas.errors(manifest)   # or get the messages
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import yaml

_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_INT_RANGES = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}
_QUALIFIED_NAME = r"([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)"
_LABEL_KEY = (
    rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{_QUALIFIED_NAME}$"
)
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}

# ObjectMeta as a client may write it (server-managed fields are accepted, never required).
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {
            "type": "string",
            "maxLength": 253,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        },
        "generateName": {"type": "string"},
        "namespace": {
            "type": "string",
            "maxLength": 63,
            "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        },
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": _LABEL_KEY, "maxLength": 317},
            "additionalProperties": {
                "type": "string",
                "maxLength": 63,
                "pattern": rf"^({_QUALIFIED_NAME})?$",
            },
        },
        "annotations": {
            "type": "object",
            "propertyNames": {"pattern": _LABEL_KEY},
            "additionalProperties": {"type": "string"},
        },
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        "uid": {"type": "string"},
        "resourceVersion": {"type": "string"},
        "generation": {"type": "integer"},
        "creationTimestamp": {"type": ["string", "null"]},
        "deletionTimestamp": {"type": ["string", "null"]},
        "deletionGracePeriodSeconds": {"type": "integer"},
        "managedFields": {"type": "array"},
        "selfLink": {"type": "string"},
    },
}


class ManifestError(ValueError):
    """A manifest the API server would reject; `errors` holds one message per violation."""

    def __init__(self, where: str, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{where}: " + "; ".join(errors))


@dataclass(frozen=True)
class CrdVersion:
    group: str
    version: str
    kind: str
    source: Path
    validator: jsonschema.protocols.Validator


def _list_type_check(
    validator: Any, list_type: str, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    """`x-kubernetes-list-type`: `set` items are unique, `map` items unique by their keys."""
    if not isinstance(instance, list):
        return
    if list_type == "set":
        seen: list[Any] = []
        for item in instance:
            if item in seen:
                yield jsonschema.ValidationError(f"Duplicate value: {item!r}")
            seen.append(item)
    elif list_type == "map":
        keys = schema.get("x-kubernetes-list-map-keys", [])
        seen_keys: set[tuple] = set()
        for item in instance:
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k) for k in keys)
            if key in seen_keys:
                shown = ", ".join(f"{k}={v!r}" for k, v in zip(keys, key, strict=True))
                yield jsonschema.ValidationError(f"Duplicate value: map entry with {shown}")
            seen_keys.add(key)


def _int_format_check(
    validator: Any, fmt: str, instance: Any, schema: dict
) -> Iterator[jsonschema.ValidationError]:
    bounds = _INT_RANGES.get(fmt)
    if bounds and isinstance(instance, int) and not isinstance(instance, bool):
        low, high = bounds
        if not low <= instance <= high:
            yield jsonschema.ValidationError(f"{instance} is out of the {fmt} range")


_StrictValidator = jsonschema.validators.extend(
    jsonschema.Draft202012Validator,
    {"x-kubernetes-list-type": _list_type_check, "format": _int_format_check},
)


def to_strict_json_schema(schema: dict[str, Any], *, root: bool = False) -> dict[str, Any]:
    """Translate a structural CRD schema into a JSON Schema forbidding unknown fields."""
    out = {k: v for k, v in schema.items() if k not in ("properties", "items", "nullable")}
    if schema.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if "properties" in schema:
        out["properties"] = {k: to_strict_json_schema(v) for k, v in schema["properties"].items()}
    if isinstance(schema.get("items"), dict):
        out["items"] = to_strict_json_schema(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = to_strict_json_schema(schema["additionalProperties"])
    for keyword in ("allOf", "anyOf", "oneOf"):
        if keyword in schema and not schema.get("x-kubernetes-int-or-string"):
            out[keyword] = [to_strict_json_schema(s) for s in schema[keyword]]
    if "not" in schema:
        out["not"] = to_strict_json_schema(schema["not"])
    if root or schema.get("x-kubernetes-embedded-resource"):
        props = out.setdefault("properties", {})
        props["apiVersion"] = {"type": "string"}
        props["kind"] = {"type": "string"}
        props["metadata"] = copy.deepcopy(OBJECT_META)
    is_object = schema.get("type") == "object" or "properties" in schema
    if (
        is_object
        and "additionalProperties" not in schema
        and not schema.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def _path(error: jsonschema.ValidationError) -> str:
    text = ""
    for part in error.absolute_path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}" if text else str(part)
    return text or "<root>"


def _message(error: jsonschema.ValidationError) -> str:
    where = _path(error)
    if error.validator == "additionalProperties" and error.validator_value is False:
        known = set(error.schema.get("properties", {}))
        unknown = sorted(k for k in error.instance if k not in known)
        prefix = "" if where == "<root>" else f"{where}."
        return "; ".join(f'unknown field "{prefix}{name}"' for name in unknown)
    if error.validator == "required":
        return f"{where}: {error.message}"
    return f"{where}: {error.message} (got {error.instance!r})"


class CrdSchemas:
    """The CRD versions found in some YAML files, ready to validate manifests strictly."""

    def __init__(self, versions: Iterable[CrdVersion]) -> None:
        self._versions = {(v.group, v.version, v.kind): v for v in versions}

    @classmethod
    def from_paths(cls, paths: Iterable[Path]) -> CrdSchemas:
        """Load every CRD in the given files or folders (`*.yaml`, `*.yml`)."""
        found: list[CrdVersion] = []
        for path in paths:
            files = sorted(path.glob("*.y*ml")) if path.is_dir() else [path]
            for file in files:
                for doc in yaml.load_all(file.read_text(), Loader=_YAML_LOADER):
                    if doc and doc.get("kind") == "CustomResourceDefinition":
                        found.extend(_crd_versions(doc, file))
        if not found:
            raise FileNotFoundError(f"no CustomResourceDefinition in {list(paths)}")
        return cls(found)

    def kinds(self) -> list[str]:
        return sorted(f"{g}/{v} {k}" for g, v, k in self._versions)

    def handles(self, manifest: dict[str, Any]) -> bool:
        return self._lookup(manifest) is not None

    def _lookup(self, manifest: dict[str, Any]) -> CrdVersion | None:
        group, _, version = str(manifest.get("apiVersion", "")).rpartition("/")
        return self._versions.get((group, version, manifest.get("kind")))

    def errors(self, manifest: dict[str, Any]) -> list[str]:
        """Every violation as `path: message`; unknown fields as `unknown field "a.b"`."""
        crd = self._lookup(manifest)
        if crd is None:
            return [
                f"no CRD schema for apiVersion {manifest.get('apiVersion')!r} "
                f"kind {manifest.get('kind')!r} (known: {', '.join(self.kinds())})"
            ]
        found = sorted(crd.validator.iter_errors(manifest), key=lambda e: list(e.absolute_path))
        return [_message(e) for e in found]

    def validate(self, manifest: dict[str, Any]) -> None:
        """Raise ManifestError naming the object and every violation."""
        if errors := self.errors(manifest):
            raise ManifestError(describe(manifest), errors)


def describe(manifest: dict[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    return f"{manifest.get('kind')} {meta.get('namespace', '')}/{meta.get('name')}".replace(
        " /", " "
    )


def _crd_versions(crd: dict[str, Any], source: Path) -> Iterator[CrdVersion]:
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = to_strict_json_schema(version["schema"]["openAPIV3Schema"], root=True)
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind"})
        yield CrdVersion(group, version["name"], kind, source, _StrictValidator(schema))
