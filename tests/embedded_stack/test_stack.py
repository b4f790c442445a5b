"""`braking stack up|status|down` in a temporary state dir, on free loopback ports."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx
import pytest
from serving_fixtures import MODEL_NAME, random_features
from stack_fixtures import free_port
from typer.testing import CliRunner

from braking_cli.main import app
from braking_model.model_dir import ONNX_FILE
from braking_release.config import DeployConfig, LocalServingTarget
from braking_release.deploy import deploy_model
from braking_serving.client import InferenceClient
from braking_stack import stack
from braking_stack.config import StackConfig
from braking_stack.stack import StackError, ensure_stack, stack_down, stack_status


@pytest.fixture
def stack_config(tmp_path) -> StackConfig:
    return StackConfig(
        dir=tmp_path / "stack", registry_port=free_port(), serving_port=free_port(),
        services=("serving",),
    )  # fmt: skip


@pytest.mark.slow
def test_up_deploy_predict_status_down(stack_config, serving_model_dir):
    try:
        status = ensure_stack(stack_config)
        assert status.healthy
        serving = status.services["serving"]
        assert Path(f"/proc/{serving.pid}").exists()
        assert (stack_config.state_dir / "run" / "serving.json").is_file()
        assert ensure_stack(stack_config).services["serving"].pid == serving.pid  # reused

        local = LocalServingTarget(
            server_url=status.serving_url, repository=status.model_repository
        )
        config = DeployConfig(local=local, timeout_seconds=30)
        deployment = deploy_model(serving_model_dir, config)
        assert (stack_config.model_repository / MODEL_NAME / "1" / ONNX_FILE).is_file()
        with InferenceClient(deployment.url) as client:
            assert client.predict(random_features(2)).shape == (2,)

        env = {
            "BRAKING_STACK_DIR": str(stack_config.dir),
            "BRAKING_STACK_SERVING_PORT": str(stack_config.serving_port),
        }
        result = CliRunner().invoke(app, ["stack", "status", "--service", "serving"], env=env)
        assert result.exit_code == 0, result.output
        assert "healthy" in result.output and serving.url in result.output
    finally:
        stopped = stack_down(stack_config)
    assert stopped == ["serving"]
    assert not Path(f"/proc/{serving.pid}").exists()
    assert not stack_status(stack_config).healthy
    assert "serving on" in (stack_config.state_dir / "logs" / "serving.log").read_text()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{serving.url}/v2/health/live")


def test_a_taken_port_is_a_clear_error(stack_config):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", stack_config.serving_port))
        taken.listen()
        with pytest.raises(StackError) as raised:
            ensure_stack(stack_config)
    message = str(raised.value)
    assert f"port {stack_config.serving_port} on 127.0.0.1 is already in use" in message
    assert "BRAKING_STACK_SERVING_PORT" in message
    assert not (stack_config.state_dir / "run" / "serving.json").exists()


def test_a_service_that_dies_at_startup_is_reported_with_its_log(stack_config, monkeypatch):
    crash = [sys.executable, "-c", "print('model repository is unreadable'); raise SystemExit(3)"]
    monkeypatch.setattr(stack, "_command", lambda config, service: crash)
    with pytest.raises(StackError) as raised:
        ensure_stack(stack_config)
    assert "the serving exited with code 3 while starting" in str(raised.value)
    assert "model repository is unreadable" in str(raised.value)
    assert not (stack_config.state_dir / "run" / "serving.json").exists()


def test_down_with_nothing_running(stack_config):
    result = CliRunner().invoke(app, ["stack", "down", "--dir", str(stack_config.dir)])
    assert result.exit_code == 0
    assert "nothing was running" in result.output


@pytest.mark.slow
def test_registry_and_server_together(tmp_path):
    pytest.importorskip("braking_registry.server", reason="the registry stage has not landed")
    config = StackConfig(
        dir=tmp_path / "stack", registry_port=free_port(), serving_port=free_port()
    )
    try:
        status = ensure_stack(config)
        assert status.healthy
        assert httpx.get(f"{status.registry_url}/readyz/health").status_code == 200
        assert config.registry_db.exists()
    finally:
        assert sorted(stack_down(config)) == ["registry", "serving"]


def test_the_token_file_is_private_even_when_it_existed(tmp_path):
    config = StackConfig(dir=tmp_path / "stack", token="s3cret")
    config.state_dir.mkdir(parents=True)
    (config.state_dir / "token").write_text("old")
    (config.state_dir / "token").chmod(0o644)
    command = stack._command(config, "serving")
    token_file = Path(command[command.index("--token-file") + 1])
    assert token_file.read_text() == "s3cret"
    assert token_file.stat().st_mode & 0o777 == 0o600
