"""The drift report (`braking monitor report`): Markdown and HTML with plots.

Per column, the reference distribution (the profile's percentiles) against the last served
rows; per window, each column's PSI against its threshold and the KS p-value against the
corrected alpha; per labelled window, the RMSE against its limit; the label-free estimated
error (and the disagreement with the physics estimate) against the true error over time; and
the alarms.
"""

from __future__ import annotations

import html
from pathlib import Path

import httpx
import numpy as np

from braking_model.reference import COLUMNS, ReferenceProfile


def fetch_status(url: str) -> dict:
    """The collector's /monitor/status document; OSError when it cannot be reached."""
    try:
        response = httpx.get(f"{url.rstrip('/')}/monitor/status", timeout=30)
    except httpx.HTTPError as error:
        raise OSError(str(error)) from None
    response.raise_for_status()
    return response.json()


def status_lines(status: dict) -> list[str]:
    """One line per window and alarm: what `braking monitor status` prints."""
    lines = []
    for model, state in status["models"].items():
        lines.append(f"{model}: {state['observations']} inferences")
        for version, versioned in state["versions"].items():
            drifted = "".join("D" if w["drifted"] else "." for w in versioned["windows"])
            degraded = "".join("L" if w["degraded"] else "." for w in versioned["labelled_windows"])
            lines.append(f"  v{version} windows [{drifted}] labelled [{degraded}]")
            lines += _error_line(versioned["windows"], versioned["labelled_windows"])
            for alarm in versioned["alarms"]:
                state_text = "ALARM" if alarm["active"] else "ok"
                lines.append(f"    {alarm['reason']}: {state_text} {'; '.join(alarm['details'])}")
    return lines or ["no inferences yet"]


def _error_line(windows: list[dict], labelled: list[dict]) -> list[str]:
    """The last window's label-free error signals and the last labelled window's true MAE."""
    parts = []
    if windows and windows[-1].get("estimated_mae") is not None:
        parts.append(f"estimated MAE {windows[-1]['estimated_mae']:.4f}")
    if windows and windows[-1].get("physics_disagreement") is not None:
        parts.append(f"physics disagreement {windows[-1]['physics_disagreement']:.4f}")
    if windows and windows[-1].get("sensor_faults"):
        faults = "; ".join(windows[-1]["sensor_faults"])
        parts.append(f"fault-aware MAE {windows[-1]['fault_aware_mae']:.4f} ({faults})")
    if labelled:
        parts.append(f"labelled MAE {labelled[-1]['mae']:.4f}")
    return [f"    error: {', '.join(parts)}"] if parts else []


def _pyplot():
    import matplotlib

    if "inline" not in matplotlib.get_backend():  # a notebook keeps its inline backend
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def distribution_figure(profile: ReferenceProfile, features, predictions):
    """Reference CDF (the profile's percentiles) against the served rows, per column."""
    plt = _pyplot()
    features = np.asarray(features, dtype=np.float64).reshape(-1, 7)
    current = {name: features[:, i] for i, name in enumerate(COLUMNS[:-1])}
    current[COLUMNS[-1]] = np.asarray(predictions, dtype=np.float64).reshape(-1)
    figure, axes = plt.subplots(2, 4, figsize=(16, 7))
    levels = np.linspace(0, 1, 101)
    for axis, name in zip(axes.ravel(), COLUMNS, strict=True):
        axis.plot(profile.columns[name].percentiles, levels, label="reference", color="black")
        values = np.sort(current[name][np.isfinite(current[name])])
        if len(values):
            axis.step(
                values, np.arange(1, len(values) + 1) / len(values), label="served", color="C3"
            )
        axis.set_title(name)
        axis.set_ylabel("CDF")
    axes[0, 0].legend()
    figure.suptitle(f"Reference vs {len(current[COLUMNS[-1]])} served rows")
    figure.tight_layout()
    return figure


def windows_figure(windows: list[dict]):
    """Each column's PSI over its calibrated threshold, window after window."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(10, 4))
    x = [w.get("window", i + 1) for i, w in enumerate(windows)]
    for i, name in enumerate(COLUMNS):
        ratio = [w["columns"][name]["psi"] / w["columns"][name]["psi_threshold"] for w in windows]
        axis.plot(x, ratio, marker="o", label=name, color=f"C{i}")
    axis.axhline(1.0, color="black", linestyle="--", label="threshold")
    axis.set_yscale("log")
    axis.set_xlabel("window")
    axis.set_ylabel("PSI / threshold")
    axis.legend(fontsize=7, ncol=3)
    figure.tight_layout()
    return figure


def error_figure(windows: list[dict], labelled: list[dict]):
    """Estimated vs true error over time: each window's estimated MAE (the model's mean
    `expected_error`), its fault-aware estimate and disagreement with the physics estimate,
    and each labelled window's true MAE next to the estimate on the same rows."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(10, 4))
    start = min(w["time"] for w in [*windows, *labelled])

    def series(rows: list[dict], key: str) -> tuple[list[float], list[float]]:
        kept = [w for w in rows if w.get(key) is not None]
        return [(w["time"] - start) / 60 for w in kept], [w[key] for w in kept]

    lines = (
        (windows, "estimated_mae", "estimated MAE (expected_error)", "C0", "o-"),
        (windows, "physics_disagreement", "|served - physics|", "C2", "^:"),
        (windows, "fault_aware_mae", "fault-aware estimated MAE", "C1", "d-."),
        (labelled, "mae", "true MAE (labels)", "C3", "s-"),
        (labelled, "estimated_mae", "estimated MAE, labelled rows", "C0", "x--"),
    )
    for rows, key, label, color, style in lines:
        x, y = series(rows, key)
        if x:
            axis.plot(x, y, style, label=label, color=color)
    axis.set_xlabel("minutes since the first window")
    axis.set_ylabel("absolute error of the brake")
    axis.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _save(figure, path: Path) -> None:
    figure.savefig(path, dpi=80)
    _pyplot().close(figure)


