"""Benchmark of the label-free error estimate (`expected_error`) against the true error.

    python benchmarks/bench_error_estimate.py --output-dir benchmarks/results [--seeds 10]
        [--model-dir MODEL_DIR] [--rows 40000]

The issue's goal: the estimated MAE (the mean of the served graph's `expected_error` over a
window) is within +-20 % of the served brake's true MAE, with no shift and under each input
shift of issue 13. For every shift and seed a monitoring window of 1,000 generated rows goes
through model.onnx (onnxruntime); the ratio estimated / true MAE is recorded, with the mean
disagreement with the closed-form physics estimate (the other label-free signal), and the
fault-aware estimate the collector reports (`braking_monitoring.estimates`: the per-row
estimate unless a window shows a sensor fault's fingerprint), with how often a fault was
detected (on the three shifts without a fault that is the false-trigger rate). The model
is MODEL_DIR/model.onnx when given, else one is trained here by `train_model` (the project's
own search, refit, held-out calibration and export) on `--rows` generated rows. The concept
drift (reaction time 0.5 -> 1.0 s) is reported for completeness: no input-based estimate can
see a changed label law. Writes <output-dir>/error_estimate.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from bench_monitoring import CONCEPT, SHIFTS, WINDOW  # the shifts of the drift benchmark
from machine_info import machine_info

from braking_data.contract import EXPECTED_ERROR_TENSOR, FEATURE_COLUMNS, LABEL_COLUMN
from braking_data.scenario import Scenario, generate_scenario_frame
from braking_model import export
from braking_model.expected_error import check_estimate
from braking_model.reference import ReferenceProfile
from braking_monitoring.estimates import window_estimates

GOAL = (0.8, 1.2)


def _train(rows: int, scratch: Path) -> Path:
    from braking_data.generate import write_dataset
    from braking_model.config import TrainConfig
    from braking_model.train import train_model

    data = scratch / "data.parquet"
    write_dataset(data, rows=rows, seed=7)
    train_model(data, scratch / "model", TrainConfig(n_iter=4, cv=2, n_jobs=1, seed=7))
    return scratch / "model"


def _window(session, profile: ReferenceProfile, scenario: Scenario, seed: int) -> dict:
    frame = generate_scenario_frame(WINDOW, 3000 + seed, scenario)
    X = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32)
    brake = export.onnx_predict(session, X)
    expected = export.onnx_predict(session, X, EXPECTED_ERROR_TENSOR)
    check = check_estimate(expected, brake, frame[LABEL_COLUMN].to_numpy())
    started = time.process_time()
    estimates = window_estimates(X, brake, expected, profile)
    estimates["estimates_cpu_seconds"] = time.process_time() - started
    return {**check, **estimates}


def _ratios(estimates: np.ndarray, true: np.ndarray) -> dict:
    ratios = estimates / true
    return {
        "ratio_mean": float(ratios.mean()),
        "ratio_min": float(ratios.min()),
        "ratio_max": float(ratios.max()),
        "share_of_windows_within_20_percent": float(
            np.mean((ratios >= GOAL[0]) & (ratios <= GOAL[1]))
        ),
        "goal_met": bool(GOAL[0] <= ratios.mean() <= GOAL[1]),
    }


def _summary(windows: list[dict]) -> dict:
    def column(key: str) -> np.ndarray:
        return np.array([w[key] for w in windows], dtype=np.float64)

    true, fault_aware = column("true_mae"), column("fault_aware_mae")
    return {
        "windows": len(windows),
        "true_mae": float(true.mean()),
        "estimated_mae": float(column("estimated_mae").mean()),
        **_ratios(column("estimated_mae"), true),
        "physics_disagreement": float(column("physics_disagreement").mean()),
        "fault_aware": {
            "estimated_mae": float(fault_aware.mean()),
            **_ratios(fault_aware, true),
            "share_of_windows_with_a_fault": float(
                np.mean([bool(w["sensor_faults"]) for w in windows])
            ),
            "stuck_features_seen": sorted({name for w in windows for name in w["stuck_features"]}),
            "box_scale_mean": float(column("box_scale").mean()),
            "box_scale_min": float(column("box_scale").min()),
            "box_scale_max": float(column("box_scale").max()),
            "cpu_seconds_per_window": float(column("estimates_cpu_seconds").mean()),
        },
    }


def measure(model_dir: Path, seeds: int) -> dict:
    """Per shift: true MAE, the per-row and the fault-aware estimated MAE, their ratios over
    `seeds` windows, and whether each mean ratio meets the goal."""
    session = export.session(model_dir / "model.onnx", threads=1)
    profile = ReferenceProfile.load(model_dir)
    shifts = {"no_shift": Scenario(), **SHIFTS, "concept_reaction_time_1s": CONCEPT}
    results = {}
    for name, scenario in shifts.items():
        started = time.perf_counter()
        results[name] = _summary([_window(session, profile, scenario, s) for s in range(seeds)])
        results[name]["seconds"] = time.perf_counter() - started
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--model-dir", type=Path, default=None)
    parser.add_argument("--rows", type=int, default=40_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-error-") as scratch:
        model_dir = args.model_dir or _train(args.rows, Path(scratch))
        metrics = json.loads((model_dir / "metrics.json").read_text())
        report = {
            "benchmark": "error_estimate",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": machine_info("scikit-learn", "onnxruntime"),
            "model": str(args.model_dir) if args.model_dir else f"trained here on {args.rows} rows",
            "model_family": metrics.get("model_family"),
            "hyperparameters": metrics.get("hyperparameters"),
            "held_out_check": metrics.get("expected_error_check"),
            "calibration": metrics.get("expected_error_calibration"),
            "seeds": args.seeds,
            "window_rows": WINDOW,
            "goal_ratio": list(GOAL),
            "shifts": measure(model_dir, args.seeds),
        }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    out = args.output_dir / "error_estimate.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
