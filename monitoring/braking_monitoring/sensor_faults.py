"""Sensor faults a window shows without labels, and the error they cause (docs/adr/0019).

A faulty sensor reports plausible values, so each row looks ordinary to the model's own
error estimate. The two textbook fault modes leave a fingerprint on a whole window:

- **scale (gain)**: a recalibrated camera scales every box pixel coordinate from the frame's
  origin. The distance implied by the box width (Z = f W / w) and by its bottom (ground
  plane, Z = f h / (horizon - bottom)) then disagree systematically; with correct readings
  their log ratio is centred on 0 (the nominal vehicle width is the fleet's mean). The scale
  that re-centres the window's median log ratio is the camera's estimated gain.
- **stuck-at**: a feature whose readings in the window keep (nearly) none of the reference
  spread.

When a fingerprint is present, the window's error is estimated as the disagreement between
the served brake and the closed-form physics estimate of the **corrected** readings (boxes
divided by the estimated scale; a stuck feature redrawn from the reference profile's
sample). The physics estimate of correct readings stands in for the label: its own error
is of the model's size, small beside a fault's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from braking_data.contract import BOX_COLUMNS, FEATURE_COLUMNS, FEATURE_RANGES
from braking_data.physics import (
    distance_from_box_bottom,
    distance_from_box_width,
    physics_baseline,
)
from braking_model.reference import ReferenceProfile

# Thresholds measured in docs/adr/0019 (amendment): windows of correct readings estimate the
# scale within 0.0018 of 1 (300 rows) and keep >= 0.79 of every feature's reference spread.
BOX_SCALE_TOLERANCE = 0.01  # |scale - 1| above this is a camera scale fault
STUCK_SPREAD_RATIO = 0.1  # window std below this share of the reference std: stuck
REDRAWS = 8  # redraws of a stuck feature from the reference sample, averaged
REDRAW_SEED = 0  # fixed, so a window's estimate is reproducible
_SCALE_SEARCH = (0.25, 4.0)  # bracket of the bisection on the scale
_BISECTIONS = 40  # halvings of the log bracket: far below the estimate's own scatter
_BOX = [FEATURE_COLUMNS.index(c) for c in BOX_COLUMNS]


@dataclass(frozen=True)
class SensorFaults:
    """The fingerprints of one window: estimated box scale, stuck features, reasons."""

    box_scale: float | None
    stuck_features: list[str] = field(default_factory=list)

    @property
    def box_scaled(self) -> bool:
        """Whether the box scale is far enough from 1 to be a fault."""
        return self.box_scale is not None and abs(self.box_scale - 1.0) > BOX_SCALE_TOLERANCE

    @property
    def present(self) -> bool:
        """Whether any fingerprint is present."""
        return self.box_scaled or bool(self.stuck_features)

    def reasons(self) -> list[str]:
        """One readable line per fingerprint."""
        lines = [f"box coordinates scaled x{self.box_scale:.3f}"] if self.box_scaled else []
        return lines + [f"{name} stuck" for name in self.stuck_features]


def box_distance_log_ratio(features: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """log(distance from the box width / distance from the box bottom) of each row, with the
    box coordinates divided by `scale` first (0 on average for correct readings)."""
    box = np.asarray(features, dtype=np.float64)[:, _BOX] / scale
    bottom, left, right = box[:, 0], box[:, 1], box[:, 2]
    return np.log(distance_from_box_width(left, right)) - np.log(distance_from_box_bottom(bottom))


def estimate_box_scale(features: np.ndarray) -> float | None:
    """The scale of the box coordinates that centres the window's median log ratio on 0
    (None without a finite row). The median is monotone in the scale: both distances
    grow when the coordinates shrink, so a bisection finds it."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    features = features[np.isfinite(features[:, _BOX]).all(axis=1)]
    if not len(features):
        return None
    low, high = np.log(_SCALE_SEARCH)
    for _ in range(_BISECTIONS):
        middle = (low + high) / 2
        if np.median(box_distance_log_ratio(features, float(np.exp(middle)))) < 0.0:
            low = middle
        else:
            high = middle
    return float(np.exp((low + high) / 2))


def stuck_features(features: np.ndarray, profile: ReferenceProfile) -> list[str]:
    """Features whose finite readings keep less than STUCK_SPREAD_RATIO of the reference
    spread (a feature constant in the reference itself is never flagged)."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    stuck = []
    for i, name in enumerate(FEATURE_COLUMNS):
        values = features[:, i][np.isfinite(features[:, i])]
        reference = profile.columns.get(name)
        if reference is None or reference.std <= 0 or len(values) < 2:
            continue
        if values.std() < STUCK_SPREAD_RATIO * reference.std:
            stuck.append(name)
    return stuck


def detect_sensor_faults(features: np.ndarray, profile: ReferenceProfile | None) -> SensorFaults:
    """Both fingerprints of a window; the stuck test needs the reference profile. The scale
    is not estimated when a box edge is stuck (the two distances no longer follow the box)."""
    stuck = stuck_features(features, profile) if profile is not None else []
    box_stuck = any(name in BOX_COLUMNS for name in stuck)
    return SensorFaults(None if box_stuck else estimate_box_scale(features), stuck)


def corrected_readings(
    features: np.ndarray, faults: SensorFaults, profile: ReferenceProfile | None
) -> list[np.ndarray]:
    """The window as correct sensors might have read it: boxes divided by the estimated
    scale, each stuck feature redrawn REDRAWS times from the reference sample."""
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    corrected = features.copy()
    if faults.box_scaled and faults.box_scale is not None:
        for i, name in zip(_BOX, BOX_COLUMNS, strict=True):
            corrected[:, i] = np.clip(corrected[:, i] / faults.box_scale, *FEATURE_RANGES[name])
    if not faults.stuck_features or profile is None:
        return [corrected]
    rng = np.random.default_rng(REDRAW_SEED)
    redrawn = []
    for _ in range(REDRAWS):
        readings = corrected.copy()
        for name in faults.stuck_features:
            sample = np.asarray(profile.columns[name].sample)
            readings[:, FEATURE_COLUMNS.index(name)] = rng.choice(sample, len(readings))
        redrawn.append(readings)
    return redrawn


def fault_error(
    features: np.ndarray,
    predictions: np.ndarray,
    faults: SensorFaults,
    profile: ReferenceProfile | None,
) -> float | None:
    """Mean |served brake - physics estimate of the corrected readings| (None without a
    finite row): the window's MAE under its sensor faults, estimated without labels."""
    predictions = np.asarray(predictions, dtype=np.float64).reshape(-1)
    gaps = [
        np.abs(predictions - np.clip(physics_baseline(*readings.T), 0.0, 1.0))
        for readings in corrected_readings(features, faults, profile)
    ]
    gap = np.mean(gaps, axis=0)
    gap = gap[np.isfinite(gap)]
    return float(gap.mean()) if len(gap) else None
