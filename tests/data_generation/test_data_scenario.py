"""Scenarios change the world or the sensors as asked, and nothing else."""

from __future__ import annotations

import numpy as np
import pytest

from braking_data.contract import BOX_COLUMNS, LABEL_COLUMN
from braking_data.generate import generate_frame
from braking_data.scenario import Scenario, generate_scenario_frame, scenario_config


def test_default_scenario_is_the_default_generator():
    assert generate_scenario_frame(500, 1, Scenario()).equals(generate_frame(500, 1))


def test_condition_share_is_set_and_the_others_keep_their_proportions():
    mix = scenario_config(Scenario(condition_shares={"ice": 0.3})).road_conditions
    assert mix["ice"].share == pytest.approx(0.3)
    assert mix["dry"].share / mix["wet"].share == pytest.approx(0.55 / 0.25)
    assert sum(m.share for m in mix.values()) == pytest.approx(1.0)
    frame = generate_scenario_frame(20_000, 2, Scenario(condition_shares={"ice": 0.3}))
    assert (frame["road_condition"] == "ice").mean() == pytest.approx(0.3, abs=0.02)


def test_speed_shift_moves_our_speed_range():
    frame = generate_scenario_frame(5_000, 3, Scenario(speed_shift_kmh=15))
    assert frame["your_speed"].min() >= 14.0
    assert frame["your_speed"].mean() == pytest.approx(70 + 15, abs=3)


def test_sensor_faults_change_readings_not_labels():
    clean = generate_frame(1_000, 4)
    stuck = generate_scenario_frame(1_000, 4, Scenario(friction_stuck=0.8, box_scale=0.9))
    assert np.all(stuck["road_friction"] == np.float32(0.8))
    for column in BOX_COLUMNS:
        np.testing.assert_allclose(stuck[column], 0.9 * clean[column], rtol=1e-6)
    assert stuck[LABEL_COLUMN].equals(clean[LABEL_COLUMN])


def test_concept_drift_changes_labels_not_inputs():
    clean = generate_frame(1_000, 5)
    later = generate_scenario_frame(1_000, 5, Scenario(reaction_time_s=1.0))
    assert later.drop(columns=[LABEL_COLUMN]).equals(clean.drop(columns=[LABEL_COLUMN]))
    assert (later[LABEL_COLUMN] >= clean[LABEL_COLUMN]).all()
    assert (later[LABEL_COLUMN] > clean[LABEL_COLUMN]).mean() > 0.2


@pytest.mark.parametrize(
    ("shares", "message"),
    [({"slush": 0.1}, "unknown road conditions"), ({"ice": 0.7, "dry": 0.5}, "sum")],
)
def test_bad_condition_shares_are_refused(shares, message):
    with pytest.raises(ValueError, match=message):
        Scenario(condition_shares=shares)


def test_friction_readings_map_to_their_road_condition():
    from braking_data.contract import ROAD_CONDITIONS
    from braking_data.scenario import friction_conditions

    frame = generate_frame(5_000, 5)
    codes = friction_conditions(frame["road_friction"].to_numpy())
    named = np.asarray(ROAD_CONDITIONS)[codes]
    # Noisy friction readings near a band edge may fall into the neighbouring band.
    assert (named == frame["road_condition"].astype(str).to_numpy()).mean() > 0.95


def test_traffic_scenario_reads_the_world_back_from_served_rows():
    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.scenario import traffic_scenario

    world = Scenario(condition_shares={"ice": 0.3}, speed_shift_kmh=15)
    features = generate_scenario_frame(20_000, 6, world)[list(FEATURE_COLUMNS)].to_numpy()
    seen = traffic_scenario(features)
    assert seen.condition_shares["ice"] == pytest.approx(0.3, abs=0.03)
    assert seen.speed_shift_kmh == pytest.approx(15, abs=2)
