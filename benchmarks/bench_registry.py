"""Benchmark of the embedded model registry: registrations/s and get/list latency at 10k versions.

    python benchmarks/bench_registry.py --output-dir benchmarks/results [--versions 10000]
        [--registrations 40] [--requests 400]

The server runs as its own process (`python -m braking_registry`) on a free loopback port, so the
client's work and the server's do not share one interpreter. Latencies are measured twice:
over plain keep-alive HTTP (what the server costs) and through the official `model-registry`
client (what a user sees; it opens a new session per call). Writes <output-dir>/registry.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from machine_info import machine_info

API = "/api/model_registry/v1alpha3"
MODEL = "bench-model"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(db: Path) -> tuple[subprocess.Popen, int]:
    import httpx

    port = _free_port()
    command = [sys.executable, "-m", "braking_registry"]
    command += ["--port", str(port), "--db", str(db), "--log-level", "warning"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/readyz/health", timeout=1)
            return server, port
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the registry server did not start within 60 s")


def fill_versions(db: Path, count: int) -> tuple[int, list[int]]:
    """Store `count` versions (with an artifact each) under MODEL, straight into the database."""
    from braking_registry.store import ARTIFACT, MODEL_VERSION, REGISTERED_MODEL, RegistryStore

    store = RegistryStore(db)
    model = store.create(REGISTERED_MODEL, REGISTERED_MODEL, {"state": "LIVE"}, name=MODEL)
    ids = []
    for n in range(1, count + 1):
        properties = {"mae": {"metadataType": "MetadataDoubleValue", "double_value": 0.01 * n}}
        body = {"state": "LIVE", "author": "bench", "customProperties": properties}
        version = store.create(MODEL_VERSION, MODEL_VERSION, body, name=str(n), parent_id=model.id)
        artifact = {"state": "LIVE", "uri": f"file:///models/{n}", "modelFormatName": "onnx"}
        store.create(ARTIFACT, "model-artifact", artifact, name=MODEL, parent_id=version.id)
        ids.append(version.id)
    store.close()
    return model.id, ids


def latency(call: Callable[[], object], requests: int) -> dict[str, float]:
    samples = []
    for _ in range(requests):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return {
        "requests": requests,
        "p50_ms": statistics.median(samples),
        "p99_ms": samples[min(len(samples) - 1, int(len(samples) * 0.99))],
        "mean_ms": statistics.fmean(samples),
    }


def write_model_dirs(root: Path, count: int) -> list[Path]:
    """`count` MODEL_DIRs holding distinct tiny ONNX regressors (7 inputs -> 1 output)."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    dirs = []
    for index in range(count):
        weights = numpy_helper.from_array(rng.random((7, 1), dtype=np.float32), "weights")
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["sensor_features", "weights"], ["brake_amount"])],
            f"bench-{index}",
            [helper.make_tensor_value_info("sensor_features", TensorProto.FLOAT, [None, 7])],
            [helper.make_tensor_value_info("brake_amount", TensorProto.FLOAT, [None, 1])],
            initializer=[weights],
        )
        folder = root / f"model-{index}"
        folder.mkdir(parents=True)
        onnx.save(helper.make_model(graph), folder / "model.onnx")
        (folder / "metrics.json").write_text(json.dumps({"test": {"mae": 0.01, "r2": 0.99}}))
        dirs.append(folder)
    return dirs


def bench_registrations(port: int, count: int, root: Path) -> dict[str, dict[str, float]]:
    from braking_release.register import RegistrationConfig, connect, register_model

    config = RegistrationConfig(
        registry_url=f"http://127.0.0.1:{port}", model_name="bench-registrations"
    )
    client = connect(config)
    start = time.perf_counter()
    for n in range(count):
        client.register_model(
            "bench-client", f"file:///m/{n}", model_format_name="onnx",
            model_format_version="1", version=str(n),
        )  # fmt: skip
    client_s = time.perf_counter() - start
    model_dirs = write_model_dirs(root, count)
    start = time.perf_counter()
    for model_dir in model_dirs:
        register_model(model_dir, config)
    step_s = time.perf_counter() - start
    start = time.perf_counter()
    for model_dir in model_dirs[:10]:
        assert not register_model(model_dir, config).created
    rerun_s = time.perf_counter() - start
    return {
        "official_client_register_model": {"count": count, "per_s": count / client_s},
        "register_step_new_model": {"count": count, "per_s": count / step_s},
        "register_step_already_registered": {"count": 10, "per_s": 10 / rerun_s},
    }


