"""Where a kfp.local step's time goes: interpreter and kfp executor, our imports, the work.

    python benchmarks/bench_pipeline_steps.py --output-dir benchmarks/results [--rows 3000]
        [--repeats 3]

Runs the pipeline once on kfp.local (the arguments of bench_pipeline.py), recording each
task's command as kfp.local launches it, then launches each step's command again `--repeats`
times on the artifacts that run left: the median wall and CPU time of the step's process, and
from one more launch under `-X importtime` the time its top-level imports took, split into
kfp's executor (kfp, the standard library) and the rest (ours and the libraries we use).
`work_s` = wall - imports: what the step did, with the interpreter's own start (`python -c
pass`, `interpreter_s`) in it. Writes <output-dir>/pipeline_steps.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench_pipeline import SMALL_ROWS, open_gate, private_stack, run_pipeline
from machine_info import machine_info

IMPORT_LINE = re.compile(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)")


def record_task_commands() -> list[tuple[list[str], dict[str, str]]]:
    """From now on, every command kfp.local's subprocess runner launches, with its env."""
    from kfp.local import subprocess_task_handler as handler

    recorded: list[tuple[list[str], dict[str, str]]] = []
    launch = handler.run_local_subprocess

    def recording(full_command: list[str], env_vars: dict[str, str] | None = None) -> int:
        recorded.append((full_command, {**os.environ, **(env_vars or {})}))
        return launch(full_command, env_vars)

    handler.run_local_subprocess = recording
    return recorded


def step_name(command: list[str]) -> str:
    return command[command.index("--function_to_execute") + 1]


def clear_outputs(command: list[str]) -> None:
    """Remove the output artifacts the first run left: a step refuses some existing outputs."""
    executor_input = json.loads(command[command.index("--executor_input") + 1])
    for entry in executor_input["outputs"].get("artifacts", {}).values():
        for artifact in entry["artifacts"]:
            path = Path(artifact["uri"])
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)


def launch(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU seconds of one run of `command`, and its stderr."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu, done.stderr


def import_seconds(importtime: str) -> tuple[float, float, dict[str, float]]:
    """(kfp executor + standard library, the rest, the rest by top-level module) from
    `-X importtime` output: only imports made at the top of the import tree count."""
    stdlib = set(sys.stdlib_module_names) | {"kfp", "site", "_distutils_hack"}
    executor, ours, by_module = 0.0, 0.0, {}
    for cumulative_us, indent, module in IMPORT_LINE.findall(importtime):
        if len(indent) != 1:
            continue
        seconds = int(cumulative_us) / 1e6
        if module.split(".")[0] in stdlib or module.startswith("__editable__"):
            executor += seconds
        else:
            ours += seconds
            by_module[module] = by_module.get(module, 0.0) + seconds
    return executor, ours, by_module


def measure_step(command: list[str], env: dict[str, str], repeats: int) -> dict[str, Any]:
    runs = []
    for _ in range(repeats):
        clear_outputs(command)
        runs.append(launch(command, env)[:2])
    clear_outputs(command)
    _, _, importtime = launch(command, {**env, "PYTHONPROFILEIMPORTTIME": "1"})
    executor, ours, by_module = import_seconds(importtime)
    wall = statistics.median(run[0] for run in runs)
    heaviest = sorted(by_module.items(), key=lambda item: -item[1])[:4]
    return {
        "wall_s": wall,
        "cpu_s": statistics.median(run[1] for run in runs),
        "kfp_and_stdlib_imports_s": executor,
        "other_imports_s": ours,
        "work_s": wall - executor - ours,
        "heaviest_imports_s": dict(heaviest),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--rows", type=int, default=SMALL_ROWS, help="data_rows of the run")
    parser.add_argument("--repeats", type=int, default=3, help="launches of each step")
    args = parser.parse_args()
    arguments = {
        "data_rows": args.rows,
        "tuning_shards": 2,
        "search_iterations": 2,
        "gate_thresholds": open_gate(),
    }
    load_before = os.getloadavg()[0]
    recorded = record_task_commands()
    steps: dict[str, Any] = {}
    with (
        tempfile.TemporaryDirectory(prefix="bench-steps-") as scratch,
        private_stack(Path(scratch) / "stack"),
    ):
        run = run_pipeline(arguments, Path(scratch) / "run")
        interpreter = statistics.median(
            launch([sys.executable, "-c", "pass"], dict(os.environ))[0] for _ in range(5)
        )
        for command, env in recorded:
            if step_name(command) not in steps:  # the second tuning shard measures the same
                steps[step_name(command)] = measure_step(command, env, args.repeats)
    result = {
        "benchmark": "pipeline_steps",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info("kfp"), "load_average_1m_before": load_before},
        "arguments": arguments,
        "repeats": args.repeats,
        "pipeline_wall_s": run["wall_s"],
        "interpreter_s": interpreter,
        "steps": steps,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "pipeline_steps.json").write_text(json.dumps(result, indent=2) + "\n")
    header = ("step", "wall", "cpu", "kfp+std", "imports", "work")
    print(f"{header[0]:<16}" + "".join(f"{h:>9}" for h in header[1:]) + "  heaviest imports")
    for name, step in steps.items():
        figures = (step[k] for k in ("wall_s", "cpu_s", "kfp_and_stdlib_imports_s"))
        row = [*figures, step["other_imports_s"], step["work_s"]]
        heavy = ", ".join(f"{m} {s:.2f}" for m, s in step["heaviest_imports_s"].items())
        print(f"{name:<16}" + "".join(f"{v:>8.2f}s" for v in row) + f"  {heavy}")
    print(f"interpreter start (python -c pass): {interpreter:.3f} s")
    print(f"-> {args.output_dir / 'pipeline_steps.json'}")


if __name__ == "__main__":
    main()
