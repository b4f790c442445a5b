"""The embedded stack: the model registry and the inference server as background processes.

Everything lives under one state directory (`BRAKING_STACK_DIR`, default ./.braking):

    run/<service>.json   pid, command and URL of each running service
    logs/<service>.log   its output
    registry/registry.db the registry's SQLite database
    models/              the inference server's model repository (<name>/<version>/model.onnx)
    token                the bearer token both servers require, when one is configured

`ensure_stack(config)` is what the local pipeline run calls: it reuses a healthy stack and
starts whatever is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from braking_serving.runner import PortInUseError, bind_socket
from braking_stack.config import StackConfig

# Each service runs from its own package's entry point (`python -m <package>`), never the CLI.
SERVICE_MODULES = {
    "registry": "braking_registry",
    "serving": "braking_serving",
    "monitoring": "braking_monitoring",
}
HEALTH_PATHS = {
    "registry": "/readyz/health",
    "serving": "/v2/health/ready",
    "monitoring": "/q/health/ready",
}
PORT_HINTS = {
    "registry": "--registry-port or BRAKING_STACK_REGISTRY_PORT",
    "serving": "--serving-port or BRAKING_STACK_SERVING_PORT",
    "monitoring": "BRAKING_STACK_MONITORING_PORT",
}


class StackError(RuntimeError):
    """A stack service could not be started or stopped; the message says why."""


@dataclass(frozen=True)
class ServiceStatus:
    """One service of the stack: where it listens, its pid, health and log file."""

    name: str
    url: str
    pid: int | None
    healthy: bool
    log: Path


@dataclass(frozen=True)
class StackStatus:
    """What runs where: each service's URL, pid and health, and the shared paths."""

    state_dir: Path
    model_repository: Path
    services: dict[str, ServiceStatus]

    @property
    def healthy(self) -> bool:
        """True when every selected service answers its health check."""
        return all(service.healthy for service in self.services.values())

    @property
    def serving_url(self) -> str:
        """Base URL of the inference server."""
        return self.services["serving"].url

    @property
    def registry_url(self) -> str:
        """Base URL of the model registry."""
        return self.services["registry"].url


def _port(config: StackConfig, service: str) -> int:
    ports = {"registry": config.registry_port, "monitoring": config.monitoring_port}
    return ports.get(service, config.serving_port)


def _token_file(config: StackConfig) -> Path | None:
    if config.token is None:
        return None
    path = config.state_dir / "token"
    # touch(mode=...) only applies to a new file: an existing 0644 token stayed readable.
    # Tighten first, then write, so the token is never in a file others can read.
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(config.token)
    return path


def _command(config: StackConfig, service: str) -> list[str]:
    address = ["--host", config.host, "--port", str(_port(config, service))]
    token_file = _token_file(config)
    auth = ["--token-file", str(token_file)] if token_file else []
    entry_point = [sys.executable, "-m", SERVICE_MODULES[service]]
    if service == "registry":
        config.registry_db.parent.mkdir(parents=True, exist_ok=True)
        return [*entry_point, *address, "--db", str(config.registry_db), *auth]
    if service == "monitoring":
        return [*entry_point, *address, "--store", str(config.inference_log)]
    config.model_repository.mkdir(parents=True, exist_ok=True)
    repository = ["--model-repository", str(config.model_repository)]
    workers = ["--workers", str(config.serving_workers)]
    return [*entry_point, *repository, *address, *workers, *auth]


def _environment(config: StackConfig, service: str) -> dict[str, str]:
    """With the collector in the stack, the inference server logs every inference to it."""
    env = dict(os.environ)
    if service == "serving" and "monitoring" in config.services:
        env["BRAKING_SERVING_LOGGER_URL"] = config.monitoring_url
    return env


def _pid_file(config: StackConfig, service: str) -> Path:
    return config.state_dir / "run" / f"{service}.json"