def bench_reads(port: int, model_id: int, version_ids: list[int], requests: int) -> dict:
    import httpx

    from braking_release.register import RegistrationConfig, connect

    rng = random.Random(0)
    pick = lambda: rng.choice(version_ids)  # noqa: E731
    http = httpx.Client(base_url=f"http://127.0.0.1:{port}{API}")
    deep_token = http.get(f"/registered_models/{model_id}/versions", params={"pageSize": "5000"})
    token = deep_token.json()["nextPageToken"]
    results = {
        "http_get_version": latency(lambda: http.get(f"/model_versions/{pick()}"), requests),
        "http_find_version": latency(
            lambda: http.get(
                "/model_version",
                params={
                    "name": str(rng.randint(1, len(version_ids))),
                    "parentResourceId": model_id,
                },
            ),
            requests,
        ),
        "http_list_versions_page100": latency(
            lambda: http.get(f"/registered_models/{model_id}/versions", params={"pageSize": "100"}),
            requests,
        ),
        "http_list_versions_page100_deep": latency(
            lambda: http.get(
                f"/registered_models/{model_id}/versions",
                params={"pageSize": "100", "nextPageToken": token},
            ),
            requests,
        ),
        "http_list_versions_newest100": latency(
            lambda: http.get(
                "/model_versions",
                params={"pageSize": "100", "orderBy": "CREATE_TIME", "sortOrder": "DESC"},
            ),
            requests,
        ),
    }
    client = connect(RegistrationConfig(registry_url=f"http://127.0.0.1:{port}"))
    client_requests = max(requests // 4, 20)
    results["client_get_model_version"] = latency(
        lambda: client.get_model_version(MODEL, str(rng.randint(1, len(version_ids)))),
        client_requests,
    )
    results["client_list_versions_page100"] = latency(
        lambda: client.get_model_versions(MODEL).page_size(100)._next_page(), client_requests
    )
    http.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--versions", type=int, default=10_000, help="versions stored for reads")
    parser.add_argument("--registrations", type=int, default=40, help="registrations per method")
    parser.add_argument("--requests", type=int, default=400, help="timed requests per read kind")
    args = parser.parse_args()
    # The client warns at every connection that a random free port "is not 80"; noise here.
    logging.getLogger("model-registry").addFilter(lambda r: "is not 80" not in r.getMessage())

    with tempfile.TemporaryDirectory(prefix="bench-registry-") as folder:
        db = Path(folder) / "registry.db"
        start = time.perf_counter()
        model_id, version_ids = fill_versions(db, args.versions)
        fill_s = time.perf_counter() - start
        server, port = start_server(db)
        try:
            reads = bench_reads(port, model_id, version_ids, args.requests)
            registrations = bench_registrations(port, args.registrations, Path(folder) / "models")
        finally:
            server.terminate()
            server.wait(timeout=30)
    result = {
        "benchmark": "registry",
        "timestamp": datetime.now(UTC).isoformat(),
        "versions_stored": args.versions,
        "store_fill_versions_per_s": args.versions / fill_s,
        "registrations": registrations,
        "reads": reads,
        "machine": machine_info("model-registry"),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "registry.json").write_text(json.dumps(result, indent=2))
    fill_rate = result["store_fill_versions_per_s"]
    print(f"registry with {args.versions} versions (store fill {fill_rate:.0f} versions/s)")
    for name, figures in registrations.items():
        print(f"  {name:<38} {figures['per_s']:8.1f} registrations/s")
    for name, figures in reads.items():
        print(f"  {name:<38} p50 {figures['p50_ms']:7.2f} ms   p99 {figures['p99_ms']:7.2f} ms")
    print(f"wrote {args.output_dir / 'registry.json'}")


if __name__ == "__main__":
    main()
