"""Data survives restarts; concurrent writers (threads and processes) lose nothing."""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor

from braking_registry.store import MODEL_VERSION, REGISTERED_MODEL, Criteria, RegistryStore

WRITERS = 8
PER_WRITER = 12


def test_restart_finds_every_resource_with_stable_ids(registry_factory, tmp_path):
    db = tmp_path / "persisted.db"
    first = registry_factory(db)
    client = first.client()
    for version in ("1", "2"):
        client.register_model(
            "kept", f"file:///m/{version}", model_format_name="onnx", model_format_version="1",
            version=version, metadata={"mae": 0.1},
        )  # fmt: skip
    with first.http() as http:
        before = http.get("/model_versions", params={"orderBy": "ID"}).json()["items"]
    first.stop()

    second = registry_factory(db)
    client = second.client()
    assert client.get_model_version("kept", "2").custom_properties == {"mae": 0.1}
    assert client.get_model_artifact("kept", "1").uri == "file:///m/1"
    with second.http() as http:
        after = http.get("/model_versions", params={"orderBy": "ID"}).json()["items"]
        new_id = http.post("/registered_models", json={"name": "after-restart"}).json()["id"]
    assert after == before
    assert int(new_id) > max(int(v["id"]) for v in after)  # ids are never reused


def test_eight_client_threads_writing_at_once_lose_nothing(registry):
    def writer(index: int) -> None:
        client = registry.client()
        for n in range(PER_WRITER):
            client.register_model(
                f"model-{index}", f"file:///m/{index}/{n}", model_format_name="onnx",
                model_format_version="1", version=str(n),
            )  # fmt: skip

    with ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(writer, range(WRITERS)))

    with registry.http() as http:
        versions = http.get("/model_versions", params={"pageSize": "1000"}).json()
        artifacts = http.get("/model_artifacts", params={"pageSize": "1000"}).json()
    assert versions["size"] == WRITERS * PER_WRITER
    assert artifacts["size"] == WRITERS * PER_WRITER
    assert len({v["id"] for v in versions["items"]}) == WRITERS * PER_WRITER


def _write_from_process(db: str, index: int) -> None:
    store = RegistryStore(db)
    parent = store.create(REGISTERED_MODEL, REGISTERED_MODEL, {}, name=f"p{index}")
    for n in range(PER_WRITER):
        store.create(MODEL_VERSION, MODEL_VERSION, {"n": n}, name=str(n), parent_id=parent.id)
    store.close()


def test_eight_processes_on_one_database_file_lose_nothing(tmp_path):
    db = str(tmp_path / "shared.db")
    RegistryStore(db).close()
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=_write_from_process, args=(db, i)) for i in range(WRITERS)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    assert [p.exitcode for p in processes] == [0] * WRITERS

    store = RegistryStore(db)
    assert store.count(REGISTERED_MODEL) == WRITERS
    assert store.count(MODEL_VERSION) == WRITERS * PER_WRITER
    for index in range(WRITERS):
        parent = store.find(Criteria(REGISTERED_MODEL, name=f"p{index}"))
        versions = store.list(Criteria(MODEL_VERSION, parent_id=parent.id), page_size=1000).rows
        assert [v.body["n"] for v in versions] == list(range(PER_WRITER))
    store.close()


def test_a_database_locked_too_long_answers_503_then_recovers(tmp_path):
    import sqlite3

    from starlette.testclient import TestClient

    from braking_registry.server import create_app
    from braking_registry.spec import API_PREFIX

    db = tmp_path / "locked.db"
    with TestClient(create_app(db, busy_timeout_ms=100), base_url="http://127.0.0.1") as http:
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        busy = http.post(f"{API_PREFIX}/registered_models", json={"name": "m"})
        blocker.execute("ROLLBACK")
        blocker.close()
        after = http.post(f"{API_PREFIX}/registered_models", json={"name": "m"})
    assert busy.status_code == 503 and busy.json()["code"] == "503"
    assert "retry later" in busy.json()["message"]
    assert after.status_code == 201


def test_concurrent_patches_of_different_fields_all_stick(registry):
    fields = ["description", "owner", "readme", "maturity", "provider", "license", "libraryName"]
    with registry.http() as http:
        model_id = http.post("/registered_models", json={"name": "patched"}).json()["id"]
    barrier = threading.Barrier(len(fields))

    def patcher(field: str) -> None:
        with registry.http() as http:
            for round_ in range(15):
                barrier.wait()
                response = http.patch(f"/registered_models/{model_id}", json={field: f"{round_}"})
                assert response.status_code == 200, response.text

    with ThreadPoolExecutor(len(fields)) as pool:
        list(pool.map(patcher, fields))
    with registry.http() as http:
        final = http.get(f"/registered_models/{model_id}").json()
    assert {field: final.get(field) for field in fields} == dict.fromkeys(fields, "14")
