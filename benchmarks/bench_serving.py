"""Serving benchmark: our OIP server against MLServer and KServe's ModelServer, on loopback.

    python benchmarks/bench_serving.py --output-dir benchmarks/results [--model-dir outputs/model]
        [--requests 5000] [--seconds 8] [--concurrency 1 16 64] [--rows 1 64] [--no-peers]

Every server gets the same model (ONNX; MLServer the same pipeline as model.joblib), the same
pre-encoded V2 requests from one closed-loop client (keep-alive connections, bounded in count
and time), and is checked for correct answers first. Besides requests/s and latency it
reports each server's CPU time per request (from /proc), the figure that survives a busy
machine, and the cost of our server's features (metrics, bearer auth). Writes serving.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import numpy as np
import serving_peers as peers
from collector_process import start_collector
from machine_info import machine_info
from serving_figures import batching_effect, compare, feature_costs
from serving_load import build_request, generate_load

MODEL_NAME = "braking-distance"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_small_model(folder: Path) -> Path:
    """No --model-dir: a real MODEL_DIR from `braking_model.train_model` on 10,000 rows."""
    from braking_data.generate import write_dataset
    from braking_model.config import TrainConfig
    from braking_model.train import train_model

    folder.mkdir(parents=True, exist_ok=True)
    write_dataset(folder / "data.parquet", rows=10_000, seed=3)
    config = TrainConfig(n_iter=2, cv=2, n_jobs=1, seed=3)
    train_model(folder / "data.parquet", folder / "model", config)
    return folder / "model"


def sample_features(rows: int) -> np.ndarray:
    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.generate import generate_frame

    return generate_frame(rows, seed=11)[list(FEATURE_COLUMNS)].to_numpy(np.float32)


def infer_body(features: np.ndarray) -> bytes:
    tensor = {"name": "sensor_features", "shape": list(features.shape), "datatype": "FP32"}
    return json.dumps({"inputs": [{**tensor, "data": features.ravel().tolist()}]}).encode()


def group_cpu_seconds(pid: int) -> float:
    """User+system CPU of a process and all its descendants (workers, inference pools)."""
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        stack.extend(int(child) for child in children)
    return total


def check_answers(spec: peers.ServerSpec, features: np.ndarray, expected: np.ndarray) -> float:
    """Max |difference| between the server's answer and onnxruntime in-process."""
    headers = {"Authorization": f"Bearer {spec.token}"} if spec.token else {}
    response = httpx.post(
        f"http://127.0.0.1:{spec.port}{spec.model_path}/infer",
        content=infer_body(features),
        headers={**headers, "Content-Type": "application/json"},
    )
    response.raise_for_status()
    answer = np.asarray(response.json()["outputs"][0]["data"], dtype=np.float64).ravel()
    # model.joblib is the unclipped pipeline; the ONNX graph clips to [0, 1].
    answer = np.clip(answer, 0.0, 1.0)
    difference = float(np.max(np.abs(answer - expected.ravel())))
    if difference > 1e-3:
        raise RuntimeError(f"{spec.label} answers differ from onnxruntime by {difference}")
    return difference


