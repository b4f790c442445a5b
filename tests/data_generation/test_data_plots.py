"""The data-generation notebook's plots: what they aggregate and what a reader sees."""

from __future__ import annotations

import pandas as pd
import pytest

from braking_data.contract import FEATURE_COLUMNS, LABEL_COLUMN, ROAD_CONDITIONS
from braking_data.generate import generate_frame
from braking_data.plots import (
    brake_amount_grid,
    plot_brake_amount_map,
    plot_feature_distributions,
    with_derived_quantities,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return generate_frame(rows=20_000, seed=11)


def test_derived_quantities_follow_the_physics(frame: pd.DataFrame) -> None:
    derived = with_derived_quantities(frame)
    closing = derived["closing_speed_kmh"]
    assert (closing == frame["your_speed"].astype(float) - frame["other_speed"]).all()
    # a wider box means a closer vehicle
    order = frame["other_right"] - frame["other_left"]
    assert derived["estimated_distance_m"].corr(order, method="spearman") < -0.99


def test_grid_shows_no_braking_when_the_lead_car_pulls_away(frame: pd.DataFrame) -> None:
    grid = brake_amount_grid(frame)
    pulling_away = grid[grid["closing_bin"].map(lambda interval: interval.right <= -5.0)]
    assert not pulling_away.empty
    assert pulling_away["mean_brake_amount"].max() <= 0.01


def test_grid_shows_more_braking_on_ice_than_on_dry_road(frame: pd.DataFrame) -> None:
    grid = brake_amount_grid(frame)
    cells = grid.pivot_table(
        index=["distance_bin", "closing_bin"],
        columns="road_condition",
        values="mean_brake_amount",
        observed=True,
    ).dropna(subset=["dry", "ice"])
    closing_in = cells[[interval.left >= 5.0 for _, interval in cells.index]]
    assert len(closing_in) >= 5
    assert (closing_in["ice"] >= closing_in["dry"] - 0.02).mean() > 0.9
    assert closing_in["ice"].mean() > closing_in["dry"].mean() + 0.1


def test_grid_counts_every_binned_row_once(frame: pd.DataFrame) -> None:
    grid = brake_amount_grid(frame, distance_bins_m=(0, float("inf")), closing_bins_kmh=(-300, 300))
    assert grid["rows"].sum() == len(frame)
    assert set(grid["road_condition"]) == set(ROAD_CONDITIONS)


def test_feature_distributions_have_a_panel_per_column(frame: pd.DataFrame, tmp_path) -> None:
    fig = plot_feature_distributions(frame)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [*FEATURE_COLUMNS, LABEL_COLUMN]
    legend = fig.axes[-1].get_legend()
    assert [text.get_text() for text in legend.get_texts()] == list(ROAD_CONDITIONS)
    fig.savefig(tmp_path / "distributions.png")
    assert (tmp_path / "distributions.png").stat().st_size > 10_000


def test_brake_amount_map_has_a_heatmap_per_condition(frame: pd.DataFrame, tmp_path) -> None:
    dry_only = frame[frame["road_condition"] == "dry"]
    assert [ax.get_title() for ax in plot_brake_amount_map(dry_only).axes[:-1]] == ["dry"]
    fig = plot_brake_amount_map(frame)
    assert [ax.get_title() for ax in fig.axes[:-1]] == list(ROAD_CONDITIONS)
    assert fig.axes[-1].get_ylabel() == f"mean {LABEL_COLUMN}"  # the colour bar
    fig.savefig(tmp_path / "map.png")
    assert (tmp_path / "map.png").stat().st_size > 10_000
