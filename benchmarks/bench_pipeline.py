"""Benchmark of the KFP pipeline on kfp.local: wall time and per-task overhead.

    python benchmarks/bench_pipeline.py --output-dir benchmarks/results [--rows 3000 20000]
        [--shards 2] [--search-iterations 2] [--repeats 3] [--noop-repeats 5]

Three measurements, at each of the `--rows` sizes (3,000 and the pipeline's default 20,000):
- the whole pipeline on kfp.local (SubprocessRunner, use_venv=False), as `make run` runs it;
- the same steps called directly in this process (each component's `python_func` on
  artifacts in a temp folder, libraries imported once): the work itself;
- a one-task pipeline of a trivial component: kfp.local's fixed cost per task.
Pipeline and direct calls run `--repeats` times (default 3); the JSON keeps the ratio of
each pair and details the pair with the median ratio. Both paths run the tuning shards the
same way: as many at once as kfp.local runs, each on its share of the cores.
Both run against an embedded stack of the benchmark's own (a temp folder, free ports).
The per-task overhead is (pipeline - direct) / tasks run: a subprocess, fresh imports of
pandas/scikit-learn/onnxruntime, executor input/output JSON. Writes <output-dir>/pipeline.json.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from machine_info import machine_info


def run_pipeline(arguments: dict[str, Any], root: Path) -> dict[str, Any]:
    from braking_pipelines.config import PipelineConfig
    from braking_pipelines.local import run_local

    config = PipelineConfig(local_root=root)
    cpu_before = cpu_seconds()
    summary = run_local(config, arguments, log_file=root / "bench.log")
    return {
        "wall_s": summary.seconds,
        "cpu_s": cpu_seconds() - cpu_before,
        "tasks_s": task_seconds((root / "bench.log").read_text()),
        "tasks": len(summary.tasks),
        "task_names": sorted(summary.tasks),
        "gate_passed": summary.gate_passed,
        "registered": summary.registered is not None,
        "smoke_prediction": summary.smoke_prediction,
    }


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and of its finished subprocesses: the steps
    kfp.local ran (servers of the embedded stack still run, so they are not counted)."""
    import resource

    own, children = (
        resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def task_seconds(log: str) -> dict[str, float]:
    """Seconds per task name (summed over loop iterations) from kfp.local's progress lines."""
    import re

    stamp = r"^(\d\d):(\d\d):(\d\d\.\d+) - \w+ - "
    started: dict[str, list[float]] = {}
    seconds: dict[str, float] = {}
    for line in re.sub(r"\x1b\[[0-9;]*m", "", log).splitlines():
        begin = re.match(stamp + r"Executing task '([\w-]+)'", line)
        end = re.match(stamp + r"Task '([\w-]+)' finished", line)
        for match, starting in ((begin, True), (end, False)):
            if match is None:
                continue
            hours, minutes, secs, name = match.groups()
            at = int(hours) * 3600 + int(minutes) * 60 + float(secs)
            if starting:
                started.setdefault(name, []).append(at)
            else:
                seconds[name] = seconds.get(name, 0.0) + at - started[name].pop(0)
    return seconds


def run_direct(
    arguments: dict[str, Any], folder: Path, release: bool, deploy: bool
) -> dict[str, Any]:
    """The pipeline's steps as plain calls in this process; seconds per step. `release` and
    `deploy`: the run registered, and deployed, the model (so the same steps run here)."""
    from kfp import dsl

    from braking_model.tune import cores
    from braking_pipelines import components as c
    from braking_pipelines.local import registry_arguments
    from braking_pipelines.pipeline import SMOKE_SCENARIO, build_pipeline

    defaults = {name: spec.default for name, spec in build_pipeline().component_spec.inputs.items()}
    args = {**defaults, **registry_arguments(), **arguments}  # the same stack as the run
    concurrent_shards = shards_at_once(args["tuning_shards"])
    shard_jobs = int(os.environ["BRAKING_TRAIN_N_JOBS"])  # set by main, as run_local sets it

    def artifact(kind: type, name: str) -> Any:
        return kind(name=name, uri=str(folder / name), metadata={})

    seconds: dict[str, float] = {}
    cpu_before = cpu_seconds()

    def timed(name: str, step: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        result = step.python_func(**kwargs)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - started
        return result

    now = datetime.now(UTC).isoformat()  # what run_local hands kfp.local for the run time
    seed = timed(
        "data-seed",
        c.data_seed,
        seed=args["seed"],
        fresh_data=args["fresh_data"],
        scheduled_time=now,
        created_time=now,
    )
    log = {"inference_log": args["inference_log"], "evaluation_rows": args["evaluation_rows"]}
    data, stats = artifact(dsl.Dataset, "dataset"), artifact(dsl.Metrics, "stats")
    timed(
        "generate-data",
        c.generate_data,
        rows=args["data_rows"],
        seed=seed,
        dataset=data,
        stats=stats,
        scenario=args["scenario"],
        model_name=args["model_name"],
        log_fraction=args["log_fraction"],
        **log,
    )
    train, test = artifact(dsl.Dataset, "train"), artifact(dsl.Dataset, "test")
    timed(
        "split-data",
        c.split_data,
        dataset=data,
        test_fraction=args["test_fraction"],
        train=train,
        test=test,
    )
    shards = timed("plan-shards", c.plan_shards, shard_count=args["tuning_shards"])
    trials = [artifact(dsl.Dataset, f"trials-{index}") for index in shards]

    def tune(index: int) -> None:
        c.tune_shard.python_func(
            train=train,
            shard_index=index,
            shard_count=len(shards),
            search_iterations=args["search_iterations"],
            cv_folds=args["cv_folds"],
            seed=args["seed"],
            trials=trials[index],
        )

    # As kfp.local runs them: this many shards at once, each on its share of the cores.
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrent_shards) as pool, cores(shard_jobs):
        list(pool.map(tune, shards))
    seconds["tune-shard"] = time.perf_counter() - started
    best, merged = artifact(dsl.Artifact, "best"), artifact(dsl.Dataset, "all_trials")
    timed(
        "select-best",
        c.select_best,
        trials=trials,
        gate_thresholds=args["gate_thresholds"],
        best_trial=best,
        all_trials=merged,
        metrics=artifact(dsl.Metrics, "select-metrics"),
    )
    model = artifact(dsl.Model, "model")
    timed(
        "train-model",
        c.train_model,
        train=train,
        test=test,
        best_trial=best,
        all_trials=merged,
        seed=args["seed"],
        model=model,
        metrics=artifact(dsl.Metrics, "train-metrics"),
    )
    validated = artifact(dsl.Model, "validated")
    passed = timed(
        "validate-model",
        c.validate_model,
        model=model,
        test=test,
        gate_thresholds=args["gate_thresholds"],
        validated_model=validated,
        verdict=artifact(dsl.Metrics, "verdict"),
        model_card=artifact(dsl.Markdown, "card"),
    )
    if passed and release:
        registered = artifact(dsl.Artifact, "registered")
        timed(
            "register-model",
            c.register_model,
            model=validated,
            model_name=args["model_name"],
            registry_url=args["registry_url"],
            run_id="bench",
            registered=registered,
        )
        timed(  # its decision may differ here (the run registered first): `deploy` mirrors the run
            "compare-models",
            c.compare_models,
            model=validated,
            registered=registered,
            model_name=args["model_name"],
            registry_url=args["registry_url"],
            data_seed=seed,
            scenario=args["scenario"],
            evidence=artifact(dsl.Metrics, "evidence"),
            **log,
        )
    if passed and release and deploy:
        url = timed(
            "deploy-model",
            c.deploy_model,
            model=validated,
            registered=registered,
            model_name=args["model_name"],
            deploy_target=args["deploy_target"],
            registry_url=args["registry_url"],
        )
        timed("smoke-test", c.smoke_test, endpoint_url=url, **SMOKE_SCENARIO)
    cpu = cpu_seconds() - cpu_before
    return {
        "wall_s": sum(seconds.values()),
        "cpu_s": cpu,
        "steps_s": seconds,
        "gate_passed": passed,
    }


# A small run: kfp.local's fixed cost per step (a fresh process importing its libraries)
# weighs most here, beside the pipeline's default size where the work dominates.
SMALL_ROWS = 3_000


def shards_at_once(shards: int) -> int:
    """How many tuning shards kfp.local runs at the same time."""
    from braking_pipelines.config import PipelineConfig
    from braking_pipelines.local import local_parallel_tasks

    return min(shards, PipelineConfig().max_parallel_shards, local_parallel_tasks())


def direct_cores(shards: int) -> Any:
    """The cores each shard gets, set as run_local sets them for its steps."""
    from braking_common.environment import scoped_environ
    from braking_pipelines.local import shard_cores_env

    return scoped_environ(shard_cores_env(shards_at_once(shards)), override=False)


@contextlib.contextmanager
def private_stack(folder: Path) -> Iterator[None]:
    """An embedded stack of this benchmark's own (state folder, free ports), stopped after.

    Versions that other runs left in a shared registry could otherwise collide with the ones
    these runs register (the registry finds identical model bytes under an older version).
    """
    from braking_common.environment import scoped_environ
    from braking_stack.stack import stack_down

    ports = {f"BRAKING_STACK_{name}_PORT": str(free_port()) for name in ("REGISTRY", "SERVING")}
    with scoped_environ({"BRAKING_STACK_DIR": str(folder), **ports}):
        try:
            yield
        finally:
            stack_down()


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_noop(repeats: int, root: Path) -> dict[str, Any]:
    """kfp.local's fixed cost: a pipeline of one trivial task, median of `repeats`."""
    from kfp import dsl, local

    from braking_pipelines import components

    @dsl.pipeline(name="bench-noop")
    def noop():  # no annotations: KFP reads them, and this module defers them
        components.plan_shards(shard_count=1)

    root.mkdir(parents=True, exist_ok=True)
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        with open(root / "noop.log", "w") as log, _stdout_to(log):
            noop()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "all_s": times}


