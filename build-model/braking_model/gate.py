"""The validation gate: a pure function from metrics and thresholds to a verdict with reasons.

`evaluate_gate` reads nothing and writes nothing; `validate.validate_model` measures the
metrics and records the verdict. Thresholds come from `gate_thresholds.yaml` (packaged
defaults), overridable per key by a YAML file or `BRAKING_GATE_<KEY>` env vars.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, InitSettingsSource, SettingsConfigDict

DEFAULT_THRESHOLDS = "gate_thresholds.yaml"


def _packaged_defaults() -> dict[str, float]:
    text = resources.files("braking_model").joinpath(DEFAULT_THRESHOLDS).read_text()
    return yaml.safe_load(text)


class GateThresholds(BaseSettings):
    """Limits a model must meet to be promoted (defaults: packaged gate_thresholds.yaml)."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_GATE_", extra="forbid", frozen=True)

    max_rmse: float = Field(description="root mean squared error on held-out data")
    max_mae: float = Field(description="mean absolute error")
    min_r2: float = Field(description="coefficient of determination")
    max_max_error: float = Field(description="worst single-row absolute error")
    max_rmse_to_baseline: float = Field(description="model RMSE / physics-baseline RMSE")
    max_under_braking_rate: float = Field(
        description="share of rows with true >= 0.5 and predicted < true - 0.1"
    )
    max_phantom_brake: float = Field(description="brake while the lead vehicle pulls away")
    max_monotonic_violation: float = Field(
        description="largest brake drop as closing speed rises / rise as friction rises"
    )
    min_stationary_brake: float = Field(description="brake for a stopped car close ahead")
    max_onnx_parity: float = Field(description="max |ONNX - scikit-learn| prediction")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        # Priority: keyword arguments, then env vars, then the packaged YAML defaults.
        """Read thresholds from init arguments, then env, then the packaged YAML."""
        packaged = InitSettingsSource(settings_cls, init_kwargs=_packaged_defaults())
        return init_settings, env_settings, packaged


class ThresholdsError(ValueError):
    """A thresholds YAML is unreadable or names an unknown key / a non-numeric value."""


def load_thresholds(path: str | os.PathLike[str] | None = None) -> GateThresholds:
    """Packaged defaults, overridden by the keys of the YAML file at `path` (if any)."""
    if path is None:
        return GateThresholds()
    try:
        document = yaml.safe_load(Path(path).read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ThresholdsError(f"gate thresholds {path}: cannot read ({error})") from error
    if not isinstance(document, dict):
        raise ThresholdsError(f"gate thresholds {path}: expected a mapping of threshold names")
    unknown = sorted(set(document) - set(GateThresholds.model_fields))
    if unknown:
        raise ThresholdsError(
            f"gate thresholds {path}: unknown key(s) {', '.join(map(str, unknown))}; expected "
            f"{', '.join(GateThresholds.model_fields)}"
        )
    try:
        return GateThresholds(**document)
    except ValidationError as error:
        problems = "; ".join(
            f"'{'.'.join(map(str, e['loc']))}': {e['msg']} (got {e.get('input')!r})"
            for e in error.errors()
        )
        raise ThresholdsError(f"gate thresholds {path}: {problems}") from error


# (check name, metric key, comparison, threshold field, what it guards)
CHECKS: tuple[tuple[str, str, str, str, str], ...] = (
    ("rmse", "rmse", "<=", "max_rmse", "accuracy"),
    ("mae", "mae", "<=", "max_mae", "accuracy"),
    ("r2", "r2", ">=", "min_r2", "accuracy"),
    ("max_error", "max_error", "<=", "max_max_error", "accuracy"),
    ("rmse_to_baseline", "rmse_to_baseline", "<=", "max_rmse_to_baseline", "accuracy"),
    ("under_braking", "under_braking_rate", "<=", "max_under_braking_rate", "safety"),
    ("no_phantom_braking", "phantom_brake_max", "<=", "max_phantom_brake", "physics"),
    (
        "monotonic_in_closing_speed",
        "closing_speed_violation",
        "<=",
        "max_monotonic_violation",
        "physics",
    ),
    ("monotonic_in_friction", "friction_violation", "<=", "max_monotonic_violation", "physics"),
    ("stationary_obstacle", "stationary_brake_min", ">=", "min_stationary_brake", "physics"),
    ("onnx_parity", "onnx_parity_max_abs", "<=", "max_onnx_parity", "export"),
)
_COMPARE = {"<=": operator.le, ">=": operator.ge}


@dataclass(frozen=True)
class GateCheck:
    """One gate check: the measured value, its limit and whether it passed."""

    name: str
    metric: str
    value: float | None
    comparison: str
    threshold: float
    passed: bool
    kind: str


@dataclass(frozen=True)
class GateVerdict:
    """`passed` is True only if every check passed; `reasons` explains each failure."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    checks: list[GateCheck] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The check as a JSON-ready dict."""
        return asdict(self)


def evaluate_gate(metrics: Mapping[str, Any], thresholds: GateThresholds) -> GateVerdict:
    """Compare `metrics` with `thresholds`; a missing or non-finite metric fails its check."""
    checks, reasons = [], []
    for name, metric, comparison, limit_field, kind in CHECKS:
        limit = float(getattr(thresholds, limit_field))
        raw = metrics.get(metric)
        value = float(raw) if isinstance(raw, int | float) else None
        if value is None or not math.isfinite(value):
            passed = False
            reasons.append(f"{name}: metric '{metric}' is missing or not a finite number")
        else:
            passed = _COMPARE[comparison](value, limit)
            if not passed:
                reasons.append(f"{name}: {metric} = {value:.4g}, expected {comparison} {limit:g}")
        checks.append(GateCheck(name, metric, value, comparison, limit, passed, kind))
    return GateVerdict(passed=not reasons, reasons=reasons, checks=checks)
