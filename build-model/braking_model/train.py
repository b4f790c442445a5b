"""Refit the best candidate, export it to ONNX and write MODEL_DIR; `train_model` runs the
whole stage (time split -> search -> refit -> export -> report) in-process.

MODEL_DIR: model.onnx, reference_profile.json, model.joblib, sklearn_outputs.npy (the
pipeline's answers on the held-out rows, for the gate), metrics.json, trials.csv,
model_card.md, plots/*.png.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import (
    EXPECTED_ERROR_TENSOR,
    FEATURE_COLUMNS,
    INPUT_TENSOR,
    OUTPUT_TENSOR,
)
from braking_data.storage import file_sha256
from braking_model.config import TrainConfig
from braking_model.model_dir import ONNX_SHA256_KEY, ModelDir, write_json
from braking_model.tune import (
    BestTrial,
    Candidate,
    cores,
    features_and_label,
    quiet_convergence,
    rank_trials,
    read_frame,
    select_best,
    split_by_time,
    tune_shard,
)

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TrainResult:
    """What training produced: where, which candidate won and how it scored on the test set."""

    model_dir: Path
    best: BestTrial
    metrics: dict[str, Any]
    training_data_sha256: str
    train_rows: int
    test_rows: int
    files: list[str] = field(default_factory=list)


@contextlib.contextmanager
def staged_directory(target: Path) -> Iterator[Path]:
    """A fresh sibling folder of `target` to write into; it replaces `target` only when the
    block succeeds, so a failure leaves no partial MODEL_DIR (and an older one intact)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.staging-", dir=target.parent))
    try:
        yield staging
        previous = target.with_name(f".{target.name}.previous-{os.getpid()}")
        if target.exists():
            target.rename(previous)
        staging.rename(target)
        shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def fit_and_export(
    train_path: str | os.PathLike[str],
    test_path: str | os.PathLike[str],
    best: BestTrial,
    output_dir: str | os.PathLike[str],
    config: TrainConfig | None = None,
    trials: Sequence[pd.DataFrame] | pd.DataFrame | None = None,
) -> TrainResult:
    """Refit `best` (its safety margin calibrated first, see `margin`) on all of `train_path`,
    export and parity-check the ONNX graph on `test_path`, measure it, and write MODEL_DIR
    (see module doc) all at once: nothing of it exists until every file is written."""
    config = config or TrainConfig()
    output_dir = Path(output_dir)
    with staged_directory(output_dir) as staging:
        best, metrics, data_sha256, train_rows, test_rows = _fit_and_write(
            train_path, test_path, best, staging, config, trials
        )
    files = sorted(str(p.relative_to(output_dir)) for p in output_dir.rglob("*") if p.is_file())
    return TrainResult(output_dir, best, metrics, data_sha256, train_rows, test_rows, files=files)


