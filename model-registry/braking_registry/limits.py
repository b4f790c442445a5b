"""Size limits of requests and fields, checked before anything is stored.

Names follow upstream's storage: its backend keeps names in a 255-character column, and a
child resource's name (a model version, an experiment run, an inference service, an
artifact under a parent) is stored as `<parent id>:<name>`. So a version of model 1 may be
named with 253 characters. Upstream stores descriptions and custom properties as TEXT
without a documented bound; this server caps them (below) so one request cannot make every
later listing slow.
"""

from __future__ import annotations

from typing import Any

from braking_registry.spec import InvalidRequest

MAX_BODY_BYTES = 1024 * 1024  # 413 above this
NAME_COLUMN = 255  # upstream's name column
MAX_EXTERNAL_ID = 255
MAX_TEXT = 65_536  # description, custom property strings, any other string field
MAX_CUSTOM_PROPERTIES = 256
MAX_PROPERTY_NAME = 255


class BodyTooLarge(ValueError):
    """A request body beyond `MAX_BODY_BYTES` (answered 413)."""

    def __init__(self, size: int | None = None) -> None:
        got = f"{size} bytes" if size is not None else "more bytes"
        super().__init__(f"body: {got} exceed the limit of {MAX_BODY_BYTES} bytes")


def _check_length(field: str, value: str, limit: int, why: str = "") -> None:
    if len(value) > limit:
        raise InvalidRequest(field, f"{len(value)} characters exceed the limit of {limit}{why}")


def check_name(label: str, name: str | None, parent_id: int | None) -> None:
    """A name fits upstream's column once prefixed with its parent's id."""
    if name is None:
        return
    if parent_id is None:
        _check_length("name", name, NAME_COLUMN, f" for a {label} name")
        return
    prefix = f"{parent_id}:"
    why = (
        f" for a {label} name (stored as '{prefix}<name>' in {NAME_COLUMN} characters, "
        "as upstream does)"
    )
    _check_length("name", name, NAME_COLUMN - len(prefix), why)


def _check_strings(field: str, value: Any) -> None:
    if isinstance(value, str):
        _check_length(field, value, MAX_TEXT)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_strings(f"{field}.{index}", item)


def check_fields(body: dict[str, Any]) -> None:
    """Every string field, externalId and custom property within its limit."""
    for field, value in body.items():
        if field == "externalId" and isinstance(value, str):
            _check_length(field, value, MAX_EXTERNAL_ID)
        elif field != "customProperties":
            _check_strings(field, value)
    properties = body.get("customProperties")
    if not isinstance(properties, dict):
        return
    if len(properties) > MAX_CUSTOM_PROPERTIES:
        raise InvalidRequest(
            "customProperties",
            f"{len(properties)} properties exceed the limit of {MAX_CUSTOM_PROPERTIES}",
        )
    for name, value in properties.items():
        _check_length(f"customProperties.{name[:40]}", name, MAX_PROPERTY_NAME, " (name)")
        if isinstance(value, dict):
            for key, item in value.items():
                _check_strings(f"customProperties.{name}.{key}", item)
