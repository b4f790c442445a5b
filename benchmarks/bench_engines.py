"""Benchmark of the served graph on its two engines, for each tree layout (ADR 12).

    python benchmarks/bench_engines.py --output-dir benchmarks/results [--model-dir DIR]
        [--rows 100000] [--batch-rows 100000] [--single-calls 2000] [--repeats 5]
        [--layouts levels matrix]

Without --model-dir it trains a model the way `make run` does (`braking train` defaults on
--rows generated rows). The trained pipeline is exported once per tree layout and timed:
one row in process on onnxruntime (1 thread, median) against scikit-learn `predict`, and a
--batch-rows batch on OpenVINO (f32, 2 threads) cut into calls of each chunk size (median of
--repeats), one call at a time on 2 threads (as `braking serve --engine openvino` runs a call)
and two calls in flight on 2 streams of one thread each (OpenVINO's `NUM_STREAMS`, what its
throughput hint picks); the target applies to one call at a time in the server's chunk size
(`MAX_ROWS_PER_CALL`).
Writes <output-dir>/engines.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine_info import machine_info
from timing import median_latency_us

TARGETS = {
    "onnxruntime_single_row_us": 150.0,
    "single_row_speedup": 20.0,
    "openvino_rows_per_s": 100_000.0,
}
CHUNKS = (128, 256, 512, 1_024, 4_096)
THREADS = 2


def train(rows: int, folder: Path) -> Path:
    from braking_data.generate import write_dataset
    from braking_model.config import TrainConfig
    from braking_model.train import train_model

    data = folder / "data.parquet"
    write_dataset(data, rows=rows, seed=7)
    train_model(data, folder / "model", TrainConfig(split_dir=folder / "split"))
    return folder / "model"


def _median_s(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_layout(pipeline, layout: str, X, folder: Path, args) -> dict[str, object]:
    from braking_data.contract import MAX_ROWS_PER_CALL
    from braking_model import export
    from braking_model.tree_graph import using_layout

    with using_layout(layout):
        path = export.save(export.to_onnx(pipeline), folder / f"model-{layout}.onnx")
    session = export.session(path, threads=1)
    singles = [X[i : i + 1] for i in range(256)]
    for row in singles:  # warm-up
        export.onnx_predict(session, row)
    single = median_latency_us(
        lambda row: export.onnx_predict(session, row), singles, args.single_calls
    )
    batch = X[: args.batch_rows]
    one_call = _openvino_rates(export.openvino_model(path, threads=THREADS), batch, 1, args)
    in_flight = _openvino_rates(_openvino_streams(path), batch, THREADS, args)
    return {
        "graph_nodes": _node_count(path),
        "graph_bytes": path.stat().st_size,
        "onnxruntime_single_row_median_us": single,
        "openvino_rows_per_s_by_chunk": one_call,
        f"openvino_{THREADS}_streams_rows_per_s_by_chunk": in_flight,
        "max_rows_per_call": MAX_ROWS_PER_CALL,
        "openvino_rows_per_s": one_call[str(MAX_ROWS_PER_CALL)],
    }


def _openvino_streams(path: Path):
    """The graph compiled into THREADS streams of one thread, each running its own call, so no
    thread waits for another inside a call (on a busy machine that wait dominates)."""
    import openvino

    from braking_data.contract import OPENVINO_CONFIG

    config = {**OPENVINO_CONFIG, "INFERENCE_NUM_THREADS": str(THREADS), "NUM_STREAMS": str(THREADS)}
    return openvino.Core().compile_model(str(path), "CPU", config)


def _openvino_rates(compiled, batch, in_flight: int, args) -> dict[str, float]:
    """Rows/s on `batch` cut into calls of each chunk size, `in_flight` calls at a time."""
    from braking_data.contract import MAX_ROWS_PER_CALL

    rates = {}
    for chunk in sorted({*CHUNKS, MAX_ROWS_PER_CALL}):
        _predict_in_flight(compiled, batch[: chunk * in_flight], chunk, in_flight)  # warm-up
        seconds = _median_s(
            lambda c=chunk: _predict_in_flight(compiled, batch, c, in_flight), args.repeats
        )
        rates[str(chunk)] = len(batch) / seconds
    return rates


def _predict_in_flight(compiled, X, chunk: int, in_flight: int):
    """Predictions of X in calls of `chunk` rows, `in_flight` calls running at once. (No
    AsyncInferQueue: its Python callback deadlocks when the compiled model is freed.)"""
    import numpy as np

    from braking_data.contract import INPUT_TENSOR, OUTPUT_TENSOR
    from braking_model import export

    if in_flight == 1:
        return export.openvino_predict(compiled, X, chunk)
    requests = [compiled.create_infer_request() for _ in range(in_flight)]
    parts = []
    for first in range(0, len(X), chunk * in_flight):
        starts = range(first, min(first + chunk * in_flight, len(X)), chunk)
        for request, at in zip(requests, starts, strict=False):
            request.start_async({INPUT_TENSOR: X[at : at + chunk]})
        for request, _ in zip(requests, starts, strict=False):
            request.wait()
            parts.append(request.get_tensor(OUTPUT_TENSOR).data.reshape(-1).copy())
    return np.concatenate(parts)


def _node_count(path: Path) -> int:
    import onnx

    return len(onnx.load(str(path)).graph.node)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--model-dir", type=Path, help="a trained MODEL_DIR (else: train one)")
    parser.add_argument("--rows", type=int, default=100_000, help="rows to train on")
    parser.add_argument("--batch-rows", type=int, default=100_000, help="OpenVINO batch rows")
    parser.add_argument("--single-calls", type=int, default=2_000, help="single-row calls")
    parser.add_argument("--repeats", type=int, default=5, help="timed batches per chunk size")
    parser.add_argument(
        "--layouts", nargs="+", default=None, help="tree layouts (default: the served one)"
    )
    args = parser.parse_args()

    import joblib
    import numpy as np

    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.generate import generate_frame
    from braking_model.tree_graph import DEFAULT_LAYOUT

    with tempfile.TemporaryDirectory(prefix="bench-engines-") as folder:
        model_dir = args.model_dir or train(args.rows, Path(folder))
        pipeline = joblib.load(model_dir / "model.joblib")
        X = generate_frame(max(args.batch_rows, 256), seed=99)[list(FEATURE_COLUMNS)]
        X = X.to_numpy(np.float32)
        singles = [X[i : i + 1] for i in range(256)]
        sklearn_single = median_latency_us(
            pipeline.predict, singles, max(args.single_calls // 10, 50)
        )
        names = args.layouts or [DEFAULT_LAYOUT]
        layouts = {name: bench_layout(pipeline, name, X, Path(folder), args) for name in names}
    chosen = layouts.get(DEFAULT_LAYOUT) or next(iter(layouts.values()))
    speedup = sklearn_single / chosen["onnxruntime_single_row_median_us"]
    checks = {
        "onnxruntime_single_row_us": chosen["onnxruntime_single_row_median_us"]
        <= TARGETS["onnxruntime_single_row_us"],
        "single_row_speedup": speedup >= TARGETS["single_row_speedup"],
        "openvino_rows_per_s": chosen["openvino_rows_per_s"] >= TARGETS["openvino_rows_per_s"],
    }
    result = {
        "benchmark": "engines",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info("scikit-learn", "onnxruntime", "openvino"),
        "model": {"family": type(pipeline.named_steps["model"].regressor_).__name__},
        "sklearn_single_row_median_us": sklearn_single,
        "layout": DEFAULT_LAYOUT,
        "single_row_speedup": speedup,
        "layouts": layouts,
        "targets": TARGETS,
        "targets_met": checks,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "engines.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'measure':<56}{'value':>14}")
    print(f"{'sklearn single row (median)':<56}{sklearn_single:>11.0f} us")
    for name, figures in layouts.items():
        single = figures["onnxruntime_single_row_median_us"]
        print(f"{name + ': onnxruntime single row (median)':<56}{single:>11.1f} us")
        for chunk, rate in figures["openvino_rows_per_s_by_chunk"].items():
            label = f"{name}: OpenVINO {THREADS} threads, chunks of {chunk}"
            print(f"{label:<56}{rate:>9,.0f} rows/s")
        for chunk, rate in figures[f"openvino_{THREADS}_streams_rows_per_s_by_chunk"].items():
            label = f"{name}: OpenVINO {THREADS} streams x 1 thread, chunks of {chunk}"
            print(f"{label:<56}{rate:>9,.0f} rows/s")
    print("targets met: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in checks.items()))


if __name__ == "__main__":
    main()
