"""Scenarios: the data generator under a changed world or broken sensors.

A `Scenario` changes what the roads look like (road-condition mix, speeds), what the sensors
report (camera boxes scaled by a recalibration, a biased or stuck friction sensor) or the
label law itself (the reaction time: concept drift, invisible in the inputs). They drive the
monitoring tests and benchmark, and let retraining generate data that follows the traffic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from braking_data.config import GenerationConfig, RoadConditionMix
from braking_data.contract import (
    BOX_COLUMNS,
    FEATURE_COLUMNS,
    FEATURE_RANGES,
    ROAD_CONDITIONS,
    check_road_conditions,
)

if TYPE_CHECKING:
    import pandas as pd


class Scenario(BaseModel):
    """Departures from the default world; the defaults change nothing."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    condition_shares: dict[str, float] = Field(
        default_factory=dict,
        description="share of named road conditions (e.g. {'ice': 0.3}); the others keep "
        "their relative shares and fill the rest",
    )
    speed_shift_kmh: float = Field(0.0, description="added to our speed range (both ends)")
    box_scale: float = Field(
        1.0, gt=0, description="box pixel coordinates multiplied by this (a recalibration)"
    )
    friction_bias: float = Field(0.0, description="added to every friction reading")
    friction_stuck: float | None = Field(None, description="friction sensor stuck at this value")
    reaction_time_s: float | None = Field(None, ge=0, description="label law's reaction time")

    @field_validator("condition_shares")
    @classmethod
    def _known(cls, shares: dict[str, float]) -> dict[str, float]:
        check_road_conditions(shares)
        if any(not 0.0 <= v <= 1.0 for v in shares.values()) or sum(shares.values()) > 1.0:
            raise ValueError(f"condition shares {shares} must be in [0, 1] and sum to <= 1")
        return shares


def scenario_config(scenario: Scenario, config: GenerationConfig | None = None) -> GenerationConfig:
    """The generation config of a scenario's world (mix, speeds, label law)."""
    config = config or GenerationConfig()
    conditions = dict(config.road_conditions)
    if scenario.condition_shares:
        fixed = scenario.condition_shares
        free = {k: v for k, v in conditions.items() if k not in fixed}
        free_total = sum(mix.share for mix in free.values()) or 1.0
        rest = 1.0 - sum(fixed.values())
        for name, mix in conditions.items():
            share = fixed[name] if name in fixed else rest * mix.share / free_total
            conditions[name] = RoadConditionMix(share=share, friction=mix.friction)
    low, high = FEATURE_RANGES["your_speed"]
    speeds = tuple(
        float(np.clip(v + scenario.speed_shift_kmh, low, high)) for v in config.your_speed_kmh
    )
    braking = config.braking
    if scenario.reaction_time_s is not None:
        braking = type(braking)(scenario.reaction_time_s, braking.safety_margin_m)
    return config.model_copy(
        update={"road_conditions": conditions, "your_speed_kmh": speeds, "braking": braking}
    )


def apply_sensor_faults(
    columns: dict[str, np.ndarray], scenario: Scenario
) -> dict[str, np.ndarray]:
    """The columns as broken sensors would report them (labels, from the true world,
    unchanged); the input is left as it was."""
    # A camera recalibrated to another scale reports every pixel coordinate scaled from the
    # frame's origin. (Scaling boxes about the image centre instead mimics a 10 % farther car,
    # a shift of 3 % of the log-uniform distance range: no test sees it in 1,000 rows.)
    columns = dict(columns)
    if scenario.box_scale != 1.0:
        for column in BOX_COLUMNS:
            scaled = scenario.box_scale * columns[column]
            columns[column] = np.clip(scaled, *FEATURE_RANGES[column]).astype(np.float32)
    friction = columns["road_friction"]
    if scenario.friction_stuck is not None:
        friction = np.full_like(friction, scenario.friction_stuck)
    friction = np.clip(friction + scenario.friction_bias, *FEATURE_RANGES["road_friction"])
    columns["road_friction"] = friction.astype(np.float32)
    return columns


def generate_scenario_columns(
    rows: int, seed: int, scenario: Scenario, config: GenerationConfig | None = None
) -> dict[str, np.ndarray]:
    """`generate_columns` in the scenario's world, as its sensors report it (numpy only)."""
    from braking_data.generate import generate_columns

    config = config or GenerationConfig()
    columns = generate_columns(rows, seed, scenario_config(scenario, config))
    return apply_sensor_faults(columns, scenario)


def generate_scenario_frame(
    rows: int, seed: int, scenario: Scenario, config: GenerationConfig | None = None
) -> pd.DataFrame:
    """`generate_frame` in the scenario's world, as its sensors report it."""
    from braking_data.generate import columns_to_frame

    return columns_to_frame(generate_scenario_columns(rows, seed, scenario, config))


def friction_conditions(friction: np.ndarray, config: GenerationConfig | None = None) -> np.ndarray:
    """Index into ROAD_CONDITIONS of the road condition whose friction band holds each reading
    (bands taken by their lower edge, so a reading between two bands goes to the lower one)."""
    config = config or GenerationConfig()
    bands = sorted(config.road_conditions.items(), key=lambda item: item[1].friction[0])
    lows = np.array([mix.friction[0] for _, mix in bands[1:]])
    band = np.searchsorted(lows, np.asarray(friction, dtype=np.float64), side="right")
    codes = np.array([ROAD_CONDITIONS.index(name) for name, _ in bands], dtype=np.int8)
    return codes[band]


def traffic_scenario(features: np.ndarray, config: GenerationConfig | None = None) -> Scenario:
    """The world seen in served rows: condition shares by friction band, speed shift."""
    config = config or GenerationConfig()
    features = np.asarray(features, dtype=np.float64).reshape(-1, len(FEATURE_COLUMNS))
    codes = friction_conditions(features[:, FEATURE_COLUMNS.index("road_friction")], config)
    counts = np.bincount(codes, minlength=len(ROAD_CONDITIONS))
    shares = {
        name: round(float(c) / len(codes), 4)
        for name, c in zip(ROAD_CONDITIONS, counts, strict=True)
        if c and name in config.road_conditions
    }
    total = sum(shares.values())
    shares = {k: v / total for k, v in shares.items()} if total else {}
    speed = features[:, FEATURE_COLUMNS.index("your_speed")]
    low, high = config.your_speed_kmh
    shift = float(np.mean(speed) - (low + high) / 2) if len(speed) else 0.0
    return Scenario(condition_shares=shares, speed_shift_kmh=round(shift, 1))
