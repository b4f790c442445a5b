"""Benchmark of the feedback loop: closed-loop time, capture at a fixed rate, promotion rule.

    python benchmarks/bench_loop.py --output-dir benchmarks/results
        [--sections loop capture promotion] [--rows 100000] [--window-rows 1000]
        [--search-space FILE] [--seed 7] [--rate 1000] [--duration 60] [--scenarios 20]

Closed loop (goal <= 15 min): `braking monitor loop`'s library on a fresh embedded stack
(registry, inference server, collector: own processes, free loopback ports) with the ice share
at 30 %; seconds from the first drifted request to the promotion decision recorded on the
registry, and each step's time.
Capture (goal: none lost): the inference server and the collector as stack processes, one-row
requests sent at `--rate` per second (a bare asyncio HTTP/1.1 client) for `--duration` s;
requests answered, rows the collector received, and the server's dropped/failed counters.
Promotion (goals: no worse challenger promoted, >= 90 % of clearly better ones): per seed, a
champion regression tree (depth 6) against a clearly better (depth 10), a clearly worse
(depth 4) and an equal one (depth 6, other training rows), decided by the promotion rule on
a fresh labelled window of 1,000 rows. Writes <output-dir>/loop.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from machine_info import machine_info
from sections import record_sections

from braking_feedback.retrain import LOOP_TRAINING_ROWS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))

MODEL = "braking-distance"
CHALLENGERS = {"clearly_better": 10, "clearly_worse": 4, "equal": 6}
CHAMPION_DEPTH = 6


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stack(root: Path, services: tuple[str, ...]):
    from braking_stack.config import StackConfig

    ports = {f"{name}_port": _free_port() for name in ("registry", "serving", "monitoring")}
    return StackConfig(dir=root / "stack", services=services, **ports)


def closed_loop(rows: int, window_rows: int, search_space: Path | None, seed: int) -> dict:
    """Seconds from drift onset to the recorded decision, and the time of every step."""
    from braking_data.scenario import Scenario
    from braking_feedback.loop import SERVICES, run_loop
    from braking_stack.stack import stack_down

    steps: list[tuple[float, str]] = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as scratch:
        stack = _stack(Path(scratch), SERVICES)
        try:
            result = run_loop(
                stack, Path(scratch) / "work", Scenario(condition_shares={"ice": 0.3}),
                rows=rows, seed=seed, window_rows=window_rows, search_space=search_space,
                say=lambda line: steps.append((time.perf_counter(), line)),
            )  # fmt: skip
        finally:
            stack_down(stack)
    # The drifted traffic starts right after the normal window is reported.
    onset = next(t for t, line in steps if "normal traffic" in line)
    decided = steps[-1][0]
    return {
        "training_rows": rows,
        "seed": seed,
        "window_rows": window_rows,
        "alarm": result.alarm,
        "decision": None if result.decision is None else result.decision.promote,
        "seconds_drift_onset_to_decision": round(decided - onset, 1),
        "seconds_total_with_first_champion": round(decided - started, 1),
        "steps": [{"at_seconds": round(t - started, 1), "step": line} for t, line in steps],
    }


async def _paced(url: str, rate: float, duration: float, connections: int = 32) -> dict:
    """One-row requests at `rate`/s for `duration` s over keep-alive connections.

    A bare HTTP/1.1 client on asyncio streams: httpx costs ~3 ms of CPU per request, which
    alone caps one core near 300 requests/s, so it would measure itself, not the logger.
    Request i is due at start + i/rate; a free connection takes the next due one.
    """
    from urllib.parse import urlsplit

    target = urlsplit(url)
    tensor = {"name": "sensor_features", "shape": [1, 7], "datatype": "FP32",
              "data": [294, 302, 338, 324, 50, 80, 0.85]}  # fmt: skip
    body = json.dumps({"inputs": [tensor]}).encode()
    request = (
        f"POST {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    total, due = int(rate * duration), iter(range(int(rate * duration)))
    counts = {"answered": 0, "failed": 0}
    start = time.perf_counter()

    async def connection() -> None:
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        try:
            for i in due:
                delay = start + i / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                writer.write(request)
                status = int((await reader.readline()).split()[1])
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    length = int(value) if name.lower() == "content-length" else length
                await reader.readexactly(length)
                counts["answered" if status == 200 else "failed"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(connection() for _ in range(connections)))
    return {"sent": total, **counts, "seconds": time.perf_counter() - start}


def capture(rate: float, duration: float) -> dict:
    """Requests answered vs rows the collector received at a fixed request rate."""
    import shutil

    import httpx
    from serving_fixtures import _export_tiny_model

    from braking_stack.stack import ensure_stack, stack_down

    with tempfile.TemporaryDirectory() as scratch:
        stack = _stack(Path(scratch), ("serving", "monitoring"))
        version = stack.model_repository / MODEL / "1"
        version.mkdir(parents=True)
        shutil.copy(_export_tiny_model(Path(scratch) / "model") / "model.onnx", version)
        try:
            status = ensure_stack(stack)
            url = f"{status.serving_url}/v2/models/{MODEL}/infer"
            load = asyncio.run(_paced(url, rate, duration))
            collector = status.services["monitoring"].url
            deadline, received = time.monotonic() + 60, 0
            while time.monotonic() < deadline:  # the logger sends in batches: let it drain
                info = httpx.get(f"{collector}/info", timeout=30).json()
                received = info.get(MODEL, {}).get("data", {}).get("observations", 0)
                if received >= load["answered"]:
                    break
                time.sleep(1)
            metrics = httpx.get(f"{status.serving_url}/metrics", timeout=30).text
        finally:
            stack_down(stack)
    counters = {
        line.split()[0].removeprefix("braking_serving_inference_log_"): float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("braking_serving_inference_log_") and line.split()[0].endswith("total")
    }
    return {
        "target_requests_per_second": rate,
        "duration_seconds": duration,
        "achieved_requests_per_second": round(load["sent"] / load["seconds"], 1),
        **load,
        "rows_received_by_collector": received,
        "rows_lost": load["answered"] - received,
        "logger_counters": counters,
    }


def promotion(scenarios: int, window_rows: int = 1_000) -> dict:
    """Promoted share of clearly better, clearly worse and equal challengers."""
    from sklearn.tree import DecisionTreeRegressor

    from braking_data.contract import FEATURE_COLUMNS, LABEL_COLUMN
    from braking_data.generate import generate_frame
    from braking_monitoring.promotion import compare_models

    def fitted(depth: int, seed: int) -> DecisionTreeRegressor:
        frame = generate_frame(6_000, seed)
        tree = DecisionTreeRegressor(max_depth=depth, random_state=seed)
        return tree.fit(frame[list(FEATURE_COLUMNS)].to_numpy(np.float32), frame[LABEL_COLUMN])

    promoted: dict[str, list[bool]] = {kind: [] for kind in CHALLENGERS}
    rmse_gain: dict[str, list[float]] = {kind: [] for kind in CHALLENGERS}
    for seed in range(scenarios):
        window = generate_frame(window_rows, 1_000_000 + seed)  # held out of every training set
        X, y = window[list(FEATURE_COLUMNS)].to_numpy(np.float32), window[LABEL_COLUMN]
        champion = np.clip(fitted(CHAMPION_DEPTH, seed).predict(X), 0, 1)
        for kind, depth in CHALLENGERS.items():
            challenger = np.clip(fitted(depth, 10_000 + seed).predict(X), 0, 1)
            decision = compare_models(y.to_numpy(), champion, challenger, True, seed=seed)
            promoted[kind].append(decision.promote)
            rmse_gain[kind].append(decision.evidence.rmse_diff)
    return {
        "scenarios_per_kind": scenarios,
        "window_rows": window_rows,
        "promoted_share": {kind: sum(v) / len(v) for kind, v in promoted.items()},
        "mean_rmse_diff_challenger_minus_champion": {
            kind: round(float(np.mean(v)), 4) for kind, v in rmse_gain.items()
        },
        "worse_promoted": sum(promoted["clearly_worse"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--sections", nargs="+", default=["loop", "capture", "promotion"])
    parser.add_argument(
        "--rows", type=int, default=LOOP_TRAINING_ROWS, help="training rows of the loop"
    )
    parser.add_argument("--window-rows", type=int, default=1_000)
    parser.add_argument("--search-space", type=Path, default=None)
    parser.add_argument("--seed", type=int, default=7, help="seed of the loop's traffic")
    parser.add_argument("--rate", type=float, default=1_000.0, help="capture requests/s")
    parser.add_argument("--duration", type=float, default=60.0, help="capture seconds")
    parser.add_argument("--scenarios", type=int, default=20, help="promotion seeds per kind")
    args = parser.parse_args()
    report: dict = {
        "benchmark": "loop",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info("kfp", "scikit-learn"),
    }
    sections = {
        "loop": lambda: closed_loop(args.rows, args.window_rows, args.search_space, args.seed),
        "capture": lambda: capture(args.rate, args.duration),
        "promotion": lambda: promotion(args.scenarios),
    }
    chosen = {name: sections[name] for name in args.sections}
    record_sections(report, chosen, args.output_dir / "loop.json")


if __name__ == "__main__":
    main()
