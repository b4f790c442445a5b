"""Several worker processes: the token never sits in their environment, and an acknowledged
unload holds on every worker from the next request on."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from serving_fixtures import MODEL_NAME, _export_tiny_model

from braking_serving.repository import add_to_repository

pytestmark = pytest.mark.slow
TOKEN = "worker-s3cret-token"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _descendants(pid: int) -> list[int]:
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        found += [int(child) for child in children]
        stack += [int(child) for child in children]
    return found


def test_workers_get_no_token_in_env_and_unload_holds_on_all(tmp_path):
    repository = tmp_path / "models"
    model_dir = _export_tiny_model(tmp_path / "model")
    add_to_repository(repository, MODEL_NAME, model_dir / "model.onnx")
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN)
    port = _free_port()
    command = [sys.executable, "-m", "braking_serving", "--model-repository", str(repository)]
    command += ["--port", str(port), "--workers", "2", "--token-file", str(token_file)]
    server = subprocess.Popen(command, stderr=subprocess.PIPE)
    base, auth = f"http://127.0.0.1:{port}", {"Authorization": f"Bearer {TOKEN}"}
    try:
        deadline = time.monotonic() + 60
        while len(_descendants(server.pid)) < 2 or not _ready(base, auth):
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        for pid in [server.pid, *_descendants(server.pid)]:
            environment = Path(f"/proc/{pid}/environ").read_bytes()
            assert TOKEN.encode() not in environment, f"token in the environment of {pid}"

        unload = httpx.post(f"{base}/v2/repository/models/{MODEL_NAME}/unload", headers=auth)
        assert unload.status_code == 200
        # A new connection per request: the kernel spreads them over both workers.
        statuses = [
            httpx.get(f"{base}/v2/models/{MODEL_NAME}/ready", headers=auth).status_code
            for _ in range(20)
        ]
        assert statuses == [404] * 20
    finally:
        server.terminate()
        server.wait(timeout=30)


def _ready(base: str, auth: dict) -> bool:
    try:
        return httpx.get(f"{base}/v2/models/{MODEL_NAME}/ready", headers=auth).status_code == 200
    except httpx.TransportError:
        return False
