"""`filterQuery`: which versions each query selects, and where a malformed one breaks."""

from __future__ import annotations

import pytest

from braking_registry.resources import MODEL_VERSIONS, REGISTERED_MODELS, index_properties
from braking_registry.service import RegistryService
from braking_registry.spec import InvalidRequest
from braking_registry.store import RegistryStore


def _props(**values) -> dict:
    typed = {
        bool: ("MetadataBoolValue", "bool_value"),
        int: ("MetadataIntValue", "int_value"),
        float: ("MetadataDoubleValue", "double_value"),
        str: ("MetadataStringValue", "string_value"),
    }
    properties = {}
    for name, value in values.items():
        metadata_type, key = typed[type(value)]
        properties[name] = {
            "metadataType": metadata_type,
            key: str(value) if key == "int_value" else value,
        }
    return properties


VERSIONS = [
    ("v1", "LIVE", "ana", _props(mae=0.30, epochs=10, framework="sklearn", gated=True)),
    ("v2", "LIVE", "bo", _props(mae=0.20, epochs=20, framework="onnx", gated=True)),
    ("v3", "ARCHIVED", "ana", _props(mae=0.10, epochs=30, framework="Sklearn", gated=False)),
    ("v4", "LIVE", "cy", _props(**{"mlflow.source": "nb"})),
]  # fmt: skip


@pytest.fixture(scope="module")
def service(tmp_path_factory) -> RegistryService:
    store = RegistryStore(tmp_path_factory.mktemp("filter") / "r.db", indexer=index_properties)
    service = RegistryService(store)
    model = service.create(REGISTERED_MODELS, {"name": "m"}, "RegisteredModelCreate")
    for name, state, author, properties in VERSIONS:
        body = {"name": name, "registeredModelId": model["id"], "state": state, "author": author}
        service.create(
            MODEL_VERSIONS, {**body, "customProperties": properties}, "ModelVersionCreate"
        )
    return service


def _names(service: RegistryService, query: str) -> list[str]:
    listing = service.list(MODEL_VERSIONS, {"filterQuery": query})
    return [item["name"] for item in listing["items"]]


VALID = [
    ("", ["v1", "v2", "v3", "v4"]),
    ("name = 'v2'", ["v2"]),
    ('name = "v2"', ["v2"]),
    ("name != 'v2'", ["v1", "v3", "v4"]),
    ("name <> 'v2'", ["v1", "v3", "v4"]),
    ("name IN ('v1', 'v3')", ["v1", "v3"]),
    ("name LIKE 'v%'", ["v1", "v2", "v3", "v4"]),
    ("state = 'ARCHIVED'", ["v3"]),
    ("author = 'ana' AND state = 'LIVE'", ["v1"]),
    ("author = 'bo' OR author = 'cy'", ["v2", "v4"]),
    ("(author = 'ana' OR author = 'bo') AND mae < 0.25", ["v2", "v3"]),
    ("author = 'ana' or author = 'bo' and mae < 0.25", ["v1", "v2", "v3"]),  # AND binds first
    ("mae > 0.15", ["v1", "v2"]),
    ("mae >= 0.2", ["v1", "v2"]),
    ("mae <= 0.2", ["v2", "v3"]),
    ("mae.double_value = 0.1", ["v3"]),
    ("epochs = 20", ["v2"]),
    ("epochs >= 20 AND epochs < 30", ["v2"]),
    ("epochs.int_value IN (10, 30)", ["v1", "v3"]),
    ("epochs > 1.5e1", ["v2", "v3"]),
    ("gated = true", ["v1", "v2"]),
    ("gated = FALSE", ["v3"]),
    ("framework = 'sklearn'", ["v1"]),
    ("framework LIKE 'sk%'", ["v1"]),  # LIKE is case-sensitive, as upstream's
    ("framework ILIKE 'SK%'", ["v1", "v3"]),
    ("framework LIKE '%nn%'", ["v2"]),  # a leading wildcard scans the property's rows
    ("framework.string_value = 'onnx'", ["v2"]),
    ("`mlflow.source` = 'nb'", ["v4"]),
    ("framework = 'pytorch'", []),
    ("unknown = 'x'", []),
    ("id > 3", ["v3", "v4"]),
    ("registeredModelId = 1", ["v1", "v2", "v3", "v4"]),
    ("registeredModelId = '1' AND epochs = 10", ["v1"]),
    ("createTimeSinceEpoch > 0", ["v1", "v2", "v3", "v4"]),
    ("name = 'it\\'s'", []),
]


@pytest.mark.parametrize(("query", "expected"), VALID)
def test_valid_queries_select_the_expected_versions(service, query, expected):
    assert _names(service, query) == expected


INVALID = [
    ("name =", 7, "expected a value"),
    ("name 'v1'", 6, "expected a comparison operator"),
    ("= 'v1'", 1, "expected a property name"),
    ("(name = 'v1'", 13, "expected ')'"),
    ("name = 'v1')", 12, "expected AND, OR or the end"),
    ("name = 'v1' AND", 16, "expected a property name"),
    ("name = 'v1' XOR name = 'v2'", 13, "expected AND, OR"),
    ("name = 'unterminated", 8, "unexpected character"),
    ("mae.float_value > 1", 5, "expected one of string_value"),
    ("epochs = 99999999999999999999", 10, "outside 64-bit integers"),
    ("name LIKE 5", 1, "name: compares with quoted strings"),
    ("id = 'abc'", 1, "id: compares with integers"),
    ("gated > true", 1, "booleans only compare with"),
    ("epochs.int_value LIKE 5", 1, "LIKE needs a string"),
    ("framework IN ('a', 1)", 1, "IN needs values of one type"),
    ("name IN ()", 10, "expected a value"),
    ("name = 'a' ; DROP TABLE resources", 12, "unexpected character ';'"),
    ("(" * 40 + "name = 'a'" + ")" * 40, 33, "more than 32 nested"),
]


@pytest.mark.parametrize(("query", "position", "message"), INVALID)
def test_malformed_queries_are_refused_naming_the_position(service, query, position, message):
    with pytest.raises(InvalidRequest) as refused:
        service.list(MODEL_VERSIONS, {"filterQuery": query})
    assert refused.value.field == "filterQuery"
    assert f"at position {position}:" in str(refused.value)
    assert message in str(refused.value)


def test_a_malformed_filter_is_a_400_over_http_and_the_server_keeps_serving(registry):
    with registry.http() as http:
        bad = http.get("/registered_models", params={"filterQuery": "name = = 'x'"})
        assert bad.status_code == 400
        assert bad.json()["message"] == (
            "filterQuery: at position 8: expected a value (a quoted string, a number, true or "
            "false), found '='"
        )
        http.post("/registered_models", json={"name": "kept"})
        ok = http.get("/registered_models", params={"filterQuery": "name = 'kept'"})
        assert [m["name"] for m in ok.json()["items"]] == ["kept"]
