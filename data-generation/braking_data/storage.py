"""How a data set is stored: the pinned Parquet schema, Arrow conversion, label tallies,
file hashing. Kept apart from generation so both stay small."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from braking_data.contract import (
    CONDITION_COLUMN,
    FEATURE_COLUMNS,
    LABEL_COLUMN,
    ROAD_CONDITIONS,
    TIMESTAMP_COLUMN,
)

if TYPE_CHECKING:
    import pyarrow as pa

# Pinned so the same rows always give the same bytes (and readable by any Parquet reader).
PARQUET_WRITER_OPTIONS = {
    "compression": "zstd",
    "compression_level": 1,
    "use_dictionary": [CONDITION_COLUMN],
    # Byte-stream-split floats compress ~7 % smaller at the same speed.
    "use_byte_stream_split": [*FEATURE_COLUMNS, LABEL_COLUMN],
    "write_statistics": True,
    "version": "2.6",
}


@dataclass(frozen=True)
class ConditionStats:
    """Label statistics of one road condition in a written data set."""

    rows: int
    mean: float
    zero_share: float
    full_share: float


@dataclass(frozen=True)
class DatasetInfo:
    """What `write_dataset` wrote: where, how many rows, the file's sha256 and label stats."""

    path: Path
    rows: int
    sha256: str
    bytes: int
    seed: int
    label_stats: dict[str, ConditionStats] = field(default_factory=dict)


class LabelTally:
    """Per-condition label sums, accumulated block by block (bounded memory)."""

    def __init__(self) -> None:
        size = len(ROAD_CONDITIONS)
        self.rows, self.total = np.zeros(size, np.int64), np.zeros(size)
        self.zeros, self.fulls = np.zeros(size, np.int64), np.zeros(size, np.int64)

    def add(self, codes: np.ndarray, label: np.ndarray) -> None:
        """Count the rows of one chunk by road condition (`codes`) with their labels."""
        size = len(ROAD_CONDITIONS)
        self.rows += np.bincount(codes, minlength=size)
        self.total += np.bincount(codes, weights=label, minlength=size)
        self.zeros += np.bincount(codes[label == 0.0], minlength=size)
        self.fulls += np.bincount(codes[label == 1.0], minlength=size)

    def stats(self) -> dict[str, ConditionStats]:
        """Rows, mean and extremes of the label per road condition seen so far."""
        return {
            name: ConditionStats(
                rows=int(n),
                mean=float(total / n),
                zero_share=float(zeros / n),
                full_share=float(fulls / n),
            )
            for name, n, total, zeros, fulls in zip(
                ROAD_CONDITIONS, self.rows, self.total, self.zeros, self.fulls, strict=True
            )
            if n
        }


def arrow_schema() -> pa.Schema:
    """The Parquet schema of a data set (no pandas metadata: bytes must not vary)."""
    import pyarrow as pa

    fields = [pa.field(name, pa.float32(), nullable=False) for name in FEATURE_COLUMNS]
    fields += [
        pa.field(CONDITION_COLUMN, pa.dictionary(pa.int8(), pa.string()), nullable=False),
        pa.field(TIMESTAMP_COLUMN, pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field(LABEL_COLUMN, pa.float32(), nullable=False),
    ]
    return pa.schema(fields)


def columns_to_table(columns: dict[str, np.ndarray], schema: pa.Schema) -> pa.Table:
    """Arrow table of generated columns (zero-copy), built from their buffers.

    `pa.array` would import pandas to inspect its argument, ~0.4 s in the data step, which
    uses none: a pipeline step is a fresh process each run (docs/adr/0022).
    """
    import pyarrow as pa

    names = [name.encode() for name in ROAD_CONDITIONS]
    offsets = np.cumsum([0, *map(len, names)], dtype=np.int32)
    conditions = pa.StringArray.from_buffers(
        len(names), pa.py_buffer(offsets), pa.py_buffer(b"".join(names))
    )
    arrays = []
    for schema_field in schema:
        values = columns[schema_field.name]
        if schema_field.name == CONDITION_COLUMN:
            codes = _primitive_array(values, schema_field.type.index_type)
            arrays.append(pa.DictionaryArray.from_arrays(codes, conditions))
        else:
            arrays.append(_primitive_array(values, schema_field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


def _primitive_array(values: np.ndarray, arrow_type: pa.DataType) -> pa.Array:
    """`values` as an Arrow array of `arrow_type`, sharing their memory (no nulls); the numpy
    dtype must have the type's width (float32, int8, int64 microseconds for timestamps)."""
    import pyarrow as pa

    if values.dtype.itemsize * 8 != arrow_type.bit_width:
        raise TypeError(f"{values.dtype} values cannot back an Arrow {arrow_type} array")
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(arrow_type, len(values), [None, pa.py_buffer(values)])


def chmod_like_new_file(path: str) -> None:
    """Mkstemp creates 0600 files; give the data set the usual umask-based permissions."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file, read in 1 MiB pieces."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while piece := stream.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()
