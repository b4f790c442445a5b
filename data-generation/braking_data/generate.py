"""Deterministic, vectorised generation of synthetic sensor frames.

Each row is one moment on the road: a lead vehicle at a true distance, size and lateral
offset seen by the pinhole camera (`physics.project_box`), radar speeds of both cars, and a
friction sensor, all with Gaussian sensor noise; the label is computed from the *true*
values by `physics.required_brake_fraction`. Rows are generated in fixed-size blocks, block
``k`` drawing from ``SeedSequence(seed, spawn_key=(k,))``, so the rows depend only on
``(seed, rows, config)``: never on how many rows are held in memory at once.
"""

from __future__ import annotations

import os
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from braking_data.config import GenerationConfig, NormalClipped, Range
from braking_data.contract import (
    BOX_COLUMNS,
    CONDITION_COLUMN,
    FEATURE_RANGES,
    LABEL_COLUMN,
    ROAD_CONDITIONS,
    TIMESTAMP_COLUMN,
)
from braking_data.physics import KMH_PER_M_S, project_box, required_brake_fraction
from braking_data.storage import (
    PARQUET_WRITER_OPTIONS,
    DatasetInfo,
    LabelTally,
    arrow_schema,
    chmod_like_new_file,
    columns_to_table,
    file_sha256,
)

if TYPE_CHECKING:
    import pandas as pd
    from tqdm import tqdm

__all__ = ["DatasetInfo", "GenerationConfig", "generate_frame", "write_dataset"]

DEFAULT_CHUNK_ROWS = 262_144  # 4 blocks: ~180 MB peak RSS for any number of rows
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _uniform(rng: np.random.Generator, bounds: Range, n: int) -> np.ndarray:
    return bounds[0] + (bounds[1] - bounds[0]) * rng.random(n)


def _normal_clipped(rng: np.random.Generator, dist: NormalClipped, n: int) -> np.ndarray:
    return np.clip(dist.mean + dist.std * rng.standard_normal(n), dist.low, dist.high)


def _noisy(rng: np.random.Generator, values: np.ndarray, std: float, column: str) -> np.ndarray:
    """Add sensor noise and clip to the contract range, as a saturating sensor would."""
    noisy = values + std * rng.standard_normal(values.shape[0], dtype=np.float32)
    return np.clip(noisy, *FEATURE_RANGES[column], out=noisy)


