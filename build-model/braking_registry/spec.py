"""The Model Registry OpenAPI document, turned into request validators.

The server ships a copy of the upstream `model-registry.yaml` (tests check it matches
`../shared/reference`). OpenAPI 3.0 schemas are almost JSON Schema; the one construct that
needs translating is `oneOf` + `discriminator`: the artifact variants accept each other's
bodies, so a plain `oneOf` would reject every artifact as "matches more than one". We select
the variant by the discriminator value instead, which is what OpenAPI means.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from importlib.resources import files
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

API_PREFIX = "/api/model_registry/v1alpha3"
# model-registry client >= 0.3.10 calls the same API under /v1 (upstream renamed the prefix).
API_PREFIXES = (API_PREFIX, "/api/model_registry/v1")
_SCHEMA_REF = "#/components/schemas/"
_ANNOTATIONS = {"discriminator", "example", "examples", "xml", "externalDocs"}


class InvalidRequest(ValueError):
    """A request the API cannot accept; `field` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def spec_text() -> str:
    """The bundled OpenAPI document, verbatim."""
    return (files("braking_registry") / "openapi" / "model-registry.yaml").read_text("utf-8")


@cache
def load_spec() -> dict[str, Any]:
    """The bundled OpenAPI document, parsed once per process."""
    return yaml.load(spec_text(), Loader=yaml.CSafeLoader)


def _to_json_schema(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": "#/$defs/" + node["$ref"].removeprefix(_SCHEMA_REF)}
    converted = {k: _to_json_schema(v) for k, v in node.items() if k not in _ANNOTATIONS}
    discriminator = node.get("discriminator")
    if discriminator and "oneOf" in node:
        prop = discriminator["propertyName"]
        mapping = discriminator["mapping"]
        del converted["oneOf"]
        converted["type"] = "object"
        converted["required"] = [prop]
        converted["properties"] = {prop: {"enum": sorted(mapping)}}
        converted["allOf"] = [
            {
                "if": {"properties": {prop: {"const": value}}},
                "then": {"$ref": "#/$defs/" + ref.removeprefix(_SCHEMA_REF)},
            }
            for value, ref in mapping.items()
        ]
    return converted


_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}*(?:#{_URI_CHAR}*)?")
FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("uri")
def _is_uri(value: object) -> bool:
    """RFC 3986 URI syntax: a scheme, then only URI characters or %-escapes."""
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


@FORMAT_CHECKER.checks("byte", raises=binascii.Error)
def _is_base64(value: object) -> bool:
    return not isinstance(value, str) or base64.b64decode(value, validate=True) is not None


def json_schema_validator(spec: dict[str, Any], schema_name: str) -> Draft202012Validator:
    """A validator for `components.schemas.<schema_name>` of an OpenAPI 3.0 document,
    with OpenAPI's discriminator semantics and the `uri` / `byte` formats checked."""
    definitions = _to_json_schema(spec["components"]["schemas"])
    schema = {"$ref": f"#/$defs/{schema_name}", "$defs": definitions}
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """A validator for a schema of the bundled spec."""
    return json_schema_validator(load_spec(), schema_name)


def _field_path(error: ValidationError) -> str:
    path = ".".join(str(part) for part in error.absolute_path)
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path = f"{path}.{missing}" if path else missing
    return path or "body"


def validate_body(schema_name: str, body: Any) -> None:
    """Raise `InvalidRequest` naming the first offending field when `body` breaks the schema."""
    error = best_match(validator(schema_name).iter_errors(body))
    if error is not None:
        raise InvalidRequest(_field_path(error), f"{error.message} (schema {schema_name})")


@cache
def schema_properties(schema_name: str) -> frozenset[str]:
    """Every property a schema declares, following `allOf` and `$ref`."""
    schemas = load_spec()["components"]["schemas"]

    def collect(node: dict[str, Any]) -> set[str]:
        if "$ref" in node:
            return collect(schemas[node["$ref"].removeprefix(_SCHEMA_REF)])
        names = set(node.get("properties", {}))
        for part in node.get("allOf", []):
            names |= collect(part)
        return names

    return frozenset(collect(schemas[schema_name]))


def enum_values(schema_name: str) -> tuple[str, ...]:
    """The allowed values of an enum schema such as `OrderByField`."""
    return tuple(load_spec()["components"]["schemas"][schema_name]["enum"])
