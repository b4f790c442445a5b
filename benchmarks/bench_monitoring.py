"""Benchmark of monitoring: drift detection rates, false alarms, concept drift, capture cost.

    python benchmarks/bench_monitoring.py --output-dir benchmarks/results [--seeds 20]
        [--model-dir MODEL_DIR] [--requests 3000]

Detection: for each shift of issue 13 and each seed, windows of 1,000 served rows go through
`evaluate_window` against the reference profile; the shift counts as detected within 2
windows when the alarm (two consecutive drifted windows) holds after the second window. The
false-alarm rate is the share of no-shift window pairs that raise the alarm. Concept drift
(reaction time 0.5 -> 1.0 s) is seen by labelled windows of 250 rows only. The model is
MODEL_DIR/model.onnx when given (its reference_profile.json), else the closed-form physics
estimate stands in (training a model on a loaded 2-core machine takes minutes).
Capture cost: the inference server in-process at concurrency 16, without and with the logger
sending to the collector in its own process: throughput, p50, CPU per request, rows lost.
Writes <output-dir>/monitoring.json.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from collector_process import start_collector
from machine_info import machine_info
from sections import record_sections

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

from braking_data.contract import FEATURE_COLUMNS, LABEL_COLUMN
from braking_data.generate import generate_frame
from braking_data.physics import physics_baseline
from braking_data.scenario import Scenario, generate_scenario_frame
from braking_model.reference import (
    ReferenceProfile,
    build_profile,
    evaluate_window,
    labelled_window,
)

SHIFTS = {
    "ice_8_to_30_percent": Scenario(condition_shares={"ice": 0.3}),
    "speed_plus_15_kmh": Scenario(speed_shift_kmh=15),
    "boxes_scaled_0_9": Scenario(box_scale=0.9),
    "stuck_friction_sensor": Scenario(friction_stuck=0.8),
}
CONCEPT = Scenario(reaction_time_s=1.0)
WINDOW = 1_000


def _model(model_dir: Path | None):
    if model_dir is None:
        return "physics baseline (stand-in)", lambda X: np.clip(
            physics_baseline(*np.asarray(X, dtype=np.float64).T), 0.0, 1.0
        )
    from braking_model import export

    session = export.session(model_dir / "model.onnx")
    return str(model_dir), lambda X: export.onnx_predict(session, X)


def _profile(model_dir: Path | None, predict) -> ReferenceProfile:
    if model_dir is not None:
        return ReferenceProfile.load(model_dir)
    frame = generate_frame(40_000, seed=1)
    X, y = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32), frame[LABEL_COLUMN].to_numpy()
    return build_profile(
        X[:30_000], predict(X[:30_000]), X[30_000:], predict(X[30_000:]), y[30_000:]
    )


def _alarm_within_two(profile, predict, scenario: Scenario, seed: int) -> tuple[bool, list[bool]]:
    frame = generate_scenario_frame(2 * WINDOW, 1000 + seed, scenario)
    X = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32)
    drifted = [
        evaluate_window(
            profile, X[i * WINDOW : (i + 1) * WINDOW], predict(X[i * WINDOW : (i + 1) * WINDOW])
        )["drifted"]
        for i in range(2)
    ]
    return all(drifted), drifted


def detection(profile, predict, seeds: int) -> dict:
    results = {}
    for name, scenario in SHIFTS.items():
        started = time.perf_counter()
        hits = [_alarm_within_two(profile, predict, scenario, seed)[0] for seed in range(seeds)]
        results[name] = {
            "detected_within_2_windows": sum(hits) / seeds,
            "seconds_per_window": (time.perf_counter() - started) / (2 * seeds),
        }
    pairs = [
        _alarm_within_two(profile, predict, Scenario(), 500 + seed) for seed in range(5 * seeds)
    ]
    windows = [w for _, ws in pairs for w in ws]
    results["no_shift"] = {
        "window_pairs": len(pairs),
        "alarm_rate": sum(a for a, _ in pairs) / len(pairs),
        "drifted_window_rate": sum(windows) / len(windows),
    }
    return results


def concept_drift(profile, predict, seeds: int) -> dict:
    size = profile.thresholds.label_window_rows
    detected, clean_alarms = [], []
    for seed in range(seeds):
        for scenario, sink in ((CONCEPT, detected), (Scenario(), clean_alarms)):
            frame = generate_scenario_frame(2 * size, 2000 + seed, scenario)
            X, y = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32), frame[LABEL_COLUMN].to_numpy()
            bad = [
                labelled_window(
                    profile, predict(X[i * size : (i + 1) * size]), y[i * size : (i + 1) * size]
                )["degraded"]
                for i in range(2)
            ]
            sink.append(all(bad))
    return {
        "labels_needed": 2 * size,
        "detected_within_labels": sum(detected) / seeds,
        "no_shift_alarm_rate": sum(clean_alarms) / seeds,
        "max_rmse": profile.thresholds.max_rmse,
        "input_windows_see_it": _alarm_within_two(profile, predict, CONCEPT, 0)[0],
    }


async def _load(url: str, requests: int, concurrency: int = 16) -> list[float]:
    import httpx

    body = {"inputs": [{"name": "sensor_features", "shape": [1, 7], "datatype": "FP32",
                        "data": [294, 302, 338, 324, 50, 80, 0.85]}]}  # fmt: skip
    latencies: list[float] = []
    queue = iter(range(requests))

    async def worker(client) -> None:
        for _ in queue:
            started = time.perf_counter()
            try:
                (await client.post(url, json=body)).raise_for_status()
            except httpx.TransportError:  # a reset connection on a saturated machine: retry once
                (await client.post(url, json=body)).raise_for_status()
            latencies.append(time.perf_counter() - started)

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
    return latencies


def capture_cost(requests: int) -> dict:
    """Server throughput, p50 and CPU per request without and with the logger; the client and
    the server share this process, the collector runs in its own."""
    import os

    import httpx
    from serving_fixtures import _export_tiny_model, running_server

    from braking_serving.config import ServerConfig

    results = {}
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = _export_tiny_model(Path(scratch) / "model")
        collector, collector_url = start_collector(Path(scratch) / "log")
        try:
            for mode in ("off", "logger"):
                if mode == "logger":
                    os.environ["BRAKING_SERVING_LOGGER_URL"] = collector_url
                config = ServerConfig(models={"braking-distance": model_dir})
                with running_server(config) as url:
                    cpu = resource.getrusage(resource.RUSAGE_SELF)
                    started = time.perf_counter()
                    latencies = asyncio.run(
                        _load(f"{url}/v2/models/braking-distance/infer", requests)
                    )
                    seconds = time.perf_counter() - started
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    metrics = httpx.get(f"{url}/metrics").text
                os.environ.pop("BRAKING_SERVING_LOGGER_URL", None)
                used = (after.ru_utime + after.ru_stime) - (cpu.ru_utime + cpu.ru_stime)
                results[mode] = {
                    "requests_per_second": requests / seconds,
                    "p50_ms": 1000 * statistics.median(latencies),
                    "client_and_server_cpu_ms_per_request": 1000 * used / requests,
                }
            info = httpx.get(f"{collector_url}/info", timeout=30).json()
            observed = info.get("braking-distance", {}).get("data", {}).get("observations", 0)
            dropped = [
                line
                for line in metrics.splitlines()
                if line.startswith("braking_serving_inference_log_dropped_total")
            ]
            results["logger"].update(
                rows_received_by_collector=observed,
                rows_lost=requests - observed,
                dropped_counter=dropped[0].split()[-1] if dropped else None,
            )
        finally:
            collector.terminate()
            collector.wait(10)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    model, predict = _model(args.model_dir)
    profile = _profile(args.model_dir, predict)
    report = {
        "benchmark": "monitoring",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info("scipy", "pyarrow"),
        "model": model,
        "seeds": args.seeds,
        "window_rows": WINDOW,
        "psi_thresholds": profile.thresholds.psi,
    }
    sections = {
        "detection": lambda: detection(profile, predict, args.seeds),
        "concept_drift": lambda: concept_drift(profile, predict, args.seeds),
        "capture": lambda: capture_cost(args.requests),
    }
    record_sections(report, sections, args.output_dir / "monitoring.json")


if __name__ == "__main__":
    main()
