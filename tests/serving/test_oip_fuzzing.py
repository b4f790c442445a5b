"""Schemathesis fuzzes every operation of the OIP REST spec against the running server.

Generated requests must never get a 5xx, and every answer with a documented status must
match the spec's response schema. Bounded: a few dozen examples per operation.
"""

from __future__ import annotations

import pytest
import schemathesis
import yaml
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
)
from serving_fixtures import MODEL_NAME

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def _spec(shared_reference, pinned: bool) -> dict:
    text = (shared_reference / "openapi" / "open-inference-rest.yaml").read_text()
    # The upstream file writes path templates as `${NAME}`; OpenAPI's form is `{NAME}`.
    spec = yaml.safe_load(text.replace("${MODEL_", "{MODEL_"))
    if pinned:
        # Half of the fuzzing aims at the served model, so bodies reach input validation
        # and inference instead of stopping at "model not found".
        for item in spec["paths"].values():
            for parameter in item.get("parameters", []):
                value = MODEL_NAME if parameter["name"] == "MODEL_NAME" else "1"
                parameter["schema"] = {"type": "string", "enum": [value]}
    return spec


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.mark.slow
@pytest.mark.parametrize("pinned", [False, True], ids=["any-model", "served-model"])
def test_fuzz_every_operation(shared_reference, server_url, pinned):
    schema = schemathesis.openapi.from_dict(_spec(shared_reference, pinned))
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6  # live, ready, server metadata, model metadata/ready/infer
    for operation in operations:

        @FUZZ
        @given(case=operation.as_strategy())
        def fuzz(case) -> None:
            case.call_and_validate(base_url=server_url, checks=CHECKS)

        fuzz()
