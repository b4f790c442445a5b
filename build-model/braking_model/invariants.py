"""Physics invariants checked on generated probe scenarios.

Each probe family is a grid of road situations rendered into raw sensor features with the
camera model (`braking_data.physics.project_box`), so the model is questioned exactly as a car
would question it. `check_invariants(predict)` returns one number per invariant; the gate
compares them with its thresholds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from braking_data.physics import Camera, project_box

DEFAULT_CAMERA = Camera()  # frozen: safe to share as a default

Predict = Callable[[np.ndarray], np.ndarray]

FRICTIONS = (0.1, 0.3, 0.55, 0.85)  # ice, snow, wet, dry
VEHICLE_WIDTH_M, VEHICLE_HEIGHT_M = 1.8, 1.5


def raw_features(
    distance_m, other_kmh, your_kmh, friction, camera: Camera = DEFAULT_CAMERA
) -> np.ndarray:
    """Raw sensor features [N, 7] (contract order) of a car straight ahead."""
    distance, other, your, mu = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (distance_m, other_kmh, your_kmh, friction))
    )
    size = np.ones_like(distance)
    box = project_box(distance, VEHICLE_WIDTH_M * size, VEHICLE_HEIGHT_M * size, 0 * size, camera)
    return np.stack([*box, other, your, mu], axis=-1).reshape(-1, 7).astype(np.float32)


def pulling_away_probes(camera: Camera = DEFAULT_CAMERA) -> np.ndarray:
    """The lead vehicle is faster than us: no braking is ever needed."""
    distance, your, faster_by, mu = np.meshgrid(
        np.geomspace(3.0, 120.0, 12),
        np.linspace(0.0, 130.0, 8),
        np.array([0.5, 2.0, 10.0, 30.0, 60.0]),
        np.array(FRICTIONS),
        indexing="ij",
    )
    return raw_features(distance, your + faster_by, your, mu, camera)


def closing_speed_sweeps(camera: Camera = DEFAULT_CAMERA) -> np.ndarray:
    """[sweeps, steps, 7]: our speed rising (closing speed rising) along axis 1."""
    distance, other, mu, closing = np.meshgrid(
        np.geomspace(5.0, 100.0, 6),
        np.array([0.0, 40.0, 80.0]),
        np.array(FRICTIONS),
        np.linspace(-20.0, 80.0, 26),
        indexing="ij",
    )
    return raw_features(distance, other, other + closing, mu, camera).reshape(-1, 26, 7)


def friction_sweeps(camera: Camera = DEFAULT_CAMERA) -> np.ndarray:
    """[sweeps, steps, 7]: road friction rising along axis 1."""
    distance, other, your, mu = np.meshgrid(
        np.geomspace(5.0, 100.0, 6),
        np.array([0.0, 30.0, 60.0]),
        np.array([50.0, 90.0, 130.0]),
        np.linspace(0.05, 1.0, 20),
        indexing="ij",
    )
    return raw_features(distance, other, your, mu, camera).reshape(-1, 20, 7)


def stationary_obstacle_probes(camera: Camera = DEFAULT_CAMERA) -> np.ndarray:
    """A stopped vehicle a few metres ahead while we drive at 100 km/h."""
    distance, mu = np.meshgrid(np.array([3.0, 4.0, 5.0, 6.0, 8.0]), np.array(FRICTIONS))
    return raw_features(distance, 0.0, 100.0, mu, camera)


def _sweep(predict: Predict, sweeps: np.ndarray) -> np.ndarray:
    return np.asarray(predict(sweeps.reshape(-1, 7))).reshape(sweeps.shape[:2])


def check_invariants(predict: Predict, camera: Camera = DEFAULT_CAMERA) -> dict[str, float]:
    """Probe `predict` (raw features [N, 7] -> brake [N] or [N, 1]).

    - phantom_brake_max: highest brake while the lead vehicle pulls away (want ~0)
    - closing_speed_violation: largest brake *drop* as closing speed rises (want 0)
    - friction_violation: largest brake *rise* as friction rises (want 0)
    - stationary_brake_min: lowest brake for a stopped car 3-8 m ahead at 100 km/h (want ~1)
    """
    pulling_away = np.asarray(predict(pulling_away_probes(camera))).reshape(-1)
    by_closing = _sweep(predict, closing_speed_sweeps(camera))
    by_friction = _sweep(predict, friction_sweeps(camera))
    stationary = np.asarray(predict(stationary_obstacle_probes(camera))).reshape(-1)
    return {
        "phantom_brake_max": float(pulling_away.max()),
        "closing_speed_violation": float(max(0.0, -np.diff(by_closing, axis=1).min())),
        "friction_violation": float(max(0.0, np.diff(by_friction, axis=1).max())),
        "stationary_brake_min": float(stationary.min()),
    }
