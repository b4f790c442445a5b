"""Run the pipeline on this machine with kfp.local, then summarise what it produced.

kfp.local's `SubprocessRunner(use_venv=False)` runs every step as a subprocess of this
Python (the project is installed here, as it is in the image), writes artifacts under
`PipelineConfig.local_root/<pipeline>-<timestamp>/<task>/`, and honours dsl.If (nested
too: deployment runs only when the compare step says "promote"), dsl.ParallelFor and
dsl.Collected. It cannot resolve the run-time placeholders, so a `fresh_data` run takes its
data seed from the local run's start time instead (`build_pipeline(run_time=...)`).
Secrets, retries, caching and resources are cluster features kfp.local ignores: steps read
their settings from this process's env instead.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
import warnings
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from braking_common.environment import scoped_environ
from braking_pipelines.config import PipelineConfig

EXECUTOR_OUTPUT = "executor_output.json"


@dataclass(frozen=True)
class TaskOutput:
    """What one finished task wrote: its returned values and its artifacts' uri + metadata."""

    parameters: dict[str, Any]
    artifacts: dict[str, list[dict[str, Any]]]

    def artifact(self, name: str) -> dict[str, Any]:
        """The first output artifact called `name` of any task, as kfp.local recorded it."""
        return self.artifacts[name][0]


@dataclass(frozen=True)
class LocalRunSummary:
    """The outcome of a local run, read back from its artifact folder."""

    run_dir: Path
    seconds: float
    tasks: dict[str, TaskOutput] = field(default_factory=dict)

    def task(self, name: str) -> TaskOutput | None:
        """The task whose path in the run folder ends with `name` (e.g. "train-model")."""
        matches = [path for path in self.tasks if path.rsplit("/", 1)[-1] == name]
        return self.tasks[matches[0]] if matches else None

    @property
    def gate_passed(self) -> bool | None:
        """The gate's verdict, or None when the gate did not run."""
        gate = self.task("validate-model")
        return None if gate is None else bool(gate.parameters["Output"])

    @property
    def gate_reasons(self) -> list[str]:
        """Why the gate failed (empty when it passed)."""
        gate = self.task("validate-model")
        return [] if gate is None else list(gate.artifact("verdict")["metadata"].get("reasons", []))

    @property
    def model_metrics(self) -> dict[str, Any]:
        """The trained model's test metrics."""
        trained = self.task("train-model")
        return {} if trained is None else dict(trained.artifact("metrics")["metadata"])

    @property
    def model_dir(self) -> str | None:
        """Folder of the gated model, when the run got that far."""
        trained = self.task("train-model")
        return None if trained is None else trained.artifact("model")["uri"]

    @property
    def registered(self) -> dict[str, Any] | None:
        """Ids of the registered version, when the model was registered."""
        registered = self.task("register-model")
        return None if registered is None else dict(registered.artifact("registered")["metadata"])

    @property
    def decision(self) -> str | None:
        """The champion comparison's "promote" or "keep"; None when it did not run."""
        compared = self.task("compare-models")
        return None if compared is None else str(compared.parameters["Output"])

    @property
    def decision_reasons(self) -> list[str]:
        """Why the comparison promoted or kept the version."""
        compared = self.task("compare-models")
        if compared is None:
            return []
        return list(compared.artifact("evidence")["metadata"].get("reasons", []))

    @property
    def endpoint_url(self) -> str | None:
        """URL of the deployed model, when it was deployed."""
        deployed = self.task("deploy-model")
        return None if deployed is None else deployed.parameters["Output"]

    @property
    def smoke_prediction(self) -> float | None:
        """Brake amount the smoke test got from the deployed model."""
        smoke = self.task("smoke-test")
        return None if smoke is None else float(smoke.parameters["Output"])


