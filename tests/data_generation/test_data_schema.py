"""The schema check: each kind of bad data is rejected naming column, row count and values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from braking_data.generate import generate_frame, write_dataset
from braking_data.schema import SchemaError, read_dataset, validate_frame


@pytest.fixture
def frame() -> pd.DataFrame:
    return generate_frame(200, seed=21)


def set_rows(column, rows, value):
    def mutate(frame):
        frame.loc[rows, column] = value

    return mutate


def drop(column):
    def mutate(frame):
        del frame[column]

    return mutate


def unknown_condition(frame):
    frame["road_condition"] = frame["road_condition"].cat.add_categories(["mud"])
    frame.loc[[3, 4], "road_condition"] = "mud"


def text_speeds(frame):
    frame["other_speed"] = frame["other_speed"].astype(str)


def naive_timestamps(frame):
    frame["event_timestamp"] = frame["event_timestamp"].dt.tz_localize(None)


def inverted_box(frame):
    frame.loc[[1, 2, 3], "other_bottom"] = frame.loc[[1, 2, 3], "other_top"] + 5.0


CASES = {
    "missing column": (drop("your_speed"), ["'your_speed': missing"]),
    "NaN": (set_rows("other_speed", [0, 5], np.nan), ["'other_speed': 2 rows", "nan", "[0, 250]"]),
    "infinity": (set_rows("road_friction", [7], np.inf), ["'road_friction': 1 row", "inf"]),
    "above range": (
        set_rows("your_speed", [1, 2, 3], 400.0),
        ["'your_speed': 3 rows out of range", "400", "[0, 250]"],
    ),
    "below range": (
        set_rows("road_friction", [9], 0.0),
        ["'road_friction': 1 row out of range", "[0.01, 1.5]"],
    ),
    "box off frame": (
        set_rows("other_right", [4], 700.0),
        ["'other_right': 1 row out of range", "700", "[0, 640]"],
    ),
    "label above 1": (
        set_rows("brake_amount", [0, 1], 1.5),
        ["'brake_amount': 2 rows out of range", "1.5", "[0, 1]"],
    ),
    "label below 0": (
        set_rows("brake_amount", [0], -0.2),
        ["'brake_amount': 1 row out of range", "-0.2"],
    ),
    "inverted box": (
        inverted_box,
        ["'other_bottom'/'other_top': 3 rows", "other_bottom <= other_top"],
    ),
    "unknown condition": (
        unknown_condition,
        ["'road_condition': 2 rows", "'mud'", "dry, wet, snow, ice"],
    ),
    "text column": (text_speeds, ["'other_speed': dtype", "not numeric"]),
    "naive timestamps": (naive_timestamps, ["'event_timestamp'", "timezone-aware"]),
    "missing timestamp": (
        set_rows("event_timestamp", [2], pd.NaT),
        ["'event_timestamp': 1 row missing"],
    ),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_each_violation_is_reported_with_column_count_and_expectation(frame, case):
    mutate, fragments = CASES[case]
    mutate(frame)
    with pytest.raises(SchemaError) as caught:
        validate_frame(frame)
    assert len(caught.value.problems) == 1, caught.value.problems
    for fragment in fragments:
        assert fragment in str(caught.value)


def test_every_problem_is_reported_at_once(frame):
    for case in ("missing column", "NaN", "above range", "inverted box", "unknown condition"):
        CASES[case][0](frame)
    with pytest.raises(SchemaError, match="5 problems") as caught:
        validate_frame(frame)
    assert len(caught.value.problems) == 5


def test_a_clean_frame_passes_also_as_float64(frame):
    validate_frame(frame)
    validate_frame(frame.astype({"other_speed": "float64", "road_condition": "object"}))


def test_read_dataset_checks_the_file_and_names_it(tmp_path, frame):
    frame.loc[[0], "road_friction"] = 2.0
    path = tmp_path / "logged.parquet"
    frame.to_parquet(path)
    with pytest.raises(SchemaError, match=r"logged\.parquet breaks the data schema \(1 problem\)"):
        read_dataset(path)


def test_read_dataset_returns_public_dtypes(tmp_path, frame):
    path = tmp_path / "plain.parquet"
    frame.astype({"your_speed": "float64", "road_condition": "object"}).to_parquet(path)
    stored = read_dataset(path)
    assert stored["your_speed"].dtype == np.float32
    assert list(stored["road_condition"].cat.categories) == ["dry", "wet", "snow", "ice"]


def test_read_dataset_can_read_a_subset_of_columns(tmp_path):
    info = write_dataset(tmp_path / "d.parquet", 300, seed=1)
    subset = read_dataset(info.path, columns=["your_speed", "brake_amount"])
    assert list(subset.columns) == ["your_speed", "brake_amount"]


def test_read_dataset_errors_for_missing_and_unreadable_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_dataset(tmp_path / "absent.parquet")
    garbage = tmp_path / "garbage.parquet"
    garbage.write_text("not parquet")
    with pytest.raises(SchemaError, match="not a readable Parquet file"):
        read_dataset(garbage)
