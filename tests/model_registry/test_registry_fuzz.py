"""Schemathesis fuzzes every operation of the upstream spec against the embedded server."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from registry_fixtures import (
    load_reference_spec,
    response_schema_name,
    response_violations,
    start_registry,
)
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from shared_reference import shared_reference_dir

from braking_registry.spec import API_PREFIX

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fuzzed_registry(tmp_path_factory):
    registry = start_registry(tmp_path_factory.mktemp("fuzz") / "registry.db")
    with registry.http() as http:  # some data so gets, finds and nested lists hit real rows
        model = http.post("/registered_models", json={"name": "seed"}).json()["id"]
        version = http.post("/model_versions", json={"name": "1", "registeredModelId": model})
        path = f"/model_versions/{version.json()['id']}/artifacts"
        http.post(path, json={"artifactType": "model-artifact", "name": "m", "uri": "file:///m"})
        experiment = http.post("/experiments", json={"name": "seed"}).json()["id"]
        run = http.post("/experiment_runs", json={"name": "r", "experimentId": experiment})
        metric = {"artifactType": "metric", "name": "mae", "value": 0.1, "step": 1}
        http.post(f"/experiment_runs/{run.json()['id']}/artifacts", json=metric)
        environment = http.post("/serving_environments", json={"name": "seed"}).json()["id"]
        service = {"registeredModelId": model, "servingEnvironmentId": environment}
        http.post("/inference_services", json={**service, "name": "seed"})
    yield registry
    registry.stop()


def _spec_path() -> Path:
    # The schema must exist at collection time, before any fixture runs.
    return shared_reference_dir() / "openapi" / "model-registry.yaml"


if not _spec_path().is_file():
    pytest.skip(f"upstream spec {_spec_path()} is absent", allow_module_level=True)
# Schemathesis cannot build negative cases for this operation's body ("a `not` whose
# complement is not spelled out"), so it is fuzzed with valid bodies only.
_POSITIVE_ONLY = {"method": "PATCH", "path": f"{API_PREFIX}/model_artifacts/{{modelartifactId}}"}
schema = schemathesis.openapi.from_path(_spec_path()).exclude(**_POSITIVE_ONLY)
positive_schema = schemathesis.openapi.from_path(_spec_path())
positive_schema.config.generation.update(modes=[GenerationMode.POSITIVE])
positive_schema = positive_schema.include(**_POSITIVE_ONLY)
FUZZ_SETTINGS = settings(
    max_examples=6, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def reference_spec() -> dict:
    return load_reference_spec(_spec_path())


def _call_and_check(case, registry, spec: dict) -> None:
    response = case.call(base_url=registry.url, timeout=10)
    # Schemathesis validates `oneOf` without the discriminator, and every artifact matches
    # several artifact schemas that way; those bodies are checked with discriminator semantics.
    declared = response_schema_name(spec, case.method, case.path, response.status_code)
    returns_artifacts = "Artifact" in (declared or "")
    checks = [not_a_server_error]
    if not returns_artifacts:
        checks.append(response_schema_conformance)
    case.validate_response(response, checks=checks)
    if response.status_code in (200, 201) and returns_artifacts:
        body = response.json()
        assert not response_violations(spec, case.method, case.path, response.status_code, body)


@schema.parametrize()
@FUZZ_SETTINGS
def test_no_server_errors_and_responses_match_the_spec(case, fuzzed_registry, reference_spec):
    _call_and_check(case, fuzzed_registry, reference_spec)


@positive_schema.parametrize()
@FUZZ_SETTINGS
def test_valid_model_artifact_patches_match_the_spec(case, fuzzed_registry, reference_spec):
    _call_and_check(case, fuzzed_registry, reference_spec)