def _fit_and_write(train_path, test_path, best, output_dir: Path, config: TrainConfig, trials):
    """fit_and_export's work, writing into `output_dir` (the staging folder)."""
    import joblib

    from braking_model import export, report
    from braking_model.estimator import build_pipeline
    from braking_model.expected_error import calibrate_pipeline, check_estimate
    from braking_model.margin import calibrate_safety_margin
    from braking_model.reference import write_reference_profile
    from braking_model.validate import (
        JOBLIB_HASH_KEY,
        SKLEARN_OUTPUTS_HASH_KEY,
        measure,
        record_sklearn_outputs,
        sklearn_outputs,
    )

    train, test = read_frame(train_path), read_frame(test_path)
    X_train, y_train = features_and_label(train)
    X_test, y_test = features_and_label(test)

    # The expected error is calibrated on the earlier half of the held-out rows and checked
    # on the later half (docs/adr/0019); the brake's metrics use all of them.
    half = len(X_test) // 2
    with cores(config.n_jobs, fits_at_once=1):
        margin = None
        if config.calibrate_margin:
            best, margin = calibrate_safety_margin(
                best, X_train, y_train, config.margin_folds, config.test_fraction, config.seed
            )
        pipeline = build_pipeline(best.family, best.params, config.seed)
        started = time.perf_counter()
        with quiet_convergence():
            pipeline.fit(X_train, y_train)
        refit_seconds = time.perf_counter() - started
        calibration = calibrate_pipeline(pipeline, X_test[:half], y_test[:half])
        model = export.to_onnx(pipeline)
        sess = export.session(model)
        parity = export.check_parity(pipeline, sess, X_test)
    # scikit-learn's answers on the held-out rows, computed once: the expected error's parity
    # below, and the gate's parity checks (recorded in MODEL_DIR, docs/adr/0022)
    reference = sklearn_outputs(pipeline, X_test)
    metrics, predicted = measure(test, lambda X: export.onnx_predict(sess, X))
    estimated = export.onnx_predict(sess, X_test, EXPECTED_ERROR_TENSOR)
    check = check_estimate(estimated[half:], predicted[half:], y_test[half:])
    metrics.update(
        onnx_parity_max_abs=parity,
        # short flat names: the pipeline logs every metric and `braking pipeline run` prints
        # them in a table; the details go to metrics.json below
        expected_error_parity=float(
            np.max(np.abs(estimated - reference["expected_error"]), initial=0.0)
        ),
        expected_error_ratio=check["estimated_to_true_mae"],
    )
    data_sha256 = file_sha256(train_path)
    export.set_metadata(
        model,
        {
            "training_data_sha256": data_sha256,
            "input_tensor": INPUT_TENSOR,
            "output_tensor": OUTPUT_TENSOR,
            "expected_error_tensor": EXPECTED_ERROR_TENSOR,
            "model_family": best.family,
            "hyperparameters": best.params,
            "metrics": {k: v for k, v in metrics.items() if not isinstance(v, dict)},
        },
    )
    # Wall time varies from run to run: it stays out of the ONNX bytes so that the same data
    # and seed give the same model file, which the registry then recognises as already known.
    metrics["refit_time_s"] = refit_seconds
    model_files = ModelDir(output_dir)
    export.save(model, model_files.onnx)
    # The reference the served model is monitored against (braking_monitoring, ADR 13).
    write_reference_profile(
        output_dir, X_train, X_test, y_test, lambda X: export.onnx_predict(sess, X), config.seed
    )
    joblib.dump(pipeline, model_files.joblib)
    outputs_sha256 = record_sklearn_outputs(model_files, reference)

    summary = {
        **metrics,
        "model_family": best.family,
        "hyperparameters": best.params,
        "best_trial": best.trial,
        "best_cv_rmse": best.mean_cv_rmse,
        "train_rows": len(train),
        "test_rows": len(test),
        "training_data_sha256": data_sha256,
        # validate unpickles model.joblib only when it still has this hash
        JOBLIB_HASH_KEY: file_sha256(model_files.joblib),
        SKLEARN_OUTPUTS_HASH_KEY: outputs_sha256,
        ONNX_SHA256_KEY: file_sha256(model_files.onnx),
        "feature_names": list(FEATURE_COLUMNS),
        "seed": config.seed,
        "expected_error_check": check,
        "expected_error_calibration": calibration,
        "safety_margin_calibration": margin.to_dict() if margin else None,
    }
    write_json(model_files.metrics, summary)
    merged = rank_trials(trials) if trials is not None else None
    if merged is not None:
        merged.to_csv(model_files.trials, index=False)
    report.write_plots(output_dir, test, predicted, merged, best.trial)
    report.write_model_card(output_dir)
    return best, metrics, data_sha256, len(train), len(test)


def train_model(
    data_path: str | os.PathLike[str],
    output_dir: str | os.PathLike[str],
    config: TrainConfig | None = None,
    progress: Callable[[Candidate, dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Time split -> cross-validated search over all candidates -> refit the best -> ONNX,
    metrics, report. `progress` is called after every trial."""
    config = config or TrainConfig()
    with tempfile.TemporaryDirectory(prefix="braking-split-") as scratch:
        split_dir = Path(config.split_dir) if config.split_dir else Path(scratch)
        train_path, test_path = split_dir / "train.parquet", split_dir / "test.parquet"
        split_by_time(data_path, train_path, test_path, config.test_fraction)
        trials = tune_shard(train_path, config, 0, 1, progress=progress)
        best = select_best(trials)
        return fit_and_export(train_path, test_path, best, output_dir, config, trials)
