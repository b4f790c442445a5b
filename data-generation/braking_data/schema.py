"""The data set's schema check: every problem found, each naming column, row count and value.

`validate_frame` is the gate between any frame (generated, read from disk, logged by a car)
and training: it rejects missing columns, non-numeric, NaN or infinite values, values outside
the contract's ranges, inverted boxes, unknown road conditions and missing timestamps.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from braking_data.contract import (
    CONDITION_COLUMN,
    FEATURE_COLUMNS,
    FEATURE_RANGES,
    LABEL_COLUMN,
    LABEL_RANGE,
    ROAD_CONDITIONS,
    TIMESTAMP_COLUMN,
)

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = (*FEATURE_COLUMNS, CONDITION_COLUMN, TIMESTAMP_COLUMN, LABEL_COLUMN)
NUMERIC_RANGES = {**FEATURE_RANGES, LABEL_COLUMN: LABEL_RANGE}
# Pairs (lower edge, upper edge) of the box: y points up, so bottom <= top.
BOX_ORDER = (("other_bottom", "other_top"), ("other_left", "other_right"))


class SchemaError(ValueError):
    """A frame breaks the data contract; `problems` lists every violation found."""

    def __init__(self, problems: list[str], source: str = "frame") -> None:
        self.problems = list(problems)
        lines = "\n".join(f"  - {problem}" for problem in self.problems)
        super().__init__(
            f"{source} breaks the data schema ({_count(len(self.problems), 'problem')}):\n{lines}"
        )


def _count(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _rows(count: int) -> str:
    return _count(count, "row")


def _numeric_problems(name: str, series: pd.Series) -> list[str]:
    import pandas as pd

    low, high = NUMERIC_RANGES[name]
    expected = f"expected finite numbers in [{low:g}, {high:g}]"
    if not pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_bool_dtype(series.dtype):
        return [f"column '{name}': dtype {series.dtype} is not numeric; {expected}"]
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    problems = []
    not_finite = ~np.isfinite(values)
    if not_finite.any():
        example = values[not_finite][0]
        problems.append(
            f"column '{name}': {_rows(int(not_finite.sum()))} missing, NaN or infinite "
            f"(e.g. {example}); {expected}"
        )
    # float32 data clipped to a bound like 0.01 stores the nearest float32, which may lie
    # just outside the float64 bound: accept both roundings.
    floor, ceiling = min(low, float(np.float32(low))), max(high, float(np.float32(high)))
    with np.errstate(invalid="ignore"):
        outside = np.isfinite(values) & ((values < floor) | (values > ceiling))
    if outside.any():
        example = values[outside][0]
        problems.append(
            f"column '{name}': {_rows(int(outside.sum()))} out of range (e.g. {example:g}); "
            f"{expected}"
        )
    return problems


def _box_order_problems(frame: pd.DataFrame) -> list[str]:
    problems = []
    for lower, upper in BOX_ORDER:
        if lower not in frame or upper not in frame:
            continue
        try:
            low = frame[lower].to_numpy(dtype=np.float64, na_value=np.nan)
            high = frame[upper].to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError):
            continue  # already reported as non-numeric
        inverted = low > high
        if inverted.any():
            at = int(np.argmax(inverted))
            problems.append(
                f"columns '{lower}'/'{upper}': {_rows(int(inverted.sum()))} with {lower} > "
                f"{upper} (e.g. {low[at]:g} > {high[at]:g}); expected {lower} <= {upper} "
                "(y points up, x to the right)"
            )
    return problems


def _condition_problems(series: pd.Series) -> list[str]:
    import pandas as pd

    if isinstance(series.dtype, pd.CategoricalDtype):
        # Check the few categories, not the millions of rows.
        known_codes = np.isin(series.cat.categories.astype("object"), ROAD_CONDITIONS)
        codes = series.cat.codes.to_numpy()
        unknown = (codes < 0) | ~known_codes[codes]
    else:
        unknown = ~np.isin(series.astype("object").to_numpy(), ROAD_CONDITIONS)
    if not unknown.any():
        return []
    example = series[unknown].iloc[0]
    return [
        f"column '{CONDITION_COLUMN}': {_rows(int(unknown.sum()))} with an unknown road "
        f"condition (e.g. {example!r}); expected one of {', '.join(ROAD_CONDITIONS)}"
    ]


def _timestamp_problems(series: pd.Series) -> list[str]:
    import pandas as pd

    if not isinstance(series.dtype, pd.DatetimeTZDtype):
        return [
            f"column '{TIMESTAMP_COLUMN}': dtype {series.dtype} is not a timezone-aware "
            "timestamp; expected UTC timestamps"
        ]
    missing = int(series.isna().sum())
    if missing:
        return [f"column '{TIMESTAMP_COLUMN}': {_rows(missing)} missing; expected UTC timestamps"]
    return []


def validate_frame(
    frame: pd.DataFrame, source: str = "frame", required: Sequence[str] = REQUIRED_COLUMNS
) -> None:
    """Raise SchemaError listing every contract violation of `frame`; return None if clean.

    `required` names the columns that must be present (all of the contract's by default);
    any contract column present is checked.
    """
    missing = [name for name in required if name not in frame.columns]
    problems = [
        f"column '{name}': missing; expected columns {', '.join(REQUIRED_COLUMNS)}"
        for name in missing
    ]
    for name in NUMERIC_RANGES:
        if name in frame.columns:
            problems += _numeric_problems(name, frame[name])
    problems += _box_order_problems(frame)
    if CONDITION_COLUMN in frame.columns:
        problems += _condition_problems(frame[CONDITION_COLUMN])
    if TIMESTAMP_COLUMN in frame.columns:
        problems += _timestamp_problems(frame[TIMESTAMP_COLUMN])
    if problems:
        raise SchemaError(problems, source)


def read_dataset(path: str | os.PathLike[str], columns: list[str] | None = None) -> pd.DataFrame:
    """Read a Parquet data set, check it with `validate_frame` and return it with the public
    dtypes (float32 features and label, categorical road_condition over ROAD_CONDITIONS).

    With `columns`, only those are read and checked (the contract's columns among them).
    """
    import pandas as pd
    import pyarrow as pa

    source = Path(path)
    if not source.is_file():
        raise FileNotFoundError(f"data set {source} does not exist (expected a Parquet file)")
    try:
        frame = pd.read_parquet(source, columns=columns)
    except (pa.ArrowException, OSError) as error:
        raise SchemaError([f"not a readable Parquet file: {error}"], str(source)) from error
    required = (
        REQUIRED_COLUMNS if columns is None else [c for c in REQUIRED_COLUMNS if c in columns]
    )
    validate_frame(frame, str(source), required=required)
    return _normalise_dtypes(frame)


def _normalise_dtypes(frame: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    for name in NUMERIC_RANGES:
        if name in frame.columns and frame[name].dtype != np.float32:
            frame[name] = frame[name].astype(np.float32)
    if CONDITION_COLUMN in frame.columns:
        frame[CONDITION_COLUMN] = frame[CONDITION_COLUMN].astype(
            pd.CategoricalDtype(list(ROAD_CONDITIONS))
        )
    return frame
