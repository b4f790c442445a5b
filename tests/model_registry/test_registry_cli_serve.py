"""`braking registry serve` runs the registry as its own process, token-protected on request."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
import pytest
from stack_fixtures import free_port

from braking_registry.spec import API_PREFIX

pytestmark = pytest.mark.slow


def test_serve_command_with_token_file_and_env(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("from-file\n")
    port = free_port()
    env = {**os.environ, "BRAKING_REGISTRY_TOKEN_FILE": str(token_file)}
    command = [sys.executable, "-m", "braking_registry"]
    command += ["--port", str(port), "--db", str(tmp_path / "cli.db"), "--log-level", "warning"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/readyz/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.2)
        url = f"{base}{API_PREFIX}/registered_models"
        assert httpx.get(url).status_code == 401
        authorized = {"Authorization": "Bearer from-file"}
        created = httpx.post(url, json={"name": "cli"}, headers=authorized)
        assert created.status_code == 201, created.text
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert "bearer token required" in output


def test_serve_refuses_an_empty_token_file(tmp_path):
    token_file = tmp_path / "empty"
    token_file.write_text("  \n")
    command = [sys.executable, "-m", "braking_registry"]
    command += ["--token-file", str(token_file), "--db", str(tmp_path / "x.db")]
    env = {**os.environ, "COLUMNS": "300"}  # keep rich from wrapping the message
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2
    assert "is empty, expected a bearer token" in result.stderr
