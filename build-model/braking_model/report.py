"""What a person looks at: plots (PNG) and the Markdown model card of MODEL_DIR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import CONDITION_COLUMN, FEATURE_COLUMNS, LABEL_COLUMN, ROAD_CONDITIONS
from braking_data.physics import physics_baseline
from braking_model.model_dir import ModelDir

if TYPE_CHECKING:
    import pandas as pd

FAMILY_COLOURS = {"hist_gradient_boosting": "#1f77b4", "mlp": "#ff7f0e"}
CONDITION_COLOURS = {"dry": "#d62728", "wet": "#1f77b4", "snow": "#7f7f7f", "ice": "#17becf"}


def _figure(width: float = 7.0, height: float = 5.0):
    # Figure without pyplot: no global state, no GUI backend, safe in servers and threads.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def plot_predicted_vs_true(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> None:
    """Scatter of predicted against true brake amounts, written as PNG to `path`."""
    fig = _figure(6.5, 5.5)
    ax = fig.subplots()
    hexes = ax.hexbin(
        y_true, y_pred, gridsize=60, bins="log", cmap="viridis", mincnt=1, extent=(0, 1, 0, 1)
    )
    fig.colorbar(hexes, ax=ax, label="rows (log scale)")
    ax.plot([0, 1], [0, 1], color="crimson", lw=1, label="perfect prediction")
    ax.plot(
        [0.5, 1.0],
        [0.4, 0.9],
        color="black",
        lw=1,
        ls="--",
        label="under-braking limit (true - 0.1)",
    )
    ax.set(
        xlabel="true brake amount",
        ylabel="predicted brake amount (ONNX)",
        title=f"Predicted vs true on the held-out set ({len(y_true):,} rows)",
    )
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(path)


def plot_residuals_by_condition(
    conditions: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, baseline: np.ndarray, path: Path
) -> None:
    """Left: residual bands against the true demand, per condition. Right: RMSE per condition,
    model vs the closed-form physics baseline."""
    present = [c for c in ROAD_CONDITIONS if np.any(conditions == c)]
    fig = _figure(11.0, 4.6)
    bands, bars = fig.subplots(1, 2, width_ratios=(2.2, 1.0))
    edges = np.linspace(0.0, 1.0, 11)
    centres = (edges[:-1] + edges[1:]) / 2
    for condition in present:
        rows = conditions == condition
        which = np.clip(np.digitize(y_true[rows], edges) - 1, 0, len(centres) - 1)
        residual = y_pred[rows] - y_true[rows]
        stats = np.full((len(centres), 3), np.nan)
        for b in range(len(centres)):
            if np.count_nonzero(which == b) >= 20:
                stats[b] = np.percentile(residual[which == b], [5, 50, 95])
        colour = CONDITION_COLOURS[condition]
        bands.plot(centres, stats[:, 1], marker="o", color=colour, label=f"{condition} median")
        bands.fill_between(centres, stats[:, 0], stats[:, 2], color=colour, alpha=0.12)
    bands.axhline(0.0, color="grey", lw=0.8)
    bands.axhline(-0.1, color="black", lw=0.8, ls="--", label="under-braking limit")
    bands.set(
        xlabel="true brake amount (bins of 0.1)",
        ylabel="predicted - true",
        title="Residuals by road condition (line: median, band: 5th-95th percentile)",
    )
    bands.legend(fontsize=8, ncols=2)
    x = np.arange(len(present))
    model_rmse = [_rmse(y_pred, y_true, conditions == c) for c in present]
    baseline_rmse = [_rmse(baseline, y_true, conditions == c) for c in present]
    bars.bar(x - 0.2, baseline_rmse, 0.4, color="#bbbbbb", label="physics baseline")
    bars.bar(x + 0.2, model_rmse, 0.4, color="#1f77b4", label="model (ONNX)")
    bars.set_xticks(x, [f"{c}\nn={np.count_nonzero(conditions == c):,}" for c in present])
    bars.set(ylabel="RMSE", title="RMSE by road condition")
    bars.legend(fontsize=8)
    fig.savefig(path)


def _rmse(predicted: np.ndarray, y_true: np.ndarray, rows: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted[rows] - y_true[rows]) ** 2)))


def plot_trials(trials: pd.DataFrame, path: Path, selected: int | None = None) -> None:
    """CV RMSE of every trial; hollow markers failed the CV safety/physics checks."""
    ordered = trials.sort_values("trial")
    everyone = ordered["trial"] >= 0
    eligible = ordered["eligible"].astype(bool) if "eligible" in ordered else everyone
    fig = _figure(8.0, 4.6)
    ax = fig.subplots()
    for family, rows in ordered.groupby("family", sort=True):
        colour = FAMILY_COLOURS.get(family)
        ok = eligible[rows.index].to_numpy(dtype=bool)
        for mask, face, label in ((ok, colour, family), (~ok, "white", f"{family} (rejected)")):
            if mask.any():
                ax.errorbar(
                    rows["trial"][mask], rows["mean_cv_rmse"][mask],
                    yerr=rows["std_cv_rmse"][mask], fmt="o", capsize=3, color=colour,
                    markerfacecolor=face, label=label,
                )  # fmt: skip
    if selected is not None and selected in set(ordered["trial"]):
        chosen = ordered[ordered["trial"] == selected].iloc[0]
        ax.scatter([selected], [chosen["mean_cv_rmse"]], s=260, facecolors="none",
                   edgecolors="crimson", lw=2, label=f"selected: trial {selected}")  # fmt: skip
    ax.set(
        xlabel="trial",
        ylabel="cross-validated RMSE (mean ± std over folds)",
        title="Hyperparameter search (hollow: failed CV under-braking or physics checks)",
    )
    ax.legend(fontsize=8)
    fig.savefig(path)


def write_plots(
    model_dir: Path,
    test: pd.DataFrame,
    predicted: np.ndarray,
    trials: pd.DataFrame | None,
    selected: int | None = None,
) -> list[Path]:
    """PNG plots into MODEL_DIR/plots; returns their paths."""
    plots = ModelDir(model_dir).plots
    plots.mkdir(parents=True, exist_ok=True)
    y_true = test[LABEL_COLUMN].to_numpy(dtype=np.float64)
    written = [plots / "predicted_vs_true.png", plots / "residuals_by_condition.png"]
    plot_predicted_vs_true(y_true, predicted, written[0])
    conditions = test[CONDITION_COLUMN].astype(str).to_numpy()
    X = test[list(FEATURE_COLUMNS)].to_numpy(dtype=np.float64)
    plot_residuals_by_condition(conditions, y_true, predicted, physics_baseline(*X.T), written[1])
    if trials is not None and len(trials):
        written.append(plots / "tuning_trials.png")
        plot_trials(trials, written[-1], selected)
    return written


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _expected_error_lines(check: dict | None, calibration: dict | None) -> list[str]:
    if not check or not calibration:
        return []
    return [
        "",
        "## Label-free error estimate (`expected_error`)",
        f"Calibrated on {calibration['rows']} {calibration['source']} ({calibration['knots']} "
        f"knots), checked on {check['rows']} later held-out rows: estimated MAE "
        f"{_fmt(check['estimated_mae'])} vs true MAE {_fmt(check['true_mae'])} (ratio "
        f"{_fmt(check['estimated_to_true_mae'])}; goal 0.8-1.2). Sensor faults (a recalibrated "
        "camera, a stuck friction sensor) make the inputs lie, so the estimate cannot see "
        "them: the drift tests do.",
    ]


def write_model_card(model_dir: Path) -> Path:
    """MODEL_DIR/model_card.md from metrics.json, trials.csv and gate.json (when present)."""
    files = ModelDir(model_dir)
    metrics = files.read_metrics()
    gate = files.read_gate()
    lines = [
        "# Model card: braking-distance",
        "",
        "## Intended use",
        "Estimates how hard a car must brake (0 = not at all, 1 = full available deceleration "
        "mu*g) to avoid the vehicle ahead, from a forward camera's bounding box, radar speeds "
        "and a road-friction sensor. A reference model trained on synthetic, physics-grounded "
        "data: a starting point for ML engineers, not a safety-certified controller.",
        "",
        "## Interface",
        f"- ONNX input `sensor_features`: FP32 [N, 7], columns {', '.join(FEATURE_COLUMNS)} "
        "(box in pixels of a 640x640 frame, y up; speeds km/h; friction mu).",
        "- ONNX output `brake_amount`: FP32 [N, 1] in [0, 1]; exactly 0 when the lead "
        "vehicle is not closing in (built into the graph).",
        "- ONNX output `expected_error`: FP32 [N, 1], the label-free estimate of "
        "|brake_amount - true brake| (for monitoring, never for braking).",
        "",
        "## Data",
        f"- training rows: {metrics.get('train_rows', '?')}, held-out rows (latest by "
        f"event_timestamp): {metrics.get('test_rows', '?')}",
        f"- training data sha256: `{metrics.get('training_data_sha256', '?')}`",
        "",
        "## Model",
        f"- family: `{metrics.get('model_family', '?')}` (best of the search, trial "
        f"{metrics.get('best_trial', '?')}, CV RMSE {_fmt(metrics.get('best_cv_rmse'))})",
        f"- hyperparameters: `{json.dumps(metrics.get('hyperparameters', {}), sort_keys=True)}`",
        "- physics-informed features (distance from box width and bottom, closing speed, "
        "stopping distance, closed-form brake fraction); monotonic constraints on closing "
        "speed and friction for gradient boosting.",
        "",
        "## Metrics on held-out data (ONNX graph)",
        "| metric | value |",
        "|---|---|",
    ]
    keys = (
        "rmse",
        "mae",
        "r2",
        "max_error",
        "baseline_rmse",
        "rmse_to_baseline",
        "under_braking_rate",
        "phantom_brake_max",
        "closing_speed_violation",
        "friction_violation",
        "stationary_brake_min",
        "onnx_parity_max_abs",
        "openvino_parity_max_abs",
        "expected_error_parity",
        "openvino_expected_error_parity_max_abs",
        "expected_error_ratio",
    )
    lines += [f"| {k} | {_fmt(metrics[k])} |" for k in keys if k in metrics]
    by_condition = metrics.get("rmse_by_condition") or {}
    lines += [f"| rmse ({c}) | {_fmt(v)} |" for c, v in by_condition.items()]
    lines += _expected_error_lines(
        metrics.get("expected_error_check"), metrics.get("expected_error_calibration")
    )
    lines += ["", "## Gate verdict"]
    if gate is None:
        lines.append("Not validated yet: run `braking validate --model MODEL_DIR --data DATA`.")
    else:
        lines.append(f"**{'PASSED' if gate['passed'] else 'FAILED'}** on `{gate['data']}`.")
        lines += ["", "| check | value | limit | result |", "|---|---|---|---|"]
        lines += [
            f"| {c['name']} | {_fmt(c['value'])} | {c['comparison']} {c['threshold']:g} | "
            f"{'pass' if c['passed'] else 'FAIL'} |"
            for c in gate["checks"]
        ]
    lines += [
        "",
        "## Limitations",
        "- Trained on synthetic data from a pinhole camera on a flat road, one vehicle ahead "
        "driving at constant speed; real roads (slopes, curves, occlusion, detector errors) "
        "need real recorded data and re-validation.",
        "- The distance comes from the box: accuracy drops far away where a pixel spans metres.",
        "- Outputs outside the probed and trained ranges (see the data README) are not validated.",
        "",
        "## Plots",
        "![predicted vs true](plots/predicted_vs_true.png)",
        "![residuals by road condition](plots/residuals_by_condition.png)",
        "![tuning trials](plots/tuning_trials.png)",
        "",
    ]
    files.card.write_text("\n".join(lines))
    return files.card
