"""The promotion rule from a table, and the paired bootstrap that feeds it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from braking_monitoring.promotion import compare_models, paired_bootstrap_rmse_diff, promotion_rule


@pytest.mark.parametrize(
    ("gate", "upper", "theirs", "ours", "promote", "why"),
    [
        (True, -0.01, 0.02, 0.03, True, "better"),
        (True, -0.01, 0.03, 0.03, True, "better"),  # equal under-braking is allowed
        (False, -0.01, 0.02, 0.03, False, "gate"),
        (True, 0.0, 0.02, 0.03, False, "RMSE not clearly lower"),  # 0 is not below 0
        (True, 0.004, 0.02, 0.03, False, "RMSE not clearly lower"),
        (True, math.nan, 0.02, 0.03, False, "RMSE not clearly lower"),
        (True, -0.05, 0.031, 0.03, False, "under-braking rate higher"),
        (False, 0.01, 0.05, 0.03, False, "gate"),
    ],
)
def test_promotion_rule(gate, upper, theirs, ours, promote, why):
    decided, reasons = promotion_rule(gate, upper, theirs, ours)
    assert decided is promote
    assert any(why in reason for reason in reasons)


def _window(n: int = 600, seed: int = 0):
    rng = np.random.default_rng(seed)
    labels = rng.uniform(0, 1, n)
    return labels, rng


def test_clearly_better_challenger_is_promoted_with_evidence():
    labels, rng = _window()
    champion = labels + rng.normal(0, 0.08, len(labels))
    challenger = labels + rng.normal(0, 0.04, len(labels))
    decision = compare_models(labels, champion, challenger, gate_passed=True)
    assert decision.promote, decision.reasons
    assert decision.evidence.rmse_diff_upper < 0 < decision.evidence.champion_rmse
    assert decision.properties()["promotion.decision"] == "promote"


def test_equal_or_worse_challengers_are_kept():
    labels, rng = _window(seed=1)
    champion = labels + rng.normal(0, 0.05, len(labels))
    same = labels + rng.normal(0, 0.05, len(labels))
    worse = labels + rng.normal(0, 0.07, len(labels))
    for challenger in (same, worse):
        assert not compare_models(labels, champion, challenger, gate_passed=True).promote


def test_bootstrap_bound_brackets_the_observed_difference_and_is_reproducible():
    labels, rng = _window(seed=2)
    champion = labels + rng.normal(0, 0.05, len(labels))
    challenger = labels + rng.normal(0, 0.045, len(labels))
    observed, upper = paired_bootstrap_rmse_diff(labels, champion, challenger, seed=3)
    assert observed < upper
    assert (observed, upper) == paired_bootstrap_rmse_diff(labels, champion, challenger, seed=3)


def test_no_labels_means_no_promotion():
    empty = np.array([])
    decision = compare_models(empty, empty, empty, gate_passed=True)
    assert not decision.promote and "no labelled rows" in decision.reasons[0]