def _window_table(window: dict) -> list[str]:
    rows = [
        "| column | KS D | p (Bonferroni) | PSI | PSI threshold | drifted |",
        "|---|---|---|---|---|---|",
    ]
    for name, stats in window["columns"].items():
        rows.append(
            f"| {name} | {stats['ks_statistic']:.3f} | {stats['p_adjusted']:.2g} | "
            f"{stats['psi']:.3f} | {stats['psi_threshold']:.3f} | "
            f"{'**yes**' if stats['drifted'] else 'no'} |"
        )
    rows.append(f"\nOut-of-contract rows: {window['out_of_contract_rate']:.2%}")
    if window.get("estimated_mae") is not None:
        rows.append(f"Estimated MAE (expected_error): {window['estimated_mae']:.4f}")
    if window.get("physics_disagreement") is not None:
        rows.append(f"Disagreement with the physics estimate: {window['physics_disagreement']:.4f}")
    if window.get("sensor_faults"):
        rows.append(f"Sensor faults: {'; '.join(window['sensor_faults'])}")
        rows.append(f"Fault-aware estimated MAE: {window['fault_aware_mae']:.4f}")
    return rows


def write_report(
    status: dict, output_dir: Path, *, model: str | None = None, collector_url: str
) -> Path:
    """Write report.md and report.html (+ PNG plots) for `model`; returns report.md."""
    if not status["models"]:
        raise ValueError("the collector has seen no inferences yet: nothing to report")
    model = model or next(iter(status["models"]))
    if model not in status["models"]:
        raise ValueError(
            f"model {model!r} unknown to the collector; known: {list(status['models'])}"
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    base = collector_url.rstrip("/")
    profile = ReferenceProfile.model_validate(
        httpx.get(f"{base}/monitor/profile/{model}", timeout=30).json()
    )
    recent = httpx.get(f"{base}/monitor/recent/{model}", params={"rows": 1000}, timeout=30).json()
    _save(
        distribution_figure(profile, recent["features"], recent["predictions"]),
        output_dir / "distributions.png",
    )
    lines = [f"# Monitoring report: {model}", "", *status_lines(status), ""]
    lines += ["## Reference vs served", "", "![distributions](distributions.png)", ""]
    for version, state in status["models"][model]["versions"].items():
        lines += [f"## Version {version}", ""]
        if state["windows"]:
            plot = f"windows-v{version}.png"
            _save(windows_figure(state["windows"]), output_dir / plot)
            lines += [
                f"![windows]({plot})",
                "",
                f"Last window ({state['windows'][-1]['rows']} rows):",
                "",
            ]
            lines += _window_table(state["windows"][-1])
        if state["windows"] or state["labelled_windows"]:
            plot = f"error-v{version}.png"
            _save(error_figure(state["windows"], state["labelled_windows"]), output_dir / plot)
            lines += ["", "Estimated vs true error over time:", "", f"![error]({plot})", ""]
        for labelled in state["labelled_windows"][-5:]:
            estimated = labelled.get("estimated_mae")
            lines.append(
                f"- labelled window {labelled['window']}: RMSE {labelled['rmse']:.4f}, "
                f"MAE {labelled['mae']:.4f}"
                + (f" (estimated {estimated:.4f})" if estimated is not None else "")
                + f", under-braking {labelled['under_braking_rate']:.3f}"
                + (" **degraded**" if labelled["degraded"] else "")
            )
        lines.append("")
    markdown = "\n".join(lines) + "\n"
    report = output_dir / "report.md"
    report.write_text(markdown)
    (output_dir / "report.html").write_text(_html(markdown))
    return report


def _html(markdown: str) -> str:
    """A dependency-free HTML rendering: headings, images, tables and text lines."""
    body = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line[level:].strip())}</h{level}>")
        elif line.startswith("!["):
            body.append(f'<img src="{html.escape(line.split("(")[1].rstrip(")"))}">')
        elif line.startswith("|---"):
            continue
        elif line.startswith("|"):
            cells = "".join(
                f"<td>{html.escape(c.strip())}</td>" for c in line.strip("|").split("|")
            )
            body.append(f"<table><tr>{cells}</tr></table>")
        elif line:
            body.append(f"<p>{html.escape(line)}</p>")
    return "<!doctype html><meta charset=utf-8><title>Monitoring report</title>\n" + "\n".join(body)
