"""Every implemented operation answers with a status and body the upstream spec declares."""

from __future__ import annotations

from registry_fixtures import response_violations

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
    ("createExperiment", "POST", "/experiments", {"json": {"name": "tune"}}, "ex"),
    ("getExperiment", "GET", "/experiments/{ex}", {}, None),
    ("updateExperiment", "PATCH", "/experiments/{ex}", {"json": {"owner": "me"}}, None),
    ("findExperiment", "GET", "/experiment", {"params": {"name": "tune"}}, None),
    ("getExperiments", "GET", "/experiments", {"params": {"filterQuery": "owner = 'me'"}}, None),
    (
        "createExperimentRun",
        "POST",
        "/experiment_runs",
        {"json": {"name": "r1", "experimentId": "{ex}", "startTimeSinceEpoch": "1700000000000"}},
        "run",
    ),
    (
        "createExperimentExperimentRun",
        "POST",
        "/experiments/{ex}/experiment_runs",
        {"json": {"name": "r2", "experimentId": "{ex}"}},
        None,
    ),
    ("getExperimentRun", "GET", "/experiment_runs/{run}", {}, None),
    (
        "updateExperimentRun",
        "PATCH",
        "/experiment_runs/{run}",
        {"json": {"status": "FINISHED", "endTimeSinceEpoch": "1700000001000"}},
        None,
    ),
    (
        "findExperimentRun",
        "GET",
        "/experiment_run",
        {"params": {"name": "r1", "parentResourceId": "{ex}"}},
        None,
    ),
    ("getExperimentRuns", "GET", "/experiment_runs", {"params": {"sortOrder": "DESC"}}, None),
    ("getExperimentExperimentRuns", "GET", "/experiments/{ex}/experiment_runs", {}, None),
    (
        "upsertExperimentRunArtifact",
        "POST",
        "/experiment_runs/{run}/artifacts",
        {"json": {"artifactType": "metric", "name": "mae", "value": 0.2, "step": 1}},
        None,
    ),
    (
        "getExperimentRunArtifacts",
        "GET",
        "/experiment_runs/{run}/artifacts",
        {"params": {"artifactType": "metric"}},
        None,
    ),
    (
        "getExperimentRunMetricHistory",
        "GET",
        "/experiment_runs/{run}/metric_history",
        {"params": {"name": "mae", "stepIds": "1"}},
        None,
    ),
    (
        "getExperimentRunsMetricHistory",
        "GET",
        "/experiment_runs/metric_history",
        {"params": {"filterQuery": "value < 1"}},
        None,
    ),
    ("createServingEnvironment", "POST", "/serving_environments", {"json": {"name": "ns"}}, "env"),
    ("getServingEnvironment", "GET", "/serving_environments/{env}", {}, None),
    (
        "updateServingEnvironment",
        "PATCH",
        "/serving_environments/{env}",
        {"json": {"description": "namespace"}},
        None,
    ),
    ("findServingEnvironment", "GET", "/serving_environment", {"params": {"name": "ns"}}, None),
    ("getServingEnvironments", "GET", "/serving_environments", {}, None),
    (
        "createInferenceService",
        "POST",
        "/inference_services",
        {"json": {"name": "isvc", "registeredModelId": "{rm}", "servingEnvironmentId": "{env}"}},
        "isvc",
    ),
    (
        "createEnvironmentInferenceService",
        "POST",
        "/serving_environments/{env}/inference_services",
        {"json": {"name": "isvc2", "registeredModelId": "{rm}", "servingEnvironmentId": "{env}"}},
        None,
    ),
    ("getInferenceService", "GET", "/inference_services/{isvc}", {}, None),
    (
        "updateInferenceService",
        "PATCH",
        "/inference_services/{isvc}",
        {"json": {"modelVersionId": "{mv}", "desiredState": "UNDEPLOYED"}},
        None,
    ),
    (
        "findInferenceService",
        "GET",
        "/inference_service",
        {"params": {"name": "isvc", "parentResourceId": "{env}"}},
        None,
    ),
    ("getInferenceServices", "GET", "/inference_services", {}, None),
    (
        "getEnvironmentInferenceServices",
        "GET",
        "/serving_environments/{env}/inference_services",
        {},
        None,
    ),
    ("getInferenceServiceModel", "GET", "/inference_services/{isvc}/model", {}, None),
    ("getInferenceServiceVersion", "GET", "/inference_services/{isvc}/version", {}, None),
    (
        "createInferenceServiceServe",
        "POST",
        "/inference_services/{isvc}/serves",
        {"json": {"modelVersionId": "{mv}", "lastKnownState": "RUNNING"}},
        None,
    ),
    ("getInferenceServiceServes", "GET", "/inference_services/{isvc}/serves", {}, None),
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


def test_every_operation_of_the_spec_answers_as_declared(registry, reference_spec):
    operations = _operation_ids(reference_spec)
    with registry.http() as http:
        calls = _exercise(http)
    assert set(calls) == set(operations)
    for operation_id, (path, status, body) in calls.items():
        method, spec_path = operations[operation_id]
        assert status in (200, 201), (operation_id, path, body)
        violations = response_violations(reference_spec, method, spec_path, status, body)
        assert not violations, (operation_id, violations)
        if isinstance(body, dict) and "items" in body:
            assert body["size"] >= 1, (operation_id, "the listing should find the rows created")


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


def test_v1_prefix_of_newer_clients_serves_the_same_api(registry):
    with registry.http() as http:
        http.post("/registered_models", json={"name": "both"})
    with registry.http() as http:
        http.base_url = registry.url
        alpha = http.get("/api/model_registry/v1alpha3/registered_model", params={"name": "both"})
        v1 = http.get("/api/model_registry/v1/registered_model", params={"name": "both"})
    assert alpha.status_code == v1.status_code == 200
    assert alpha.json() == v1.json()
