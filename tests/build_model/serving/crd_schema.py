"""Validate manifests against a CRD's openAPIV3Schema, strictly (unknown fields are errors).

The API server prunes unknown fields silently; a manifest relying on a misspelt field would
deploy something else than written. So every object schema with `properties` is closed here
unless the CRD keeps unknown fields (`x-kubernetes-preserve-unknown-fields`).
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path

import jsonschema
import yaml

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def _close(schema: dict) -> dict:
    if isinstance(schema, dict):
        for value in schema.values():
            if isinstance(value, dict):
                _close(value)
            elif isinstance(value, list):
                for item in value:
                    _close(item)
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
    return schema


@cache
def _validators(crd_path: Path) -> dict[str, jsonschema.Draft7Validator]:
    crd = yaml.load(crd_path.read_text(), Loader=yaml.CSafeLoader)
    group = crd["spec"]["group"]
    return {
        f"{group}/{version['name']}": jsonschema.Draft7Validator(
            _close(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
        )
        for version in crd["spec"]["versions"]
    }


def validate_against_crd(manifest: dict, crd_path: Path) -> None:
    """Raise jsonschema.ValidationError (or AssertionError for metadata) when invalid."""
    validators = _validators(crd_path)
    api_version = manifest["apiVersion"]
    assert api_version in validators, f"{api_version} not in {list(validators)}"
    validators[api_version].validate(manifest)
    metadata = manifest["metadata"]
    assert _DNS_LABEL.match(metadata["name"]) and len(metadata["name"]) <= 63, metadata["name"]
    for field in ("labels", "annotations"):
        for key, value in metadata.get(field, {}).items():
            assert isinstance(value, str), f"metadata.{field}.{key} must be a string"
    for value in metadata.get("labels", {}).values():
        assert len(value) <= 63 and re.match(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]?$", value)
