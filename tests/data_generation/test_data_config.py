"""GenerationConfig is settings: YAML file > `BRAKING_GENERATION_*` variables > defaults, and a
nested distribution given in part keeps the rest of its default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from braking_data.config import GenerationConfig, load_config


def test_variables_set_plain_and_nested_fields(monkeypatch):
    monkeypatch.setenv("BRAKING_GENERATION_BOX_NOISE_PX", "3.0")
    monkeypatch.setenv("BRAKING_GENERATION_CAMERA__HEIGHT_M", "1.6")
    monkeypatch.setenv("BRAKING_GENERATION_RELATIVE_SPEED_KMH__MEAN", "-12")
    monkeypatch.setenv("BRAKING_GENERATION_DISTANCE_M", "[5, 120]")
    config = GenerationConfig()
    assert config.box_noise_px == 3.0
    assert config.distance_m == (5.0, 120.0)
    assert config.camera.height_m == 1.6
    assert config.camera.focal_length_px == GenerationConfig().camera.focal_length_px
    default_speed = GenerationConfig.model_fields["relative_speed_kmh"].default
    assert config.relative_speed_kmh.mean == -12.0
    assert config.relative_speed_kmh.std == default_speed.std  # the rest of the default stays


def test_a_yaml_file_wins_over_variables_and_merges_with_them(monkeypatch, tmp_path):
    monkeypatch.setenv("BRAKING_GENERATION_BOX_NOISE_PX", "3.0")
    monkeypatch.setenv("BRAKING_GENERATION_RELATIVE_SPEED_KMH__MEAN", "-12")
    path = tmp_path / "gen.yaml"
    path.write_text("box_noise_px: 0.5\nrelative_speed_kmh: {std: 5}\n", encoding="utf-8")
    config = load_config(path)
    assert config.box_noise_px == 0.5
    assert (config.relative_speed_kmh.mean, config.relative_speed_kmh.std) == (-12.0, 5.0)


def test_a_bad_variable_names_the_field(monkeypatch):
    monkeypatch.setenv("BRAKING_GENERATION_RELATIVE_SPEED_KMH__MEAN", "500")
    with pytest.raises(ValidationError, match="relative_speed_kmh"):
        GenerationConfig()


def test_a_yaml_file_that_is_not_a_mapping_is_rejected(tmp_path):
    path = tmp_path / "list.yaml"
    path.write_text("- box_noise_px\n", encoding="utf-8")
    with pytest.raises(ValueError, match="expected a mapping of GenerationConfig fields"):
        load_config(path)
