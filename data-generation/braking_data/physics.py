"""Pinhole-camera geometry and the braking label, vectorised over numpy arrays.

Conventions (see data-generation/README.md for the derivation):
- Image: FRAME_SIZE_PX square, x to the right, y pointing *up* (so a box has bottom < top).
- Camera: looks straight ahead, optical axis level, mounted `height_m` above the road;
  the horizon is the image row `horizon_px`, the optical centre column `centre_px`.
- Distances in metres, speeds in m/s inside this module (km/h only at the data boundary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from braking_data.contract import FRAME_SIZE_PX

GRAVITY_M_S2 = 9.80665
KMH_PER_M_S = 3.6
NOMINAL_VEHICLE_WIDTH_M = 1.8


@dataclass(frozen=True)
class Camera:
    """A forward-looking pinhole camera. Defaults: ~56 deg horizontal field of view."""

    focal_length_px: float = 600.0
    height_m: float = 1.3
    horizon_px: float = FRAME_SIZE_PX / 2
    centre_px: float = FRAME_SIZE_PX / 2
    frame_px: float = FRAME_SIZE_PX


@dataclass(frozen=True)
class BrakingSystem:
    """What the label assumes about our own car's braking system."""

    reaction_time_s: float = 0.5
    safety_margin_m: float = 2.0


def project_box(
    distance_m: np.ndarray,
    width_m: np.ndarray,
    height_m: np.ndarray,
    lateral_offset_m: np.ndarray,
    camera: Camera = Camera(),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bounding box (bottom, left, right, top) of the rear of a vehicle, clipped to the frame.

    The box's bottom is where the tyres meet the road (below the horizon by f*h/Z) and its
    top the roof (above the horizon by f*(H-h)/Z); left/right are the projected sides.
    Clipping keeps the order (bottom <= top, left <= right) because it is monotone.
    """
    distance_m = np.asarray(distance_m)
    if np.any(~(distance_m > 0.0)):
        raise ValueError("distance_m must be > 0 (the vehicle must be in front of the camera)")
    scale = camera.focal_length_px / distance_m
    bottom = camera.horizon_px - scale * camera.height_m
    top = camera.horizon_px + scale * (height_m - camera.height_m)
    left = camera.centre_px + scale * (lateral_offset_m - width_m / 2)
    right = camera.centre_px + scale * (lateral_offset_m + width_m / 2)
    clip = (0.0, camera.frame_px)
    return (
        np.clip(bottom, *clip),
        np.clip(left, *clip),
        np.clip(right, *clip),
        np.clip(top, *clip),
    )


def distance_from_box_width(
    left_px: np.ndarray,
    right_px: np.ndarray,
    camera: Camera = Camera(),
    vehicle_width_m: float = NOMINAL_VEHICLE_WIDTH_M,
) -> np.ndarray:
    """Distance implied by the box width for a vehicle of nominal width (Z = f*W/w)."""
    width_px = np.maximum(np.asarray(right_px) - np.asarray(left_px), 1e-3)
    return camera.focal_length_px * vehicle_width_m / width_px


def distance_from_box_bottom(bottom_px: np.ndarray, camera: Camera = Camera()) -> np.ndarray:
    """Distance implied by where the tyres meet a flat road (Z = f*h / (horizon - bottom)).

    Independent of the vehicle's size, but it degrades with distance (a pixel near the
    horizon spans many metres) and saturates once the box bottom is clipped at row 0.
    """
    drop_px = np.maximum(camera.horizon_px - np.asarray(bottom_px), 1e-3)
    return camera.focal_length_px * camera.height_m / drop_px


def required_brake_fraction(
    distance_m: np.ndarray,
    your_speed_m_s: np.ndarray,
    other_speed_m_s: np.ndarray,
    friction: np.ndarray,
    system: BrakingSystem = BrakingSystem(),
) -> np.ndarray:
    """Fraction of the maximum deceleration mu*g needed to avoid hitting the lead vehicle.

    With closing speed v = v_you - v_other (lead vehicle at constant speed), the gap left
    once the system has reacted is d = Z - v*t_r - margin, and matching speeds within d
    needs a = v^2 / (2 d). The fraction a / (mu g) is clipped to [0, 1]: 0 when the lead
    vehicle is not closing in, 1 when the gap is already gone or a > mu g. A NaN input
    gives NaN rather than a confident answer.
    """
    closing = np.asarray(your_speed_m_s, dtype=np.float64) - other_speed_m_s
    gap = np.asarray(distance_m, dtype=np.float64) - closing * system.reaction_time_s
    gap = gap - system.safety_margin_m
    friction = np.asarray(friction, dtype=np.float64)
    closing_pos = np.maximum(closing, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = closing_pos**2 / (2.0 * gap * GRAVITY_M_S2 * friction)
    # No gap left, or no grip at all (mu <= 0): nothing but full braking can help.
    fraction = np.where((gap > 0.0) & (friction > 0.0), needed, 1.0)
    fraction = np.clip(np.where(closing > 0.0, fraction, 0.0), 0.0, 1.0)
    # Comparisons with NaN are False, which would read a NaN sensor value as "no braking".
    return np.where(np.isnan(gap) | np.isnan(friction), np.nan, fraction)


def physics_baseline(
    bottom_px: np.ndarray,
    left_px: np.ndarray,
    right_px: np.ndarray,
    top_px: np.ndarray,
    other_speed_kmh: np.ndarray,
    your_speed_kmh: np.ndarray,
    friction: np.ndarray,
    camera: Camera = Camera(),
    system: BrakingSystem = BrakingSystem(),
) -> np.ndarray:
    """Closed-form estimate of the label from observable features only.

    Distance from the box width with a nominal vehicle width, then the same braking law
    as the label. The gate's accuracy baseline: a learnt model must beat it.
    """
    del bottom_px, top_px  # the baseline deliberately uses only the width cue
    distance = distance_from_box_width(left_px, right_px, camera)
    return required_brake_fraction(
        distance,
        np.asarray(your_speed_kmh) / KMH_PER_M_S,
        np.asarray(other_speed_kmh) / KMH_PER_M_S,
        friction,
        system,
    )