def _stdout_to(stream: Any) -> Any:
    return contextlib.redirect_stdout(stream)


def open_gate() -> dict[str, float]:
    """Thresholds no model fails: every max_* huge, every min_* hugely negative."""
    from braking_model.gate import GateThresholds

    return {
        name: (1e9 if name.startswith("max_") else -1e9) for name in GateThresholds.model_fields
    }


def measure_size(arguments: dict[str, Any], repeats: int, shards: int, folder: Path) -> dict:
    """`repeats` pairs of the pipeline on kfp.local and the same steps called directly, for one
    set of run arguments; the median pair in detail."""
    runs = []
    for repeat in range(repeats):
        pipeline = run_pipeline(arguments, folder / f"local-{repeat}")
        with direct_cores(shards):
            direct = run_direct(
                arguments,
                folder / f"direct-{repeat}",
                release=pipeline["registered"],
                deploy=pipeline["smoke_prediction"] is not None,
            )
        runs.append((pipeline["wall_s"] / direct["wall_s"], pipeline, direct))
    cpu_ratios = [pipeline["cpu_s"] / direct["cpu_s"] for _, pipeline, direct in runs]
    ratio, pipeline, direct = sorted(runs, key=lambda run: run[0])[len(runs) // 2]  # the median
    return {
        "arguments": arguments,
        "ratio_median": ratio,
        "ratio_runs": [run[0] for run in runs],
        "cpu_ratio_median": statistics.median(cpu_ratios),
        "cpu_ratio_runs": cpu_ratios,
        "kfp_local_pipeline": pipeline,
        "direct_library_calls": direct,
        "per_task_overhead_s": (pipeline["wall_s"] - direct["wall_s"]) / pipeline["tasks"],
        "overhead_by_task_s": {
            name: pipeline["tasks_s"][name] - direct["steps_s"][name]
            for name in direct["steps_s"]
            if name in pipeline["tasks_s"]
        },
    }


def print_size(size: dict, repeats: int) -> None:
    """The table of one size's figures."""
    pipeline, direct = size["kfp_local_pipeline"], size["direct_library_calls"]
    rows = size["arguments"]["data_rows"]
    print(f"{'data_rows = ' + format(rows, ','):<48}")
    print(f"{'  pipeline on kfp.local, ' + str(pipeline['tasks']) + ' tasks':<48}"
          f"{pipeline['wall_s']:>10.1f} s")  # fmt: skip
    print(f"{'  same steps as direct library calls':<48}{direct['wall_s']:>10.1f} s")
    print(f"{'  kfp.local / direct, median of ' + str(repeats):<48}{size['ratio_median']:>10.2f} x")
    print(f"{'  in CPU time (steps + this process), median':<48}"
          f"{size['cpu_ratio_median']:>10.2f} x")  # fmt: skip
    print(f"{'  overhead per task (difference / tasks)':<48}{size['per_task_overhead_s']:>10.2f} s")
    for name, extra in size["overhead_by_task_s"].items():
        print(f"{'    ' + name + ' (kfp.local - direct)':<48}{extra:>10.2f} s")
    print(f"{'  gate passed / registered':<48}{pipeline['gate_passed']!s:>6} / "
          f"{pipeline['registered']!s}")  # fmt: skip


def main() -> None:
    from braking_pipelines.config import PipelineConfig

    default_rows = PipelineConfig().data_rows
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        default=[SMALL_ROWS, default_rows],
        help=f"data_rows of the runs, one size after the other (default: {SMALL_ROWS:,}, where "
        f"kfp.local's fixed cost per step weighs most, and the pipeline's default "
        f"{default_rows:,})",
    )
    parser.add_argument("--shards", type=int, default=2, help="tuning_shards of the run")
    parser.add_argument("--search-iterations", type=int, default=2, help="candidates in total")
    parser.add_argument("--repeats", type=int, default=3, help="pipeline + direct pairs run")
    parser.add_argument("--noop-repeats", type=int, default=5, help="runs of the 1-task pipeline")
    parser.add_argument(
        "--strict-gate",
        action="store_true",
        help="keep the packaged gate thresholds (small data may then stop the run at the "
        "gate); default: thresholds every model passes, so every task is measured",
    )
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    sizes = []
    with (
        tempfile.TemporaryDirectory(prefix="bench-pipeline-") as scratch,
        private_stack(Path(scratch) / "stack"),
    ):
        folder = Path(scratch)
        noop = run_noop(args.noop_repeats, folder / "noop")
        for rows in args.rows:
            arguments = {
                "data_rows": rows,
                "tuning_shards": args.shards,
                "search_iterations": args.search_iterations,
                "gate_thresholds": {} if args.strict_gate else open_gate(),
            }
            sizes.append(measure_size(arguments, args.repeats, args.shards, folder / f"r{rows}"))
    headline = next((s for s in sizes if s["arguments"]["data_rows"] == default_rows), sizes[-1])
    result = {
        "benchmark": "pipeline",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**machine_info("kfp"), "load_average_1m_before": load_before},
        "repeats": args.repeats,
        "pipeline_default_rows": default_rows,
        "ratio_median": headline["ratio_median"],
        "sizes": sizes,
        "noop_task": noop,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "pipeline.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'measure':<48}{'value':>12}")
    for size in sizes:
        print_size(size, args.repeats)
    print(f"{'one trivial task on kfp.local (median)':<48}{noop['median_s']:>10.2f} s")
    print(f"-> {args.output_dir / 'pipeline.json'}")


if __name__ == "__main__":
    main()
