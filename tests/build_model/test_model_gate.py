"""The gate is a pure function: each failure reason fires alone, from a table."""

from __future__ import annotations

import pytest

from braking_model.gate import (
    CHECKS,
    GateThresholds,
    ThresholdsError,
    evaluate_gate,
    load_thresholds,
)

PASSING = {
    "rmse": 0.04,
    "mae": 0.015,
    "r2": 0.98,
    "max_error": 0.6,
    "rmse_to_baseline": 0.7,
    "under_braking_rate": 0.005,
    "phantom_brake_max": 0.0,
    "closing_speed_violation": 0.0,
    "friction_violation": 0.0,
    "stationary_brake_min": 1.0,
    "onnx_parity_max_abs": 1e-6,
    "openvino_parity_max_abs": 1e-6,
}

# (failing check, metric change)
FAILURES = [
    ("rmse", {"rmse": 0.2}),
    ("mae", {"mae": 0.2}),
    ("r2", {"r2": 0.5}),
    ("max_error", {"max_error": 0.95}),
    ("rmse_to_baseline", {"rmse_to_baseline": 0.85}),
    ("under_braking", {"under_braking_rate": 0.02}),
    ("no_phantom_braking", {"phantom_brake_max": 0.3}),
    ("monotonic_in_closing_speed", {"closing_speed_violation": 0.05}),
    ("monotonic_in_friction", {"friction_violation": 0.05}),
    ("stationary_obstacle", {"stationary_brake_min": 0.5}),
    ("onnx_parity", {"onnx_parity_max_abs": 0.01}),
    ("openvino_parity", {"openvino_parity_max_abs": 1e-4}),
]


def test_passing_metrics_pass_every_check() -> None:
    verdict = evaluate_gate(PASSING, GateThresholds())
    assert verdict.passed and verdict.reasons == []
    assert [c.name for c in verdict.checks] == [c[0] for c in CHECKS]


def test_every_check_has_a_failure_case_in_the_table() -> None:
    assert sorted(name for name, _ in FAILURES) == sorted(c[0] for c in CHECKS)


@pytest.mark.parametrize(("check", "change"), FAILURES, ids=[f[0] for f in FAILURES])
def test_each_failure_reason_fires_alone(check: str, change: dict[str, float]) -> None:
    verdict = evaluate_gate({**PASSING, **change}, GateThresholds())
    assert not verdict.passed
    assert [c.name for c in verdict.checks if not c.passed] == [check]
    assert len(verdict.reasons) == 1 and verdict.reasons[0].startswith(f"{check}:")
    metric, value = next(iter(change.items()))
    assert metric in verdict.reasons[0] and f"{value:.4g}" in verdict.reasons[0]


def test_every_failure_is_listed_together() -> None:
    broken = dict(PASSING)
    for _, change in FAILURES:
        broken.update(change)
    assert len(evaluate_gate(broken, GateThresholds()).reasons) == len(CHECKS)


@pytest.mark.parametrize("value", [None, float("nan"), "0.1"])
def test_missing_or_invalid_metric_fails_its_check(value) -> None:
    verdict = evaluate_gate({**PASSING, "rmse": value}, GateThresholds())
    assert not verdict.passed
    assert verdict.reasons == ["rmse: metric 'rmse' is missing or not a finite number"]


def test_boundary_values_pass() -> None:
    limits = GateThresholds()
    at_limit = {**PASSING, "rmse": limits.max_rmse, "r2": limits.min_r2}
    assert evaluate_gate(at_limit, limits).passed


def test_default_thresholds_carry_the_issue_targets() -> None:
    limits = GateThresholds()
    assert limits.max_rmse_to_baseline == 0.8
    assert limits.max_under_braking_rate == 0.01
    assert limits.max_phantom_brake == 0.05
    assert limits.min_stationary_brake == 0.9
    assert limits.max_onnx_parity == 1e-3


def test_thresholds_yaml_overrides_only_its_keys(tmp_path) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text("max_rmse: 0.5\n")
    limits = load_thresholds(path)
    assert limits.max_rmse == 0.5 and limits.min_r2 == GateThresholds().min_r2


def test_thresholds_env_var_overrides_the_packaged_default(monkeypatch) -> None:
    monkeypatch.setenv("BRAKING_GATE_MAX_MAE", "0.3")
    assert GateThresholds().max_mae == 0.3


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("max_rsme: 0.1\n", "max_rsme"),
        ("max_rmse: lots\n", "max_rmse"),
        ("- 1\n- 2\n", "mapping"),
        ("max_rmse: [1\n", "cannot read"),
    ],
)
def test_bad_thresholds_yaml_names_the_problem(tmp_path, text: str, named: str) -> None:
    path = tmp_path / "gate.yaml"
    path.write_text(text)
    with pytest.raises(ThresholdsError, match=named):
        load_thresholds(path)
