"""Every implemented operation answers with a status and body the upstream spec declares."""

from __future__ import annotations

from registry_fixtures import response_violations

from braking_registry.server import IMPLEMENTED_OPERATIONS
from braking_registry.spec import API_PREFIX


def _operation_ids(spec: dict) -> dict[str, tuple[str, str]]:
    return {
        operation["operationId"]: (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict) and "operationId" in operation
    }


PROPS = {"n": {"metadataType": "MetadataIntValue", "int_value": "3"}}
MODEL_ARTIFACT = {"artifactType": "model-artifact", "name": "onnx", "uri": "file:///m"}
DOC_ARTIFACT = {"artifactType": "doc-artifact", "name": "card", "uri": "file:///m/card.md"}
# (operationId, method, path, request keywords, id to remember); paths use remembered ids.
CALLS = [
    (
        "createRegisteredModel",
        "POST",
        "/registered_models",
        {"json": {"name": "m", "customProperties": PROPS}},
        "rm",
    ),
    ("getRegisteredModel", "GET", "/registered_models/{rm}", {}, None),
    (
        "updateRegisteredModel",
        "PATCH",
        "/registered_models/{rm}",
        {"json": {"description": "d"}},
        None,
    ),
    ("findRegisteredModel", "GET", "/registered_model", {"params": {"name": "m"}}, None),
    ("getRegisteredModels", "GET", "/registered_models", {"params": {"pageSize": "1"}}, None),
    (
        "createModelVersion",
        "POST",
        "/model_versions",
        {"json": {"name": "1", "registeredModelId": "{rm}"}},
        "mv",
    ),
    (
        "createRegisteredModelVersion",
        "POST",
        "/registered_models/{rm}/versions",
        {"json": {"name": "2", "registeredModelId": "{rm}"}},
        None,
    ),
    ("getModelVersion", "GET", "/model_versions/{mv}", {}, None),
    ("updateModelVersion", "PATCH", "/model_versions/{mv}", {"json": {"state": "ARCHIVED"}}, None),
    (
        "findModelVersion",
        "GET",
        "/model_version",
        {"params": {"name": "1", "parentResourceId": "{rm}"}},
        None,
    ),
    (
        "getModelVersions",
        "GET",
        "/model_versions",
        {"params": {"orderBy": "CREATE_TIME", "sortOrder": "DESC"}},
        None,
    ),
    ("getRegisteredModelVersions", "GET", "/registered_models/{rm}/versions", {}, None),
    (
        "upsertModelVersionArtifact",
        "POST",
        "/model_versions/{mv}/artifacts",
        {"json": MODEL_ARTIFACT},
        "ma",
    ),
    ("getModelVersionArtifacts", "GET", "/model_versions/{mv}/artifacts", {}, None),
    (
        "createModelArtifact",
        "POST",
        "/model_artifacts",
        {"json": {"name": "loose", "uri": "s3://b/k"}},
        "loose",
    ),
    ("getModelArtifact", "GET", "/model_artifacts/{loose}", {}, None),
    ("updateModelArtifact", "PATCH", "/model_artifacts/{loose}", {"json": {"state": "LIVE"}}, None),
    (
        "findModelArtifact",
        "GET",
        "/model_artifact",
        {"params": {"name": "onnx", "parentResourceId": "{mv}"}},
        None,
    ),
    (
        "getModelArtifacts",
        "GET",
        "/model_artifacts",
        {"params": {"orderBy": "LAST_UPDATE_TIME"}},
        None,
    ),
    ("createArtifact", "POST", "/artifacts", {"json": DOC_ARTIFACT}, "doc"),
    ("getArtifact", "GET", "/artifacts/{doc}", {}, None),
    (
        "updateArtifact",
        "PATCH",
        "/artifacts/{doc}",
        {"json": {"artifactType": "doc-artifact", "description": "c"}},
        None,
    ),
    ("findArtifact", "GET", "/artifact", {"params": {"name": "card"}}, None),
    ("getArtifacts", "GET", "/artifacts", {"params": {"artifactType": "doc-artifact"}}, None),
]


def _fill(value, ids: dict[str, str]):
    if isinstance(value, str):
        return value.format(**ids) if "{" in value else value
    if isinstance(value, dict):
        return {key: _fill(item, ids) for key, item in value.items()}
    return value


def _exercise(http) -> dict[str, tuple[str, int, object]]:
    """Call each implemented operation once; operationId -> (request path, status, body)."""
    ids: dict[str, str] = {}
    calls: dict[str, tuple[str, int, object]] = {}
    for operation_id, method, path, keywords, remember in CALLS:
        concrete = _fill(path, ids)
        response = http.request(method, concrete, **_fill(keywords, ids))
        calls[operation_id] = (concrete, response.status_code, response.json())
        if remember:
            ids[remember] = response.json()["id"]
    return calls


def test_every_implemented_operation_matches_the_spec(registry, reference_spec):
    operations = _operation_ids(reference_spec)
    assert set(operations) >= IMPLEMENTED_OPERATIONS
    with registry.http() as http:
        calls = _exercise(http)
    assert set(calls) == IMPLEMENTED_OPERATIONS
    for operation_id, (path, status, body) in calls.items():
        method, spec_path = operations[operation_id]
        assert status in (200, 201), (operation_id, path, body)
        violations = response_violations(reference_spec, method, spec_path, status, body)
        assert not violations, (operation_id, violations)


def test_errors_use_the_declared_error_schema(registry, reference_spec):
    path = f"{API_PREFIX}/registered_models"
    with registry.http() as http:
        bad = http.post("/registered_models", json={})
        http.post("/registered_models", json={"name": "x"})
        conflict = http.post("/registered_models", json={"name": "x"})
        missing = http.get("/registered_models/77")
    assert not response_violations(reference_spec, "post", path, 400, bad.json())
    assert not response_violations(reference_spec, "post", path, 409, conflict.json())
    assert not response_violations(
        reference_spec, "get", path + "/{registeredmodelId}", 404, missing.json()
    )


def test_unimplemented_operations_answer_404_with_an_error_body(registry, reference_spec):
    with registry.http() as http:
        for operation_id, (method, path) in _operation_ids(reference_spec).items():
            if operation_id in IMPLEMENTED_OPERATIONS:
                continue
            concrete = path.removeprefix(API_PREFIX).replace("{", "").replace("}", "")
            concrete = "/".join(
                "1" if part.endswith("Id") else part for part in concrete.split("/")
            )
            response = http.request(method, concrete, json={} if method != "get" else None)
            assert response.status_code == 404, (operation_id, response.text)
            assert set(response.json()) == {"code", "message"}


def test_v1_prefix_of_newer_clients_serves_the_same_api(registry):
    with registry.http() as http:
        http.post("/registered_models", json={"name": "both"})
    with registry.http() as http:
        http.base_url = registry.url
        alpha = http.get("/api/model_registry/v1alpha3/registered_model", params={"name": "both"})
        v1 = http.get("/api/model_registry/v1/registered_model", params={"name": "both"})
    assert alpha.status_code == v1.status_code == 200
    assert alpha.json() == v1.json()
