"""A private embedded stack (registry + inference server) for tests, and free loopback ports."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class StackEnvironment:
    """A running private stack, and the env that points library calls and subprocesses at it."""

    config: Any  # braking_stack.config.StackConfig
    registry_url: str
    serving_url: str
    env: dict[str, str]


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackEnvironment]:
    """The embedded registry and inference server on free loopback ports in a temp state dir,
    stopped at the end of the session whatever the tests did."""
    from braking_stack.config import StackConfig
    from braking_stack.stack import stack_down, stack_up

    config = StackConfig(
        dir=tmp_path_factory.mktemp("stack"), registry_port=free_port(), serving_port=free_port()
    )
    status = stack_up(config)
    env = {
        "BRAKING_STACK_DIR": str(config.dir),
        "BRAKING_STACK_REGISTRY_PORT": str(config.registry_port),
        "BRAKING_STACK_SERVING_PORT": str(config.serving_port),
        "BRAKING_REGISTRATION_REGISTRY_URL": status.registry_url,
        "BRAKING_PREDICT_URL": f"{status.serving_url}/v2/models/braking-distance",
    }
    try:
        yield StackEnvironment(config, status.registry_url, status.serving_url, env)
    finally:
        stack_down(config)


@pytest.fixture
def stack_env(embedded_stack: StackEnvironment, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The private stack, with its settings in this test's env (so kfp.local's step
    subprocesses find it too)."""
    for name, value in embedded_stack.env.items():
        monkeypatch.setenv(name, value)
    return embedded_stack
