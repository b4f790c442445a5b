"""Oversized bodies and fields, and forged page tokens, get clear 4xx answers (issue #14)."""

from __future__ import annotations

import base64
import json

import pytest

from braking_registry.limits import MAX_BODY_BYTES, MAX_TEXT


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    return response.json()["message"]


def test_a_body_past_the_limit_is_413_naming_the_limit(registry):
    with registry.http() as http:
        huge = {"name": "m", "description": "x" * MAX_BODY_BYTES}
        message = _error(http.post("/registered_models", json=huge), 413)
        assert f"exceed the limit of {MAX_BODY_BYTES} bytes" in message
        assert http.get("/registered_model", params={"name": "m"}).status_code == 404
        assert http.post("/registered_models", json={"name": "m"}).status_code == 201


def test_a_chunked_body_past_the_limit_is_413_too(registry):
    def chunks():
        yield b'{"name": "m", "description": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"x" * 65536
        yield b'"}'

    with registry.http() as http:
        response = http.post("/registered_models", content=chunks())
        assert "exceed the limit" in _error(response, 413)


@pytest.mark.parametrize(
    ("body", "field", "limit"),
    [
        ({"name": "n" * 256}, "name", 255),
        ({"name": "m", "description": "d" * (MAX_TEXT + 1)}, "description", MAX_TEXT),
        ({"name": "m", "externalId": "e" * 256}, "externalId", 255),
        ({"name": "m", "owner": "o" * (MAX_TEXT + 1)}, "owner", MAX_TEXT),
        (
            {"name": "m", "customProperties": {
                "k": {"metadataType": "MetadataStringValue", "string_value": "v" * (MAX_TEXT + 1)}
            }},
            "customProperties.k.string_value",
            MAX_TEXT,
        ),
    ],
)  # fmt: skip
def test_string_fields_past_their_limit_are_400_naming_field_and_limit(
    registry, body, field, limit
):
    with registry.http() as http:
        message = _error(http.post("/registered_models", json=body), 400)
    assert message.startswith(f"{field}: ") and f"the limit of {limit}" in message


def test_a_version_name_counts_the_models_id_prefix(registry):
    with registry.http() as http:
        model = http.post("/registered_models", json={"name": "m"}).json()["id"]
        version = {"registeredModelId": model}
        assert http.post("/model_versions", json={**version, "name": "v" * 253}).status_code == 201
        message = _error(http.post("/model_versions", json={**version, "name": "w" * 254}), 400)
        assert "254 characters exceed the limit of 253" in message
        assert "'1:<name>'" in message


def _forged(order: str, value, last_id) -> str:
    raw = json.dumps([order, value, last_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token",
    [
        _forged("ID", 2**64, 1),
        _forged("ID", 1, -(2**63) - 1),
        _forged("ID", True, 1),
        _forged("CREATE_TIME", 1, 1),
        "%%%",
        "W1tbW1tbW1tbW1tbW10=",
    ],
)
def test_forged_page_tokens_are_400_and_the_connection_stays_usable(registry, token):
    with registry.http() as http:
        assert _error(http.get("/registered_models", params={"nextPageToken": token}), 400)
        assert http.get("/registered_models").status_code == 200  # same keep-alive connection
