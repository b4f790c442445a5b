"""Bad requests get 4xx with the spec's Error body naming the problem; the server keeps serving."""

from __future__ import annotations

import pytest
from mr_openapi.exceptions import UnauthorizedException


def _error(response, status: int) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"code", "message"} and body["code"] == str(status)
    return body["message"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/registered_models", {}, "name"),
        ("/registered_models", {"name": ""}, "name"),
        ("/registered_models", {"name": 7}, "name"),
        ("/registered_models", {"name": "m", "state": "GONE"}, "state"),
        (
            "/registered_models",
            {
                "name": "m",
                "customProperties": {"n": {"metadataType": "MetadataIntValue", "int_value": "1.5"}},
            },
            "customProperties.n.int_value",
        ),
        (
            "/registered_models",
            {"name": "m", "customProperties": {"n": {"metadataType": "MetadataFoo", "x": 1}}},
            "customProperties.n.metadataType",
        ),
        ("/model_versions", {"name": "1"}, "registeredModelId"),
        ("/model_versions", {"name": "1", "registeredModelId": "abc"}, "registeredModelId"),
        ("/artifacts", {"name": "a"}, "artifactType"),
        ("/artifacts", {"artifactType": "video", "name": "a"}, "artifactType"),
        ("/model_artifacts", {"artifactType": "doc-artifact", "name": "a"}, "artifactType"),
        ("/registered_models", [1, 2], "body"),
    ],
)
def test_invalid_bodies_are_400_naming_the_field(registry, path, body, field):
    with registry.http() as http:
        message = _error(http.post(path, json=body), 400)
    assert message.startswith(f"{field}:"), message


def test_malformed_json_and_query_parameters_are_400(registry):
    with registry.http() as http:
        bad_json = http.post(
            "/registered_models", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert _error(bad_json, 400).startswith("body: not valid JSON")
        assert _error(http.get("/registered_models", params={"pageSize": "0"}), 400).startswith(
            "pageSize:"
        )
        assert "CREATE_TIME" in _error(http.get("/model_versions", params={"orderBy": "NAME"}), 400)
        assert _error(http.get("/model_versions", params={"sortOrder": "UP"}), 400).startswith(
            "sortOrder:"
        )
        token = http.get("/registered_models", params={"nextPageToken": "garbage"})
        assert _error(token, 400).startswith("nextPageToken:")
        assert _error(http.get("/registered_models/x1"), 400).startswith("id:")
        assert _error(http.get("/registered_model"), 400).startswith("name:")
        # ...and the server is still fine
        assert http.post("/registered_models", json={"name": "ok"}).status_code == 201


def test_unknown_ids_and_paths_are_404(registry):
    with registry.http() as http:
        assert "no RegisteredModel with id 999" in _error(http.get("/registered_models/999"), 404)
        assert _error(http.get("/model_versions/999"), 404)
        assert _error(http.patch("/model_artifacts/5", json={"uri": "x"}), 404)
        assert _error(http.get("/registered_models/999/versions"), 404)
        assert _error(
            http.post("/model_versions", json={"name": "1", "registeredModelId": "42"}), 404
        )
        assert _error(http.get("/registered_model", params={"name": "nobody"}), 404)
        assert "no Experiment with id 9" in _error(http.get("/experiments/9"), 404)
        assert _error(http.get("/inference_services/9/model"), 404)
        assert _error(http.get("/experiment_runs/9/metric_history"), 404)
        service = {"registeredModelId": "999", "servingEnvironmentId": "998"}
        assert "no ServingEnvironment with id 998" in _error(
            http.post("/inference_services", json=service), 404
        )
        assert "not a path of the Model Registry API" in _error(http.get("/nowhere"), 404)


def test_duplicate_names_are_409_within_their_scope(registry):
    with registry.http() as http:
        model = http.post("/registered_models", json={"name": "m"}).json()["id"]
        other = http.post("/registered_models", json={"name": "other"}).json()["id"]
        duplicate = _error(http.post("/registered_models", json={"name": "m"}), 409)
        assert duplicate == "a registered_model already uses name 'm' (unique per registry)"
        version = {"name": "1", "registeredModelId": model}
        version_id = http.post("/model_versions", json=version).json()["id"]
        assert "unique per registered model" in _error(
            http.post("/model_versions", json=version), 409
        )
        assert (
            http.post("/model_versions", json={**version, "registeredModelId": other}).status_code
            == 201
        )
        artifact = {"artifactType": "model-artifact", "name": "onnx", "uri": "file:///m"}
        path = f"/model_versions/{version_id}/artifacts"
        assert http.post(path, json=artifact).status_code == 201
        assert _error(http.post(path, json=artifact), 409)
        assert (
            http.post("/registered_models", json={"name": "x", "externalId": "e-1"}).status_code
            == 201
        )
        assert _error(http.post("/registered_models", json={"name": "y", "externalId": "e-1"}), 409)


def test_token_is_required_when_configured(registry_factory):
    registry = registry_factory(token="s3cret")
    with registry.http() as http:
        assert http.get("/registered_models").status_code == 200
        anonymous = http.get("/registered_models", headers={"Authorization": ""})
        assert "bearer token" in _error(anonymous, 401)
        assert anonymous.headers["www-authenticate"].startswith("Bearer")
        wrong = http.get("/registered_models", headers={"Authorization": "Bearer nope"})
        assert _error(wrong, 401)
    assert registry.client().get_registered_model("none") is None  # the client sends the token
    registry.token = None
    with pytest.raises(UnauthorizedException):
        registry.client()
