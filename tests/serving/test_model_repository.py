"""The model repository extension: load, reload a new version, unload, index."""

from __future__ import annotations

import shutil

import httpx
from serving_fixtures import MODEL_NAME, running_server

from braking_model.model_dir import ONNX_FILE
from braking_serving.config import ServerConfig
from braking_serving.repository import add_to_repository


def test_load_new_version_unload_and_index(tmp_path, serving_model_dir):
    repository = tmp_path / "models"
    model_file = serving_model_dir / ONNX_FILE
    config = ServerConfig(model_repository=repository, repository_poll_seconds=60)
    with running_server(config) as url, httpx.Client(base_url=url) as http:
        assert http.post("/v2/repository/index").json() == []
        assert http.get(f"/v2/models/{MODEL_NAME}/ready").status_code == 404

        assert add_to_repository(repository, MODEL_NAME, model_file) == 1
        assert http.post(f"/v2/repository/models/{MODEL_NAME}/load").status_code == 200
        assert http.get(f"/v2/models/{MODEL_NAME}/versions/1/ready").status_code == 200

        assert add_to_repository(repository, MODEL_NAME, model_file) == 2
        assert http.post(f"/v2/repository/models/{MODEL_NAME}/load").status_code == 200
        assert http.get(f"/v2/models/{MODEL_NAME}").json()["versions"] == ["2"]
        assert http.post("/v2/repository/index").json() == [
            {"name": MODEL_NAME, "version": "2", "state": "READY"}
        ]

        assert http.post(f"/v2/repository/models/{MODEL_NAME}/unload").status_code == 200
        assert http.get(f"/v2/models/{MODEL_NAME}/ready").status_code == 404
        index = http.post("/v2/repository/index").json()
        assert index == [{"name": MODEL_NAME, "version": "2", "state": "UNAVAILABLE"}]
        assert http.post(f"/v2/repository/models/{MODEL_NAME}/unload").status_code == 404


def test_a_repository_is_served_at_startup_and_followed_by_other_processes(
    tmp_path, serving_model_dir
):
    repository = tmp_path / "models"
    add_to_repository(repository, MODEL_NAME, serving_model_dir / ONNX_FILE)
    config = ServerConfig(model_repository=repository, repository_poll_seconds=60)
    # Two servers on one repository stand in for two worker processes.
    with running_server(config) as first, running_server(config) as second:
        assert httpx.get(f"{second}/v2/models/{MODEL_NAME}/ready").status_code == 200
        assert httpx.post(f"{first}/v2/repository/models/{MODEL_NAME}/unload").status_code == 200
        # The second process catches up on its next lookup, not only on its poll.
        add_to_repository(repository, "other-model", serving_model_dir / ONNX_FILE)
        assert httpx.post(f"{first}/v2/repository/models/other-model/load").status_code == 200
        assert httpx.get(f"{second}/v2/models/other-model/ready").status_code == 200
        assert httpx.get(f"{second}/v2/models/{MODEL_NAME}/ready").status_code == 404


def test_loading_a_model_without_numeric_version_folder_names_the_layout(
    tmp_path, serving_model_dir
):
    repository = tmp_path / "models"
    (repository / MODEL_NAME).mkdir(parents=True)
    shutil.copy(serving_model_dir / ONNX_FILE, repository / MODEL_NAME / ONNX_FILE)
    with running_server(ServerConfig(model_repository=repository)) as url:
        response = httpx.post(f"{url}/v2/repository/models/{MODEL_NAME}/load")
        assert response.status_code == 400
        assert "no numeric version folder" in response.json()["error"]
        assert f"{MODEL_NAME}/<version>/model.onnx" in response.json()["error"]
        assert httpx.get(f"{url}/v2/health/live").status_code == 200
