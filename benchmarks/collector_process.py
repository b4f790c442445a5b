"""The monitoring collector as its own process, as the embedded stack starts it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def start_collector(store: Path) -> tuple[subprocess.Popen, str]:
    """`python -m braking_monitoring` on a free loopback port storing under `store`; returns
    (process, URL) once it is ready."""
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        sys.executable,
        "-m",
        "braking_monitoring",
        "--port",
        str(port),
        "--store",
        str(store),
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/q/health/ready", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("the collector did not start")