def run_local(
    config: PipelineConfig,
    arguments: dict[str, Any],
    *,
    log_file: Path | None = None,
    use_stack: bool = True,
) -> LocalRunSummary:
    """Run the whole pipeline with kfp.local and summarise it; raises if a step fails.

    With `use_stack`, the embedded stack (registry + inference server, `BRAKING_STACK_*`)
    is used, or started, and the registration step pointed at its registry; the deploy
    step finds the same stack through the same env. The tuning shards that run at once share
    the cores (`shard_cores_env`). With `log_file`, the steps' own output
    (executor inputs, library logs) goes there and only task progress reaches the terminal.
    """
    from kfp import local

    from braking_pipelines.local_log import progress_on_terminal
    from braking_pipelines.pipeline import build_pipeline

    shards = int(arguments.get("tuning_shards", config.tuning_shards))
    extra_env = shard_cores_env(min(shards, config.max_parallel_shards, local_parallel_tasks()))
    if use_stack:
        arguments = {**registry_arguments(), **arguments}
        extra_env |= stack_token_env()

    root = config.local_root.resolve()
    root.mkdir(parents=True, exist_ok=True)
    before = set(root.iterdir())
    local.init(
        runner=local.SubprocessRunner(use_venv=False),
        pipeline_root=str(root),
        raise_on_error=True,
    )
    # kfp.local cannot resolve the run-time placeholders: the run's own start time stands in.
    pipeline = build_pipeline(config, run_time=datetime.now(UTC).isoformat())
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        # kfp.local swaps the root logger's handlers around each task, from one thread per
        # parallel task: one task's handler (on this block's stdout) can outlive the run.
        root_logger = logging.getLogger()
        stack.callback(setattr, root_logger, "handlers", root_logger.handlers[:])
        stack.enter_context(
            scoped_environ(extra_env, override=False)
        )  # steps inherit this process's env
        # The project image is not named "python"; locally every step runs in this Python.
        stack.enter_context(warnings.catch_warnings())
        warnings.filterwarnings(
            "ignore", message=".*non-Python base image", category=RuntimeWarning
        )
        # Display names, retries, caching, resources: cluster settings, no-ops here by design.
        warnings.filterwarnings("ignore", message=".*no effect in the current local runner")
        if log_file is not None:
            log_file.parent.mkdir(parents=True, exist_ok=True)
            log = stack.enter_context(log_file.open("w"))
            stack.enter_context(progress_on_terminal(log, sys.stdout))
        pipeline(**arguments)
    seconds = time.perf_counter() - started
    (run_dir,) = [p for p in set(root.iterdir()) - before if p.name.startswith(f"{config.name}-")]
    return read_run(run_dir, seconds)


def local_parallel_tasks() -> int:
    """How many iterations of a ParallelFor kfp.local runs at once (it caps them itself)."""
    from kfp.local.orchestrator.enhanced_dag_orchestrator import ParallelExecutor

    return ParallelExecutor().max_workers


def shard_cores_env(concurrent_shards: int) -> dict[str, str]:
    """`BRAKING_TRAIN_N_JOBS` giving each of the shards that run at once its share of the cores.

    On a cluster every shard is a pod with its own CPU limit; here they share this machine,
    and each using all cores would oversubscribe it. A value the user set wins.
    """
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {"BRAKING_TRAIN_N_JOBS": str(max(1, (available or 1) // max(1, concurrent_shards)))}


def registry_arguments() -> dict[str, Any]:
    """Run arguments that point the registration step at the embedded stack's registry."""
    from braking_stack.stack import ensure_stack

    return {"registry_url": ensure_stack().registry_url}


def stack_token_env() -> dict[str, str]:
    """When the stack requires a token, hand it to the register, deploy and smoke steps."""
    from braking_stack.config import StackConfig

    token = StackConfig().token
    if not token:
        return {}
    return {"BRAKING_REGISTRATION_TOKEN": token, "BRAKING_DEPLOY_LOCAL_TOKEN": token}


def read_run(run_dir: Path, seconds: float = 0.0) -> LocalRunSummary:
    """Collect every task's executor output under a kfp.local run folder."""
    tasks = {}
    for output_file in sorted(run_dir.rglob(EXECUTOR_OUTPUT)):
        task_path = output_file.parent.relative_to(run_dir).as_posix()
        written = json.loads(output_file.read_text())
        tasks[task_path] = TaskOutput(
            parameters=written.get("parameterValues", {}),
            artifacts={
                name: entry["artifacts"] for name, entry in written.get("artifacts", {}).items()
            },
        )
    return LocalRunSummary(run_dir=run_dir, seconds=seconds, tasks=tasks)
