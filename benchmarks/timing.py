"""Timing helpers the benchmarks share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any


def median_latency_us(function: Callable[[Any], object], rows: Sequence, calls: int) -> float:
    """Median wall time in microseconds of `function(row)` over `calls` calls, cycling `rows`."""
    times = []
    for index in range(calls):
        row = rows[index % len(rows)]
        start = time.perf_counter()
        function(row)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6
