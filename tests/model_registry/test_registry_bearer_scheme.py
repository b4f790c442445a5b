"""The registry reads the bearer scheme case-insensitively (RFC 7235), as the inference server."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER"])
def test_any_case_of_the_scheme_is_accepted(registry_factory, scheme):
    registry = registry_factory(token="s3cret")
    with registry.http() as http:
        answer = http.get("/registered_models", headers={"Authorization": f"{scheme} s3cret"})
        assert answer.status_code == 200, answer.text
        other = http.get("/registered_models", headers={"Authorization": "Basic s3cret"})
        assert other.status_code == 401
