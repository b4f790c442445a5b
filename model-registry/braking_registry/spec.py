"""Request validation against the project's schemas (`schemas.py`), with errors that name
the offending field."""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError, best_match

from braking_registry.schemas import ENUMS, SCHEMAS

API_PREFIX = "/api/model_registry/v1alpha3"
# model-registry client >= 0.3.10 calls the same API under /v1 (upstream renamed the prefix).
API_PREFIXES = (API_PREFIX, "/api/model_registry/v1")


class InvalidRequest(ValueError):
    """A request the API cannot accept; `field` names the offending part."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


_URI_CHAR = r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?\[\]]|%[0-9A-Fa-f]{2})"
_URI = re.compile(rf"[A-Za-z][A-Za-z0-9+.\-]*:{_URI_CHAR}*(?:#{_URI_CHAR}*)?")
# Our own `uri` and `byte` checks: jsonschema's `uri` check needs an optional package and
# silently accepts anything without it.
FORMAT_CHECKER = FormatChecker(formats=())


@FORMAT_CHECKER.checks("uri")
def _is_uri(value: object) -> bool:
    """RFC 3986 URI syntax: a scheme, then only URI characters or %-escapes."""
    return not isinstance(value, str) or _URI.fullmatch(value) is not None


@FORMAT_CHECKER.checks("byte", raises=binascii.Error)
def _is_base64(value: object) -> bool:
    return not isinstance(value, str) or base64.b64decode(value, validate=True) is not None


@cache
def validator(schema_name: str) -> Draft202012Validator:
    """A validator for one of the request schemas, with the `uri` / `byte` formats checked."""
    return Draft202012Validator(SCHEMAS[schema_name], format_checker=FORMAT_CHECKER)


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


def schema_properties(schema_name: str) -> frozenset[str]:
    """Every property a schema declares."""
    return frozenset(SCHEMAS[schema_name]["properties"])


def enum_values(schema_name: str) -> tuple[str, ...]:
    """The allowed values of an enum such as `OrderByField`."""
    return ENUMS[schema_name]