def bench_server(spec, args, features, expected, cells, log_dir) -> dict:
    with peers.running(spec, log_dir) as process:
        result = {"command": " ".join(spec.command), "notes": spec.notes, "cells": []}
        result["max_abs_diff_vs_onnxruntime"] = check_answers(spec, features[:8], expected[:8])
        for rows, concurrency in cells:
            request = build_request(
                spec.port, f"{spec.model_path}/infer", infer_body(features[:rows]), spec.token
            )
            generate_load(spec.port, request, concurrency, args.requests // 10, 2.0)  # warm-up
            cpu_before = group_cpu_seconds(process.pid)
            load = generate_load(spec.port, request, concurrency, args.requests, args.seconds)
            cpu = group_cpu_seconds(process.pid) - cpu_before
            cell = {"rows": rows, "concurrency": concurrency, **load.summary(rows)}
            cell["server_cpu_us_per_request"] = round(cpu / max(load.requests, 1) * 1e6, 1)
            result["cells"].append(cell)
            print(
                f"  {spec.label:38} rows={rows:<3} c={concurrency:<3} "
                f"{cell['requests_per_s']:>9.0f} req/s {cell['rows_per_s']:>10.0f} rows/s "
                f"p50 {cell['p50_ms']:6.2f} ms p99 {cell['p99_ms']:6.2f} ms "
                f"cpu {cell['server_cpu_us_per_request']:7.1f} us/req "
                f"errors {cell['errors']}",
                flush=True,
            )
        return result


def _per_call_us(function, calls: int = 20_000) -> float:
    function()
    start = time.perf_counter()
    for _ in range(calls):
        function()
    return round((time.perf_counter() - start) / calls * 1e6, 2)


def request_path_costs(model_dir: Path, features: np.ndarray) -> dict[str, dict[str, float]]:
    """In-process microseconds of each step our server runs per request (no HTTP, no noise
    from other processes): parsing/validation, inference, response, metrics, auth check."""
    from braking_serving.config import ServerConfig
    from braking_serving.metrics import ServerMetrics
    from braking_serving.protocol import infer_response, parse_infer_request
    from braking_serving.repository import load_onnx_model
    from braking_serving.server import InferenceServer

    model = load_onnx_model(model_dir, MODEL_NAME)
    metrics = ServerMetrics()
    server = InferenceServer(ServerConfig(token="bench-token"))
    header = b"Bearer bench-token"
    costs = {}
    for rows in (1, 64):
        body = infer_body(features[:rows])
        request = parse_infer_request(body, model)
        results = model.run(request.output_names, request.feeds)
        costs[f"{rows}_rows"] = {
            "parse_and_validate": _per_call_us(lambda b=body: parse_infer_request(b, model)),
            "onnxruntime": _per_call_us(lambda r=request: model.run(r.output_names, r.feeds)),
            "response_json": _per_call_us(lambda r=request, o=results: infer_response(model, r, o)),
        }
    costs["features"] = {
        "metrics_observe": _per_call_us(lambda: metrics.observe(MODEL_NAME, "infer", 200, 1e-4)),
        "bearer_auth_check": _per_call_us(lambda: server._authorize(header)),
    }
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--model-dir", type=Path, help="MODEL_DIR with model.onnx + model.joblib")
    parser.add_argument("--requests", type=int, default=5000, help="responses per cell (cap)")
    parser.add_argument("--seconds", type=float, default=8.0, help="wall time per cell (cap)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--no-peers", action="store_true", help="only our server")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    model_dir = args.model_dir or Path("outputs/model")
    model_source = str(model_dir)
    complete = (model_dir / "model.onnx").is_file() and (model_dir / "model.joblib").is_file()
    if args.model_dir and not complete:
        parser.error(f"--model-dir {model_dir} needs model.onnx and model.joblib")
    if not complete:
        model_dir = train_small_model(work / "trained")
        model_source = "braking_model.train_model on 10,000 generated rows (no --model-dir)"
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_dir / "model.onnx"), options)
    features = sample_features(max([*args.rows, 8]))
    expected = session.run(None, {"sensor_features": features})[0]

    token_file = work / "token"
    token_file.write_text("bench-token")
    cells = [(rows, c) for rows in args.rows for c in args.concurrency]
    one_row = [(1, 16)]
    runs = [
        (peers.our_server(model_dir, MODEL_NAME, free_port()), cells),
        (peers.our_server(model_dir, MODEL_NAME, free_port(), workers=2), cells),
        (
            peers.our_server(
                model_dir,
                MODEL_NAME,
                free_port(),
                metrics=False,
                label="braking (1 worker, metrics off)",
            ),
            one_row,
        ),
        (
            peers.our_server(
                model_dir,
                MODEL_NAME,
                free_port(),
                token_file=token_file,
                label="braking (1 worker, bearer auth)",
            ),
            one_row,
        ),
    ]
    # What the hardening costs or gains, each against "braking (1 worker)": dynamic batching
    # off (its default is chosen from these cells), and the HTTP layer without the
    # limits (plain httptools) or with uvicorn's h11 instead.
    # The KServe-style inference logger, sending to a collector process of its own.
    collector, collector_url = start_collector(work / "inference-log")
    logger = {"env": {"BRAKING_SERVING_LOGGER_URL": collector_url}}
    for label, flags, variant_cells in (
        ("braking (1 worker, inference logger)", logger, cells),
        ("braking (1 worker, batching off)", {"env": {"BRAKING_SERVING_BATCHING": "false"}}, cells),
        ("braking (1 worker, plain httptools)", {"http": "httptools"}, one_row),
        ("braking (1 worker, h11)", {"http": "h11"}, one_row),
    ):
        spec = peers.our_server(model_dir, MODEL_NAME, free_port(), label=label, **flags)
        runs.append((spec, variant_cells))
    peer_labels = []
    if not args.no_peers:
        for make in (
            lambda: peers.mlserver(
                model_dir, MODEL_NAME, free_port(), work, [free_port(), free_port()]
            ),
            lambda: peers.kserve(model_dir, MODEL_NAME, free_port(), free_port()),
        ):
            spec = make()
            runs.append((spec, cells))
            peer_labels.append(spec.label)

    load_before = os.getloadavg()
    results: dict[str, dict] = {}
    try:
        for spec, server_cells in runs:
            print(f"== {spec.label}", flush=True)
            try:
                results[spec.label] = bench_server(
                    spec, args, features, expected, server_cells, work / "logs"
                )
            except (RuntimeError, httpx.HTTPError) as error:  # a failing peer keeps our numbers
                print(f"  skipped: {error}", flush=True)
                results[spec.label] = {"error": str(error)}
    finally:
        collector.terminate()
        collector.wait(10)
    results = {label: result for label, result in results.items() if "cells" in result}
    ours = [label for label in results if label.startswith("braking (") and "," not in label]
    output = {
        "benchmark": "serving",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            **machine_info("onnxruntime", "uvicorn"),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
        },
        "settings": {
            "model": model_source,
            "requests_per_cell": args.requests,
            "seconds_per_cell": args.seconds,
            "client": "closed-loop keep-alive HTTP/1.1, uvloop",
        },
        "servers": results,
        "comparison": compare(results, ours, peer_labels),
        "request_path_us": request_path_costs(model_dir, features),
        "batching": batching_effect(
            results, "braking (1 worker)", "braking (1 worker, batching off)"
        ),
        "feature_costs": feature_costs(
            results,
            "braking (1 worker)",
            {
                "metrics": "braking (1 worker, metrics off)",
                "auth": "braking (1 worker, bearer auth)",
                "http_limits": "braking (1 worker, plain httptools)",
                "h11_instead_of_limited_httptools": "braking (1 worker, h11)",
                "batching": "braking (1 worker, batching off)",
                "inference_logger": "braking (1 worker, inference logger)",
            },
        ),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    path = args.output_dir / "serving.json"
    path.write_text(json.dumps(output, indent=2))
    print(
        json.dumps(
            {
                key: output[key]
                for key in ("comparison", "feature_costs", "batching", "request_path_us")
            },
            indent=2,
        )
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
