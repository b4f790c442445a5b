"""Run the inference server under uvicorn (uvloop + httptools), in one or several processes."""

from __future__ import annotations

import errno
import shutil
import socket
import tempfile
from collections.abc import Callable

from braking_common.environment import scoped_environ
from braking_serving.config import ServerConfig


class PortInUseError(OSError):
    """The port the server (or stack) should listen on is taken by another process."""


def bind_socket(host: str, port: int, hint: str = "--port") -> socket.socket:
    """Bind a listening TCP socket, with a clear error when the port is taken."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        if error.errno == errno.EADDRINUSE:
            raise PortInUseError(
                error.errno,
                f"port {port} on {host} is already in use by another process; "
                f"stop it or choose another port with {hint}",
            ) from None
        raise
    sock.set_inheritable(True)
    return sock


def _uvicorn_config(app, config: ServerConfig, **extra):
    import uvicorn

    return uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,  # per-request logging would cost more than the inference
        log_level="warning",
        server_header=False,
        backlog=2048,
        **extra,
    )


def run_server(config: ServerConfig, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve until interrupted; `on_ready(url)` is called once the port is bound.

    With `workers > 1` the processes share one listening socket (the kernel hands each
    connection to whichever worker accepts first) and pool their metrics through
    prometheus_client's multiprocess directory.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from braking_serving.server import CONFIG_ENV, InferenceServer

    sock = bind_socket(config.host, config.port)
    port = sock.getsockname()[1]
    config = config.model_copy(update={"port": port})
    url = f"http://{config.host}:{port}"
    if config.workers == 1:
        server = uvicorn.Server(_uvicorn_config(InferenceServer(config), config))
        if on_ready is not None:
            on_ready(url)
        server.run(sockets=[sock])
        return
    InferenceServer(config)  # load the models once here: errors show before workers start
    metrics_dir = tempfile.mkdtemp(prefix="braking-serving-metrics-")
    # The workers are spawned processes: they read their settings from the inherited env,
    # which is restored afterwards (run_server may be called again in the same process).
    worker_env = {CONFIG_ENV: config.model_dump_json(), "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
    try:
        with scoped_environ(worker_env):
            uv_config = _uvicorn_config(
                "braking_serving.server:create_app", config, factory=True, workers=config.workers
            )
            if on_ready is not None:
                on_ready(url)
            Multiprocess(uv_config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
