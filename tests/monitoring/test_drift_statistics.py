"""Each drift statistic on distributions whose answer is known, and the window verdict."""

from __future__ import annotations

import numpy as np
import pytest
from monitoring_fixtures import baseline_predict, features_of

from braking_data.scenario import Scenario, generate_scenario_frame
from braking_model.reference import (
    bin_shares,
    evaluate_window,
    ks_test,
    out_of_contract_rate,
    psi,
    wasserstein_normalised,
)

rng = np.random.default_rng(0)
NORMAL = rng.standard_normal(4000)


def test_psi_is_zero_for_identical_shares_and_matches_the_formula():
    shares = np.full(10, 0.1)
    assert psi(shares, shares) == 0.0
    shifted = np.array([0.2] + [0.8 / 9] * 9)
    expected = np.sum((shifted - shares) * np.log(shifted / shares))
    assert psi(shares, shifted) == pytest.approx(expected)


def test_psi_of_a_one_sigma_mean_shift_is_large_and_of_noise_small():
    edges = np.percentile(NORMAL, np.arange(10, 100, 10))
    reference = bin_shares(NORMAL, edges)
    same = bin_shares(rng.standard_normal(1000), edges)
    shifted = bin_shares(rng.standard_normal(1000) + 1.0, edges)
    assert psi(reference, same) < 0.05
    assert psi(reference, shifted) > 0.5


def test_ks_separates_shifted_from_same_distribution():
    _, p_same = ks_test(NORMAL, rng.standard_normal(1000))
    statistic, p_shifted = ks_test(NORMAL, rng.standard_normal(1000) + 0.5)
    assert p_same > 0.01
    assert p_shifted < 1e-10
    assert statistic == pytest.approx(0.19, abs=0.05)  # Phi(0.25) - Phi(-0.25) ~ 0.197


def test_wasserstein_is_in_units_of_the_reference_std():
    assert wasserstein_normalised(NORMAL, NORMAL + 0.5, 1.0) == pytest.approx(0.5, abs=1e-9)
    assert wasserstein_normalised(NORMAL * 3, NORMAL * 3 + 1.5, 3.0) == pytest.approx(0.5)


def test_out_of_contract_rate_counts_rows_not_values():
    rows = np.tile([300, 300, 340, 320, 50, 80, 0.8], (10, 1)).astype(np.float64)
    rows[0, 6] = 3.0  # friction above 1.5
    rows[1, :2] = np.nan
    assert out_of_contract_rate(rows) == pytest.approx(0.2)


def test_bonferroni_and_effect_size_both_needed(reference_profile):
    """A window with a tiny but significant shift (huge n) does not drift: PSI stays small."""
    frame = generate_scenario_frame(20_000, 5, Scenario(speed_shift_kmh=5))
    X = features_of(frame)
    verdict = evaluate_window(reference_profile, X, baseline_predict(X))
    speed = verdict["columns"]["your_speed"]
    assert speed["p_adjusted"] < 0.01  # significant with 20,000 rows...
    assert speed["psi"] < speed["psi_threshold"]  # ... yet too small to matter
    assert not verdict["drifted"]


@pytest.mark.parametrize(
    ("scenario", "column"),
    [
        (Scenario(condition_shares={"ice": 0.3}), "road_friction"),
        (Scenario(speed_shift_kmh=15), "your_speed"),
        (Scenario(box_scale=0.9), "other_left"),
        (Scenario(friction_stuck=0.8), "road_friction"),
    ],
    ids=["ice-30%", "speed+15", "boxes-x0.9", "stuck-friction"],
)
def test_each_input_shift_drifts_its_column(reference_profile, scenario, column):
    X = features_of(generate_scenario_frame(1000, 3, scenario))
    verdict = evaluate_window(reference_profile, X, baseline_predict(X))
    assert verdict["drifted"]
    assert verdict["columns"][column]["drifted"], verdict["reasons"]


def test_no_shift_and_concept_drift_leave_inputs_undrifted(reference_profile):
    for scenario in (Scenario(), Scenario(reaction_time_s=1.2)):
        X = features_of(generate_scenario_frame(1000, 4, scenario))
        assert not evaluate_window(reference_profile, X, baseline_predict(X))["drifted"]


def test_data_quality_alone_drifts_a_window(reference_profile):
    X = features_of(generate_scenario_frame(1000, 6, Scenario()))
    X[:50, 4] = 400.0  # 5 % of rows report an impossible lead speed
    verdict = evaluate_window(reference_profile, X, baseline_predict(X))
    assert verdict["drifted"]
    assert any("data quality" in reason for reason in verdict["reasons"])
