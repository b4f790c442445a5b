"""Benchmark of the model stage: tuning + training wall time, ONNX vs scikit-learn inference.

    python benchmarks/bench_model.py --output-dir benchmarks/results [--rows 200000]
        [--n-jobs 2] [--batch-rows 1000000] [--single-calls 2000]

Runs `braking_model.train.train_model` with its defaults (the `braking train` path) on
generated data, then times the trained pipeline's `predict` against the ONNX graph in the
same process: throughput on one large batch and the median latency of single-row calls.
Writes <output-dir>/model.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine_info import machine_info
from timing import median_latency_us

TARGETS = {
    "train_wall_s": 120.0,
    "rmse_to_baseline": 0.8,
    "single_row_speedup": 20.0,
    "batch_throughput_ratio": 1.0,
}


def bench_training(rows: int, n_jobs: int, folder: Path) -> dict[str, object]:
    from braking_data.generate import write_dataset
    from braking_model.config import TrainConfig
    from braking_model.train import train_model

    data = folder / "data.parquet"
    write_dataset(data, rows=rows, seed=7)
    config = TrainConfig(n_jobs=n_jobs, split_dir=folder / "split")
    start, cpu_start = time.perf_counter(), time.process_time()
    result = train_model(data, folder / "model", config)
    wall = time.perf_counter() - start
    return {
        "rows": rows,
        "n_jobs": n_jobs,
        "n_iter": config.n_iter,
        "cv": config.cv,
        "tune_max_rows": config.tune_max_rows,
        "wall_s": wall,
        "parent_cpu_s": time.process_time() - cpu_start,
        "best_family": result.best.family,
        "best_params": result.best.params,
        "rmse": result.metrics["rmse"],
        "baseline_rmse": result.metrics["baseline_rmse"],
        "rmse_to_baseline": result.metrics["rmse_to_baseline"],
        "under_braking_rate": result.metrics["under_braking_rate"],
    }


def _best_of(function, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def bench_inference(model_dir: Path, batch_rows: int, single_calls: int) -> dict[str, object]:
    import joblib
    import numpy as np

    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.generate import generate_frame
    from braking_model import export

    pipeline = joblib.load(model_dir / "model.joblib")
    batch_session = export.session(model_dir / "model.onnx")
    single_session = export.session(model_dir / "model.onnx", threads=1)
    frame = generate_frame(batch_rows, seed=99)
    X = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32)

    sklearn_batch = _best_of(lambda: pipeline.predict(X), 2)
    onnx_batch = _best_of(lambda: export.onnx_predict(batch_session, X), 3)
    singles = [X[i : i + 1] for i in range(256)]
    sklearn_single = median_latency_us(pipeline.predict, singles, single_calls // 4)
    onnx_single = median_latency_us(
        lambda row: export.onnx_predict(single_session, row), singles, single_calls
    )
    return {
        "batch_rows": batch_rows,
        "sklearn_batch_rows_per_s": batch_rows / sklearn_batch,
        "onnx_batch_rows_per_s": batch_rows / onnx_batch,
        "batch_throughput_ratio": sklearn_batch / onnx_batch,
        "sklearn_single_row_median_us": sklearn_single,
        "onnx_single_row_median_us": onnx_single,
        "single_row_speedup": sklearn_single / onnx_single,
        "single_calls": single_calls,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--rows", type=int, default=200_000, help="rows to tune and train on")
    parser.add_argument("--n-jobs", type=int, default=2, help="parallel CV fits (cores)")
    parser.add_argument("--batch-rows", type=int, default=1_000_000, help="rows per batch")
    parser.add_argument("--single-calls", type=int, default=2_000, help="single-row calls")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-model-") as folder:
        training = bench_training(args.rows, args.n_jobs, Path(folder))
        inference = bench_inference(Path(folder) / "model", args.batch_rows, args.single_calls)
    checks = {
        "train_wall_s": training["wall_s"] <= TARGETS["train_wall_s"],
        "rmse_to_baseline": training["rmse_to_baseline"] <= TARGETS["rmse_to_baseline"],
        "single_row_speedup": inference["single_row_speedup"] >= TARGETS["single_row_speedup"],
        "batch_throughput_ratio": inference["batch_throughput_ratio"]
        >= TARGETS["batch_throughput_ratio"],
    }
    result = {
        "benchmark": "model",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info("scikit-learn", "onnxruntime"),
        "training": training,
        "inference": inference,
        "targets": TARGETS,
        "targets_met": checks,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "model.json").write_text(json.dumps(result, indent=2) + "\n")
    rows = [
        (f"tune+train {args.rows:,} rows (n_jobs={args.n_jobs})", f"{training['wall_s']:.1f} s"),
        ("model RMSE / physics baseline RMSE", f"{training['rmse_to_baseline']:.3f}"),
        ("under-braking rate", f"{training['under_braking_rate']:.2%}"),
        ("sklearn batch rows/s", f"{inference['sklearn_batch_rows_per_s']:,.0f}"),
        ("ONNX batch rows/s", f"{inference['onnx_batch_rows_per_s']:,.0f}"),
        ("sklearn single row (median)", f"{inference['sklearn_single_row_median_us']:.0f} us"),
        ("ONNX single row (median)", f"{inference['onnx_single_row_median_us']:.1f} us"),
        ("single-row speed-up", f"{inference['single_row_speedup']:.0f}x"),
    ]
    print(f"{'measure':<48}{'value':>16}")
    for name, value in rows:
        print(f"{name:<48}{value:>16}")
    print("targets met: " + ", ".join(f"{k}={'yes' if v else 'NO'}" for k, v in checks.items()))


if __name__ == "__main__":
    main()
