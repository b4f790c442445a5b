"""Benchmark of data generation: in-memory rows/s and a bounded-memory streamed Parquet write.

    python benchmarks/bench_data.py --output-dir benchmarks/results [--rows 1000000]
        [--stream-rows 10000000] [--repeats 3]

The streamed write runs in a child process so its peak RSS (ru_maxrss) is its own, not the
in-memory run's. Writes <output-dir>/data.json.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from machine_info import machine_info


def bench_generate(rows: int, repeats: int) -> dict[str, float]:
    from braking_data.generate import generate_frame

    generate_frame(10_000, seed=0)  # warm-up: imports, first allocations
    times, cpu_times = [], []
    for repeat in range(repeats):
        start, cpu_start = time.perf_counter(), time.process_time()
        generate_frame(rows, seed=repeat)
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    best = min(times)
    return {
        "rows": rows,
        "best_s": best,
        "rows_per_s": rows / best,
        "all_s": times,
        "cpu_s": min(cpu_times),  # wall time inflates when other work shares the cores
    }


def bench_stream(rows: int, chunk_rows: int) -> dict[str, float]:
    """Run `_stream_child` in a fresh interpreter and return its measurements."""
    with tempfile.TemporaryDirectory(prefix="bench-data-") as folder:
        command = [
            sys.executable, __file__, "--child-stream", str(Path(folder) / "data.parquet"),
            "--stream-rows", str(rows), "--chunk-rows", str(chunk_rows),
        ]  # fmt: skip
        completed = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(completed.stdout)


def _stream_child(path: str, rows: int, chunk_rows: int) -> None:
    from braking_data.generate import write_dataset

    baseline_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start, cpu_start = time.perf_counter(), time.process_time()
    info = write_dataset(path, rows, seed=1, chunk_rows=chunk_rows)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    result = {
        "rows": rows,
        "chunk_rows": chunk_rows,
        "wall_s": seconds,
        "rows_per_s": rows / seconds,
        "cpu_s": cpu_seconds,
        "file_mb": info.bytes / 1e6,
        "peak_rss_mb": peak_rss_mb,
        "rss_after_imports_mb": baseline_rss_mb,
        "sha256": info.sha256,
    }
    print(json.dumps(result))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for generate_frame")
    parser.add_argument("--repeats", type=int, default=3, help="best of N for generate_frame")
    parser.add_argument("--stream-rows", type=int, default=10_000_000, help="rows streamed")
    parser.add_argument("--chunk-rows", type=int, default=262_144, help="rows per chunk")
    parser.add_argument("--child-stream", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_stream:
        _stream_child(args.child_stream, args.stream_rows, args.chunk_rows)
        return

    generate = bench_generate(args.rows, args.repeats)
    stream = bench_stream(args.stream_rows, args.chunk_rows)
    result = {
        "benchmark": "data",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine_info("numpy", "pyarrow"),
        "generate_frame": generate,
        "write_dataset": stream,
        "targets": {"generate_rows_per_s": 2_000_000, "generate_1m_rows_s": 2.0},
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "data.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'measure':<42}{'value':>14}")
    print(
        f"{f'generate_frame {args.rows:,} rows, best of {args.repeats}':<42}"
        f"{generate['best_s']:>12.3f} s"
    )
    print(f"{'  rows/s':<42}{generate['rows_per_s']:>14,.0f}")
    print(f"{'  CPU time':<42}{generate['cpu_s']:>12.3f} s")
    print(f"{f'write_dataset {args.stream_rows:,} rows (streamed)':<42}{stream['wall_s']:>12.2f} s")
    print(f"{'  rows/s':<42}{stream['rows_per_s']:>14,.0f}")
    print(f"{'  CPU time':<42}{stream['cpu_s']:>12.2f} s")
    print(f"{'  peak RSS':<42}{stream['peak_rss_mb']:>11.0f} MB")
    print(f"{'  file size':<42}{stream['file_mb']:>11.0f} MB")
    print(f"-> {args.output_dir / 'data.json'}")


if __name__ == "__main__":
    main()