def _condition_tables(config: GenerationConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Cumulative condition shares and per-condition friction low/span, in ROAD_CONDITIONS
    order (a condition absent from the config gets share 0)."""
    mixes = [config.road_conditions.get(name) for name in ROAD_CONDITIONS]
    shares = np.array([mix.share if mix else 0.0 for mix in mixes])
    cumulative = np.cumsum(shares / shares.sum())
    cumulative[-1] = 1.0  # rounding must not leave uniforms above the last bin
    low = np.array([mix.friction[0] if mix else 0.0 for mix in mixes])
    high = np.array([mix.friction[1] if mix else 0.0 for mix in mixes])
    return cumulative, low, high - low


def generate_block(
    block_index: int, rows: int, seed: int, config: GenerationConfig
) -> dict[str, np.ndarray]:
    """Columns of block `block_index` (`rows` <= config.block_rows rows) as numpy arrays.

    `road_condition` holds int8 codes into ROAD_CONDITIONS and `event_timestamp` int64
    microseconds since the epoch (UTC).
    """
    rng = np.random.Generator(
        np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block_index,)))
    )
    cumulative, mu_low, mu_span = _condition_tables(config)
    codes = np.searchsorted(cumulative, rng.random(rows), side="right").astype(np.int8)
    friction = mu_low[codes] + mu_span[codes] * rng.random(rows)

    log_low, log_high = np.log(config.distance_m)
    distance = np.exp(_uniform(rng, (log_low, log_high), rows))
    your_speed = _uniform(rng, config.your_speed_kmh, rows)
    other_speed = np.maximum(
        your_speed + _normal_clipped(rng, config.relative_speed_kmh, rows), 0.0
    )
    other_speed[rng.random(rows) < config.stationary_share] = 0.0

    box = project_box(
        distance,
        _normal_clipped(rng, config.vehicle_width_m, rows),
        _normal_clipped(rng, config.vehicle_height_m, rows),
        _normal_clipped(rng, config.lateral_offset_m, rows),
        config.camera,
    )
    label = required_brake_fraction(
        distance, your_speed / KMH_PER_M_S, other_speed / KMH_PER_M_S, friction, config.braking
    )

    noisy_box = [
        _noisy(rng, edge.astype(np.float32), config.box_noise_px, column)
        for edge, column in zip(box, BOX_COLUMNS, strict=True)
    ]
    bottom, left, right, top = noisy_box
    # Noise may swap two close edges; a detector always reports them ordered.
    bottom, top = np.minimum(bottom, top), np.maximum(bottom, top)
    left, right = np.minimum(left, right), np.maximum(left, right)

    first_row = block_index * config.block_rows
    interval_us = config.sample_interval_ms * 1000
    start_us = (config.start_time - EPOCH) // timedelta(microseconds=1)
    timestamps = start_us + interval_us * np.arange(first_row, first_row + rows, dtype=np.int64)
    return {
        "other_bottom": bottom,
        "other_left": left,
        "other_right": right,
        "other_top": top,
        "other_speed": _noisy(
            rng, other_speed.astype(np.float32), config.speed_noise_kmh, "other_speed"
        ),
        "your_speed": _noisy(
            rng, your_speed.astype(np.float32), config.speed_noise_kmh, "your_speed"
        ),
        "road_friction": _noisy(
            rng, friction.astype(np.float32), config.friction_noise, "road_friction"
        ),
        CONDITION_COLUMN: codes,
        TIMESTAMP_COLUMN: timestamps,
        LABEL_COLUMN: label.astype(np.float32),
    }


def block_sizes(rows: int, block_rows: int) -> list[int]:
    """Row counts of the blocks that make up `rows` rows (the last one may be short)."""
    if rows <= 0:
        raise ValueError(f"rows must be > 0, got {rows}")
    full, rest = divmod(rows, block_rows)
    return [block_rows] * full + ([rest] if rest else [])


def generate_columns(
    rows: int, seed: int, config: GenerationConfig, first_block: int = 0
) -> dict[str, np.ndarray]:
    """Blocks `first_block`.. filled into one array per column, `rows` rows in all (a
    multiple of block_rows unless it reaches the end of the data set)."""
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    columns: dict[str, np.ndarray] = {}
    start = 0
    for offset, size in enumerate(block_sizes(rows, config.block_rows)):
        block = generate_block(first_block + offset, size, seed, config)
        if size == rows:
            return block
        if not columns:  # preallocate rather than concatenate: half the peak memory
            columns = {name: np.empty(rows, values.dtype) for name, values in block.items()}
        for name, values in block.items():
            columns[name][start : start + size] = values
        start += size
    return columns


def columns_to_frame(columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A pandas frame with the public dtypes: float32, categorical condition, UTC time."""
    import pandas as pd

    data = dict(columns)
    data[CONDITION_COLUMN] = pd.Categorical.from_codes(
        columns[CONDITION_COLUMN], categories=list(ROAD_CONDITIONS)
    )
    data[TIMESTAMP_COLUMN] = pd.DatetimeIndex(
        columns[TIMESTAMP_COLUMN].view("datetime64[us]")
    ).tz_localize("UTC")
    return pd.DataFrame(data, copy=False)


def generate_frame(rows: int, seed: int, config: GenerationConfig | None = None) -> pd.DataFrame:
    """`rows` sensor frames for `seed`: FEATURE_COLUMNS (float32, contract order),
    `road_condition`, `event_timestamp` (UTC, increasing) and `brake_amount` in [0, 1].

    The same rows, byte for byte, as `write_dataset` stores for the same arguments.
    """
    config = config or GenerationConfig()
    return columns_to_frame(generate_columns(rows, seed, config))


def write_dataset(
    path: str | os.PathLike[str],
    rows: int,
    seed: int,
    config: GenerationConfig | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: bool = False,
) -> DatasetInfo:
    """Stream `generate_frame(rows, seed, config)` to a Parquet file, `chunk_rows` at a time.

    Memory stays bounded by the chunk size whatever `rows` is. Each seeded block becomes one
    row group and the writer settings are pinned, so the file is byte-identical for the same
    (seed, rows, config) whatever `chunk_rows` is. The file appears atomically: a failed
    write leaves no partial file behind.
    """
    import pyarrow.parquet as pq

    config = config or GenerationConfig()
    sizes = block_sizes(rows, config.block_rows)
    if chunk_rows <= 0:
        raise ValueError(f"chunk_rows must be > 0, got {chunk_rows}")
    blocks_per_chunk = max(1, chunk_rows // config.block_rows)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    schema = arrow_schema()
    tally = LabelTally()
    bar = _progress_bar(rows, target, enabled=progress)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        # One writer thread: Parquet encoding and zstd release the GIL, so chunk k is
        # compressed while chunk k+1 is generated. At most two chunks are alive at once,
        # and chunks are written in order, so the bytes do not change.
        with (
            pq.ParquetWriter(tmp_name, schema, **PARQUET_WRITER_OPTIONS) as writer,
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-writer") as pool,
        ):
            pending: Future[None] | None = None
            for first in range(0, len(sizes), blocks_per_chunk):
                chunk = generate_columns(
                    sum(sizes[first : first + blocks_per_chunk]), seed, config, first_block=first
                )
                tally.add(chunk[CONDITION_COLUMN], chunk[LABEL_COLUMN])
                table = columns_to_table(chunk, schema)
                if pending is not None:
                    pending.result()
                pending = pool.submit(writer.write_table, table, row_group_size=config.block_rows)
                bar.update(table.num_rows)
            if pending is not None:
                pending.result()
        chmod_like_new_file(tmp_name)
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    finally:
        bar.close()
    return DatasetInfo(
        path=target,
        rows=rows,
        sha256=file_sha256(target),
        bytes=target.stat().st_size,
        seed=seed,
        label_stats=tally.stats(),
    )


def _progress_bar(rows: int, target: Path, enabled: bool) -> tqdm:
    from tqdm import tqdm

    return tqdm(
        total=rows,
        desc=f"writing {target.name}",
        unit=" rows",
        unit_scale=True,
        disable=not enabled,
        leave=False,
    )
