"""Both servers as their own processes, schemathesis fuzzing against the shared specs, and the
kill -9 cycle of concurrent registry writers: the rest of issue 14's probes (see
hardening_probes), shared by the hardening benchmark and its test."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from hardening_probes import Target, free_port

MODEL_NAME = "braking-distance"
REGISTRY_API = "/api/model_registry/v1alpha3"


def _wait_healthy(process: subprocess.Popen, url: str, log: Path) -> None:
    deadline = time.monotonic() + 120
    while True:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)


@contextlib.contextmanager
def server_process(command: list[str], health_url: str, log: Path, env: dict | None = None):
    """Start `command`, wait until `health_url` answers 200, stop it (and its workers) after."""
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command,
            stdout=output,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
            start_new_session=True,
        )
    try:
        _wait_healthy(process, health_url, log)
        yield process
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def infer_body(rows: int, seed: int = 5) -> bytes:
    """A valid V2 request of `rows` sensor readings (about 140 bytes a row)."""
    from braking_data.contract import FEATURE_COLUMNS, INPUT_TENSOR
    from braking_data.generate import generate_frame

    features = generate_frame(rows, seed=seed)[list(FEATURE_COLUMNS)].to_numpy("float32")
    tensor = {"name": INPUT_TENSOR, "shape": [rows, len(FEATURE_COLUMNS)], "datatype": "FP32"}
    return json.dumps({"inputs": [{**tensor, "data": features.ravel().tolist()}]}).encode()


@contextlib.contextmanager
def inference_target(model_dir: Path, folder: Path, large_rows: int, env=None) -> Iterator[Target]:
    port = free_port()
    command = [sys.executable, "-m", "braking_serving", "--model-dir", str(model_dir)]
    command += ["--name", MODEL_NAME, "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    with server_process(command, f"{url}/v2/health/ready", folder / "serving.log", env) as proc:
        yield Target(
            "inference",
            "127.0.0.1",
            port,
            proc.pid,
            "/v2/health/ready",
            "POST",
            f"/v2/models/{MODEL_NAME}/infer",
            infer_body(large_rows),
        )


@contextlib.contextmanager
def registry_process(folder: Path, db: Path, port: int, env=None) -> Iterator[tuple[str, int]]:
    """`python -m braking_registry serve` on `db`; yields (url, pid)."""
    command = [sys.executable, "-m", "braking_registry", "--port", str(port)]
    command += ["--db", str(db), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}"
    with server_process(command, f"{url}/readyz/health", folder / "registry.log", env) as proc:
        yield url, proc.pid


@contextlib.contextmanager
def registry_target(folder: Path, description_bytes: int, env=None) -> Iterator[Target]:
    port = free_port()
    with registry_process(folder, folder / "registry.db", port, env) as (url, pid):
        response = httpx.post(f"{url}{REGISTRY_API}/registered_models", json={"name": "large"})
        response.raise_for_status()
        body = {"description": "d" * description_bytes}
        yield Target(
            "registry",
            "127.0.0.1",
            port,
            pid,
            "/readyz/health",
            "PATCH",  # PATCH of one model: valid every time, and the table does not grow
            f"{REGISTRY_API}/registered_models/{response.json()['id']}",
            json.dumps(body).encode(),
        )


# Fuzzing ------------------------------------------------------------------------------------
def fuzz(target: Target, spec_path: Path, requests: int) -> dict[str, int]:
    """About `requests` schemathesis-generated requests over the spec's operations; counts
    the answers by status class. Never raises on a finding: the caller judges the counts."""
    import schemathesis
    import yaml
    from hypothesis import HealthCheck, given, settings

    text = spec_path.read_text().replace("${MODEL_", "{MODEL_")  # OIP's template spelling
    schema = schemathesis.openapi.from_dict(yaml.safe_load(text))
    operations = [result.ok() for result in schema.get_all_operations() if result.ok()]
    per_operation = max(1, requests // len(operations))
    counts = {"requests": 0, "2xx": 0, "4xx": 0, "5xx": 0, "other": 0}
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else None
    for operation in operations:

        @settings(
            max_examples=per_operation,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def one(case) -> None:
            try:
                response = case.call(base_url=target.url, headers=headers, timeout=30)
            except Exception:  # a request the client library itself cannot send
                counts["other"] += 1
                return
            counts["requests"] += 1
            key = f"{response.status_code // 100}xx"
            counts[key if key in counts else "other"] += 1

        one()
    return counts


# kill -9 during concurrent registry writers -------------------------------------------------
def _writer(url: str, index: int, acknowledged: Path, stop) -> None:
    with httpx.Client(base_url=url, timeout=5) as client, open(acknowledged, "a") as log:
        number = 0
        while not stop.is_set():
            name = f"w{index}-{number}"
            number += 1
            try:
                response = client.post(f"{REGISTRY_API}/registered_models", json={"name": name})
            except httpx.HTTPError:
                time.sleep(0.05)
                continue
            if response.status_code == 201:
                log.write(name + "\n")
                log.flush()


def kill9_cycles(folder: Path, cycles: int, writers: int = 8, seconds: float = 2.0) -> dict:
    """`cycles` times: 8 writer processes create models while the registry is killed with
    SIGKILL; after a restart every acknowledged write must be there, and none twice."""
    folder.mkdir(parents=True, exist_ok=True)
    db, port = folder / "kill9.db", free_port()
    acknowledged = folder / "acknowledged"
    acknowledged.mkdir(exist_ok=True)
    context = multiprocessing.get_context("spawn")
    killed = 0
    for cycle in range(cycles):
        with registry_process(folder, db, port) as (url, pid):
            stop = context.Event()
            processes = [
                context.Process(
                    target=_writer,
                    args=(url, cycle * 100 + i, acknowledged / f"{cycle}-{i}", stop),
                )
                for i in range(writers)
            ]
            for process in processes:
                process.start()
            _wait_until_writing([acknowledged / f"{cycle}-{i}" for i in range(writers)])
            time.sleep(seconds)  # all 8 writing at once when the kill lands
            os.killpg(pid, signal.SIGKILL)
            killed += 1
            time.sleep(0.3)
            stop.set()
            for process in processes:
                process.join(timeout=30)
    expected = [n for f in acknowledged.iterdir() for n in f.read_text().split()]
    with registry_process(folder, db, port) as (url, _):
        stored = _all_names(url)
    missing = sorted(set(expected) - set(stored))
    return {
        "cycles": killed,
        "writers": writers,
        "acknowledged_writes": len(expected),
        "stored": len(stored),
        "missing": len(missing),
        "duplicates": len(stored) - len(set(stored)),
    }


def _wait_until_writing(logs: list[Path], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(log.is_file() and log.stat().st_size for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError("the registry writers did not start writing")
        time.sleep(0.1)


def _all_names(url: str) -> list[str]:
    names, token = [], ""
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            params = {"pageSize": "1000", **({"nextPageToken": token} if token else {})}
            page = client.get(f"{REGISTRY_API}/registered_models", params=params).json()
            names += [item["name"] for item in page.get("items", [])]
            token = page.get("nextPageToken") or ""
            if not token or not page.get("items"):
                return names
