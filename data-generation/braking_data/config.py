"""The knobs of data generation: camera, braking system, distributions, noise, time axis.

Defaults and their rationale are documented in data-generation/README.md. A config is
frozen and validated settings (env prefix `BRAKING_GENERATION_`); build it in code, from a
YAML file (`load_config`) or from the environment. Nested fields take `__` in a variable's
name and need only the parts that change, in YAML as in the environment:
`BRAKING_GENERATION_CAMERA__HEIGHT_M=1.6`, `BRAKING_GENERATION_RELATIVE_SPEED_KMH__MEAN=-12`.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_data.contract import FEATURE_RANGES, check_road_conditions
from braking_data.physics import BrakingSystem, Camera

Range = tuple[float, float]


def within_contract(value: Range, feature: str, what: str) -> Range:
    """`value` when it is an ordered range inside the contract's range of `feature`."""
    low, high = FEATURE_RANGES[feature]
    if not low <= value[0] <= value[1] <= high:
        raise ValueError(f"{what} range {value} must be ordered and within [{low}, {high}]")
    return value


class RoadConditionMix(BaseModel):
    """How often a road condition occurs and the friction coefficient it draws from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    share: float = Field(ge=0.0, description="relative frequency (normalised over conditions)")
    friction: Range = Field(description="true mu, drawn uniformly from [low, high]")

    @field_validator("friction")
    @classmethod
    def _friction_in_contract(cls, value: Range) -> Range:
        return within_contract(value, "road_friction", "friction")


class NormalClipped(BaseModel):
    """A normal distribution truncated by clipping to [low, high]."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mean: float
    std: float = Field(ge=0.0)
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> NormalClipped:
        if not self.low <= self.mean <= self.high:
            raise ValueError(f"need low <= mean <= high, got {self.low}, {self.mean}, {self.high}")
        return self


def _default_conditions() -> dict[str, RoadConditionMix]:
    # Friction bands from the usual tyre-road tables: dry asphalt 0.7-1.0, wet 0.4-0.7,
    # packed snow 0.2-0.4, ice 0.05-0.2.
    return {
        "dry": RoadConditionMix(share=0.55, friction=(0.7, 1.0)),
        "wet": RoadConditionMix(share=0.25, friction=(0.4, 0.7)),
        "snow": RoadConditionMix(share=0.12, friction=(0.2, 0.4)),
        "ice": RoadConditionMix(share=0.08, friction=(0.05, 0.2)),
    }


