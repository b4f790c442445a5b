"""Plots of generated sensor data, for the data-generation notebook and reports.

Figures are built with `matplotlib.figure.Figure` (no pyplot state), so they are safe in
loops and servers; Jupyter renders a returned figure after `%matplotlib inline`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from braking_data.contract import (
    CONDITION_COLUMN,
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    ROAD_CONDITIONS,
)
from braking_data.physics import distance_from_box_width

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FEATURE_UNITS = {
    "other_bottom": "px",
    "other_left": "px",
    "other_right": "px",
    "other_top": "px",
    "other_speed": "km/h",
    "your_speed": "km/h",
    "road_friction": "μ",
    LABEL_COLUMN: "fraction of μ·g",
}
DISTANCE_BINS_M = (0.0, 10.0, 20.0, 30.0, 45.0, 60.0, 80.0, 110.0, 150.0)
CLOSING_BINS_KMH = (-80.0, -20.0, -5.0, 0.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 130.0)


def _conditions(frame: pd.DataFrame) -> list[str]:
    present = set(frame[CONDITION_COLUMN].astype(str).unique())
    return [condition for condition in ROAD_CONDITIONS if condition in present]


def with_derived_quantities(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame plus `estimated_distance_m` (from the box width, nominal vehicle width) and
    `closing_speed_kmh` (ours minus the lead vehicle's; positive = closing in)."""
    return frame.assign(
        estimated_distance_m=distance_from_box_width(
            frame["other_left"].to_numpy(np.float64), frame["other_right"].to_numpy(np.float64)
        ),
        closing_speed_kmh=frame["your_speed"].to_numpy(np.float64)
        - frame["other_speed"].to_numpy(np.float64),
    )


def brake_amount_grid(
    frame: pd.DataFrame,
    distance_bins_m: Sequence[float] = DISTANCE_BINS_M,
    closing_bins_kmh: Sequence[float] = CLOSING_BINS_KMH,
) -> pd.DataFrame:
    """Mean brake amount per road condition, estimated-distance bin and closing-speed bin.

    Long format with columns road_condition, distance_bin, closing_bin, mean_brake_amount,
    rows; empty cells are left out. Values outside the bins are dropped.
    """
    derived = with_derived_quantities(frame)
    binned = pd.DataFrame(
        {
            CONDITION_COLUMN: derived[CONDITION_COLUMN].astype(str),
            "distance_bin": pd.cut(derived["estimated_distance_m"], list(distance_bins_m)),
            "closing_bin": pd.cut(derived["closing_speed_kmh"], list(closing_bins_kmh)),
            LABEL_COLUMN: derived[LABEL_COLUMN].astype(np.float64),
        }
    ).dropna()
    grid = (
        binned.groupby([CONDITION_COLUMN, "distance_bin", "closing_bin"], observed=True)[
            LABEL_COLUMN
        ]
        .agg(mean_brake_amount="mean", rows="size")
        .reset_index()
    )
    return grid


def plot_feature_distributions(frame: pd.DataFrame, bins: int = 40) -> Figure:
    """One panel per feature and the label, one histogram (density) per road condition."""
    from matplotlib.figure import Figure

    columns = [*FEATURE_COLUMNS, LABEL_COLUMN]
    conditions = _conditions(frame)
    fig = Figure(figsize=(14, 6.5), layout="constrained")
    axes = fig.subplots(2, 4).ravel()
    for ax, column in zip(axes, columns, strict=True):
        values = frame[column].to_numpy(np.float64)
        edges = np.histogram_bin_edges(values, bins=bins)
        for condition in conditions:
            subset = values[frame[CONDITION_COLUMN].astype(str).to_numpy() == condition]
            ax.hist(subset, bins=edges, density=True, histtype="step", label=condition)
        ax.set_title(column)
        ax.set_xlabel(FEATURE_UNITS[column])
    axes[0].set_ylabel("density")
    axes[4].set_ylabel("density")
    axes[-1].legend(title=CONDITION_COLUMN)
    fig.suptitle(f"Sensor features and label per road condition ({len(frame):,} rows)")
    return fig


def plot_brake_amount_map(
    frame: pd.DataFrame,
    distance_bins_m: Sequence[float] = DISTANCE_BINS_M,
    closing_bins_kmh: Sequence[float] = CLOSING_BINS_KMH,
) -> Figure:
    """Heatmaps of the mean brake amount over estimated distance and closing speed, one per
    road condition: braking grows with closing speed, shrinks with distance and friction."""
    from matplotlib.figure import Figure

    grid = brake_amount_grid(frame, distance_bins_m, closing_bins_kmh)
    conditions = _conditions(frame)
    fig = Figure(figsize=(4 * len(conditions) + 1, 4.2), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(conditions), sharey=True))
    n_dist, n_close = len(distance_bins_m) - 1, len(closing_bins_kmh) - 1
    image = None
    for ax, condition in zip(axes, conditions, strict=True):
        cells = np.full((n_close, n_dist), np.nan)
        part = grid[grid[CONDITION_COLUMN] == condition]
        cells[part["closing_bin"].cat.codes, part["distance_bin"].cat.codes] = part[
            "mean_brake_amount"
        ]
        image = ax.imshow(cells, origin="lower", aspect="auto", vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_title(condition)
        ax.set_xticks(range(n_dist), [f"{edge:g}" for edge in distance_bins_m[1:]], rotation=45)
        ax.set_xlabel("estimated distance ≤ (m)")
    axes[0].set_yticks(range(n_close), [f"{edge:g}" for edge in closing_bins_kmh[1:]])
    axes[0].set_ylabel("closing speed ≤ (km/h)")
    assert image is not None  # one panel per road condition, so at least one image
    fig.colorbar(image, ax=list(axes), label=f"mean {LABEL_COLUMN}")
    fig.suptitle("Brake amount by distance and closing speed")
    return fig