def _running_pid(config: StackConfig, service: str) -> int | None:
    """The service's pid if that process still runs our command (pids get reused)."""
    try:
        record = json.loads(_pid_file(config, service).read_text())
        cmdline = Path(f"/proc/{record['pid']}/cmdline").read_bytes()
    except (OSError, ValueError, KeyError):
        return None
    return record["pid"] if SERVICE_MODULES[service].encode() in cmdline else None


def _healthy(url: str, service: str, token: str | None) -> bool:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = httpx.get(f"{url}{HEALTH_PATHS[service]}", headers=headers, timeout=2)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


def _service_status(config: StackConfig, service: str) -> ServiceStatus:
    url = f"http://{config.host}:{_port(config, service)}"
    pid = _running_pid(config, service)
    healthy = pid is not None and _healthy(url, service, config.token)
    log = config.state_dir / "logs" / f"{service}.log"
    return ServiceStatus(service, url, pid, healthy, log)


def stack_status(config: StackConfig | None = None) -> StackStatus:
    """Each selected service's URL, pid and health (nothing is started)."""
    config = config or StackConfig()
    services: dict[str, ServiceStatus] = {
        service: _service_status(config, service) for service in config.services
    }
    return StackStatus(config.state_dir, config.model_repository, services)


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _start(config: StackConfig, service: str) -> None:
    port = _port(config, service)
    try:
        bind_socket(config.host, port, PORT_HINTS[service]).close()
    except PortInUseError as error:
        raise StackError(f"cannot start the {service}: {error.strerror}") from None
    status = _service_status(config, service)
    status.log.parent.mkdir(parents=True, exist_ok=True)
    _pid_file(config, service).parent.mkdir(parents=True, exist_ok=True)
    with status.log.open("ab") as log:
        process = subprocess.Popen(
            _command(config, service),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=_environment(config, service),
            start_new_session=True,  # its own process group: `down` stops it and its workers
        )
    record = {"pid": process.pid, "url": status.url, "command": process.args}
    _pid_file(config, service).write_text(json.dumps(record))
    deadline = time.monotonic() + config.start_timeout_seconds
    while not _healthy(status.url, service, config.token):
        if process.poll() is not None:
            _pid_file(config, service).unlink(missing_ok=True)
            raise StackError(
                f"the {service} exited with code {process.returncode} while starting; "
                f"last lines of {status.log}:\n{_log_tail(status.log)}"
            )
        if time.monotonic() > deadline:
            _stop(config, service, process.pid)
            raise StackError(
                f"the {service} did not answer {status.url}{HEALTH_PATHS[service]} within "
                f"{config.start_timeout_seconds:.0f} s; see {status.log}"
            )
        time.sleep(0.1)


def stack_up(config: StackConfig | None = None) -> StackStatus:
    """Start every service that is not already running and healthy."""
    config = config or StackConfig()
    for service in config.services:
        if not _service_status(config, service).healthy:
            pid = _running_pid(config, service)
            if pid is not None:  # running but not answering: replace it
                _stop(config, service, pid)
            _start(config, service)
    return stack_status(config)


def ensure_stack(config: StackConfig | None = None) -> StackStatus:
    """A healthy stack: the running one, or one started now (the local pipeline's entry)."""
    return stack_up(config)


def _stop(config: StackConfig, service: str, pid: int, grace_seconds: float = 10.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_seconds
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            _reap(pid)
            time.sleep(0.05)
        if Path(f"/proc/{pid}").exists():
            os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _pid_file(config, service).unlink(missing_ok=True)


def _reap(pid: int) -> None:
    """Collect the exit status when the service is our own child (else it stays a zombie)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stack_down(config: StackConfig | None = None) -> list[str]:
    """Stop the running services; returns the names of those stopped."""
    config = config or StackConfig()
    stopped: list[str] = []
    # Also stop an optional service (monitoring) started by an earlier `up` that named it.
    running = [s for s in SERVICE_MODULES if s not in config.services and _running_pid(config, s)]
    for service in (*config.services, *running):
        pid = _running_pid(config, service)
        if pid is not None:
            _stop(config, service, pid)
            stopped.append(service)
        else:
            _pid_file(config, service).unlink(missing_ok=True)
    return stopped