class GenerationConfig(BaseSettings):
    """Everything that shapes the generated data besides (seed, rows). Distances in m,
    speeds in km/h, box noise in pixels; see data-generation/README.md for the rationale.

    Env prefix `BRAKING_GENERATION_`; a nested field given in part (one mean, one camera
    height) keeps its other defaults. `road_conditions` is replaced as a whole (JSON in env).
    """

    model_config = SettingsConfigDict(
        env_prefix="BRAKING_GENERATION_", env_nested_delimiter="__", frozen=True, extra="forbid"
    )

    camera: Camera = Field(
        Camera(), description="pinhole camera; set one part with `__`, e.g. `CAMERA__HEIGHT_M`"
    )
    braking: BrakingSystem = Field(
        BrakingSystem(), description="our reaction time and safety margin, used by the label"
    )
    road_conditions: dict[str, RoadConditionMix] = Field(
        default_factory=_default_conditions,
        description="share and friction band per road condition (dry, wet, snow, ice)",
    )
    distance_m: Range = Field((3.0, 150.0), description="true gap, log-uniform in [low, high]")
    your_speed_kmh: Range = Field((0.0, 140.0), description="our speed, uniform")
    relative_speed_kmh: NormalClipped = Field(
        NormalClipped(mean=-8.0, std=20.0, low=-80.0, high=60.0),
        description="lead speed minus ours for moving lead vehicles (negative: closing in)",
    )
    stationary_share: float = Field(0.08, ge=0.0, le=1.0, description="lead vehicle stopped")
    vehicle_width_m: NormalClipped = Field(
        NormalClipped(mean=1.8, std=0.1, low=1.5, high=2.2), description="lead vehicle width"
    )
    vehicle_height_m: NormalClipped = Field(
        NormalClipped(mean=1.5, std=0.15, low=1.2, high=2.2), description="lead vehicle height"
    )
    lateral_offset_m: NormalClipped = Field(
        NormalClipped(mean=0.0, std=0.4, low=-1.2, high=1.2),
        description="lead vehicle centre relative to our lane's centre",
    )
    box_noise_px: float = Field(1.5, ge=0.0, description="std of each box edge")
    speed_noise_kmh: float = Field(0.3, ge=0.0, description="std of each radar speed")
    friction_noise: float = Field(0.01, ge=0.0, description="std of the friction sensor")
    start_time: datetime = Field(
        datetime(2026, 1, 1, tzinfo=UTC), description="timestamp of row 0 (timezone-aware)"
    )
    sample_interval_ms: int = Field(100, gt=0, description="time between consecutive rows")
    block_rows: int = Field(
        65_536,
        gt=0,
        description="rows per seeded block and Parquet row group (part of the "
        "data's identity, like the seed)",
    )

    @model_validator(mode="before")
    @classmethod
    def _partial_nested_fields(cls, data: Any) -> Any:
        """Fill a nested field given in part (`{"mean": -12}`) from that field's default."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, value in data.items():
            field = cls.model_fields.get(name)
            if field is None or field.default_factory is not None or not isinstance(value, dict):
                continue
            default = field.default
            if isinstance(default, BaseModel):
                merged[name] = {**default.model_dump(), **value}
            elif dataclasses.is_dataclass(default) and not isinstance(default, type):
                merged[name] = {**dataclasses.asdict(default), **value}
        return merged

    @field_validator("road_conditions")
    @classmethod
    def _known_conditions(cls, value: dict[str, RoadConditionMix]) -> dict[str, RoadConditionMix]:
        check_road_conditions(value)
        if sum(mix.share for mix in value.values()) <= 0.0:
            raise ValueError("road condition shares must sum to more than 0")
        return value

    @field_validator("camera")
    @classmethod
    def _sensible_camera(cls, value: Camera) -> Camera:
        if value.focal_length_px <= 0 or value.height_m <= 0:
            raise ValueError(f"camera focal length and height must be > 0, got {value}")
        return value

    @field_validator("braking")
    @classmethod
    def _sensible_braking(cls, value: BrakingSystem) -> BrakingSystem:
        if value.reaction_time_s < 0 or value.safety_margin_m < 0:
            raise ValueError(f"reaction time and safety margin must be >= 0, got {value}")
        return value

    @field_validator("distance_m")
    @classmethod
    def _positive_distances(cls, value: Range) -> Range:
        if not 0.0 < value[0] <= value[1]:
            raise ValueError(f"distance range {value} must satisfy 0 < low <= high")
        return value

    @field_validator("your_speed_kmh")
    @classmethod
    def _speeds_in_contract(cls, value: Range) -> Range:
        return within_contract(value, "your_speed", "speed")

    @field_validator("start_time")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError(f"start_time {value.isoformat()} needs a timezone, e.g. '+00:00'")
        return value.astimezone(UTC)


def load_config(path: str | Path | None) -> GenerationConfig:
    """The config from a YAML file (any subset of fields) over the environment and defaults.

    The file's values win over `BRAKING_GENERATION_*` variables, which win over defaults;
    without a file only the variables and defaults apply.
    """
    if path is None:
        return GenerationConfig()
    import yaml

    with Path(path).open(encoding="utf-8") as stream:
        fields = yaml.safe_load(stream) or {}
    if not isinstance(fields, dict):
        raise ValueError(f"{path}: expected a mapping of GenerationConfig fields, got {fields!r}")
    return GenerationConfig(**fields)
