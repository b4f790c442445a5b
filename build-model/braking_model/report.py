"""What a person looks at: plots (PNG) and the Markdown model card of MODEL_DIR."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from braking_data.contract import CONDITION_COLUMN, FEATURE_COLUMNS, LABEL_COLUMN, ROAD_CONDITIONS

if TYPE_CHECKING:
    import pandas as pd

PLOTS_DIR = "plots"
FAMILY_COLOURS = {"hist_gradient_boosting": "#1f77b4", "mlp": "#ff7f0e"}


def _figure(width: float = 7.0, height: float = 5.0):
    # Figure without pyplot: no global state, no GUI backend, safe in servers and threads.
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def plot_predicted_vs_true(y_true: np.ndarray, y_pred: np.ndarray, path: Path) -> None:
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
    conditions: np.ndarray, y_true: np.ndarray, y_pred: np.ndarray, path: Path
) -> None:
    present = [c for c in ROAD_CONDITIONS if np.any(conditions == c)]
    residuals = [y_pred[conditions == c] - y_true[conditions == c] for c in present]
    fig = _figure(7.0, 4.5)
    ax = fig.subplots()
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.boxplot(residuals, showfliers=False, whis=(1, 99))
    ax.set_xticks(range(1, len(present) + 1))
    ax.set_xticklabels(
        [
            f"{c}\nn={len(r):,}\nRMSE={np.sqrt(np.mean(r**2)):.3f}"
            for c, r in zip(present, residuals, strict=True)
        ]
    )
    ax.set(
        ylabel="predicted - true brake amount",
        title="Residuals by road condition (box: quartiles, whiskers: 1st-99th percentile)",
    )
    fig.savefig(path)


def plot_trials(trials: pd.DataFrame, path: Path) -> None:
    ordered = trials.sort_values("trial")
    fig = _figure(7.5, 4.5)
    ax = fig.subplots()
    for family, rows in ordered.groupby("family", sort=True):
        ax.errorbar(
            rows["trial"],
            rows["mean_cv_rmse"],
            yerr=rows["std_cv_rmse"],
            fmt="o",
            capsize=3,
            color=FAMILY_COLOURS.get(family),
            label=family,
        )
    best = ordered.loc[ordered["mean_cv_rmse"].idxmin()]
    ax.scatter(
        [best["trial"]],
        [best["mean_cv_rmse"]],
        s=220,
        facecolors="none",
        edgecolors="crimson",
        lw=2,
        label=f"best: trial {int(best['trial'])}",
    )
    ax.set(
        xlabel="trial",
        ylabel="cross-validated RMSE (mean ± std over folds)",
        title="Hyperparameter search: every trial",
    )
    ax.legend(fontsize=8)
    fig.savefig(path)


def write_plots(
    model_dir: Path, test: pd.DataFrame, predicted: np.ndarray, trials: pd.DataFrame | None
) -> list[Path]:
    """PNG plots into MODEL_DIR/plots; returns their paths."""
    plots = Path(model_dir) / PLOTS_DIR
    plots.mkdir(parents=True, exist_ok=True)
    y_true = test[LABEL_COLUMN].to_numpy(dtype=np.float64)
    written = [plots / "predicted_vs_true.png", plots / "residuals_by_condition.png"]
    plot_predicted_vs_true(y_true, predicted, written[0])
    conditions = test[CONDITION_COLUMN].astype(str).to_numpy()
    plot_residuals_by_condition(conditions, y_true, predicted, written[1])
    if trials is not None and len(trials):
        written.append(plots / "tuning_trials.png")
        plot_trials(trials, written[-1])
    return written


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _fmt(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def write_model_card(model_dir: Path) -> Path:
    """MODEL_DIR/model_card.md from metrics.json, trials.csv and gate.json (when present)."""
    model_dir = Path(model_dir)
    metrics = _read_json(model_dir / "metrics.json") or {}
    gate = _read_json(model_dir / "gate.json")
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
    )
    lines += [f"| {k} | {_fmt(metrics[k])} |" for k in keys if k in metrics]
    by_condition = metrics.get("rmse_by_condition") or {}
    lines += [f"| rmse ({c}) | {_fmt(v)} |" for c, v in by_condition.items()]
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
    path = model_dir / "model_card.md"
    path.write_text("\n".join(lines))
    return path
