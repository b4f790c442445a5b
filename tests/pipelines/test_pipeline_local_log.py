"""A quiet kfp.local run: task progress on the terminal, the steps' output in the log file."""

# No `from __future__ import annotations`: KFP reads the annotations as real types.
import io
import logging

from kfp import dsl, local

from braking_pipelines.local_log import is_progress, progress_on_terminal


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def say_hello(name: str) -> str:
    print(f"step output: hello {name}")
    return f"hello {name}"


@dsl.pipeline(name="hello")
def hello_pipeline(name: str = "kfp"):
    say_hello(name=name)


def test_the_terminal_shows_progress_and_the_log_keeps_everything(tmp_path):
    local.init(local.SubprocessRunner(use_venv=False), pipeline_root=str(tmp_path))
    log, terminal = io.StringIO(), io.StringIO()
    with progress_on_terminal(log, terminal):
        hello_pipeline(name="braking")
    shown = terminal.getvalue()
    assert "say-hello" in shown and "SUCCESS" in shown
    assert "step output" not in shown  # the step's own output stays in the log
    assert "outputs:" not in shown  # so does kfp.local's multi-line listing of outputs
    assert "step output: hello braking" in log.getvalue()
    assert "hello braking" in log.getvalue().split("outputs:")[-1]
    assert logging.getLogger().filters == []  # the filter is gone after the block


def test_records_of_other_code_stay_in_the_log():
    record = logging.LogRecord("root", logging.WARNING, __file__, 1, "mine", None, None)
    assert not is_progress(record)


def test_shards_running_at_once_share_the_cores():
    import os

    from braking_pipelines.local import shard_cores_env

    available = len(os.sched_getaffinity(0))
    assert shard_cores_env(1) == {"BRAKING_TRAIN_N_JOBS": str(available)}
    assert shard_cores_env(2) == {"BRAKING_TRAIN_N_JOBS": str(max(1, available // 2))}
    assert shard_cores_env(available * 4) == {"BRAKING_TRAIN_N_JOBS": "1"}  # never zero


def test_a_token_protected_stack_hands_its_token_to_the_register_deploy_and_smoke_steps(
    monkeypatch,
):
    from braking_common.environment import scoped_environ
    from braking_pipelines.local import stack_token_env
    from braking_release.config import LocalServingTarget, RegistrationConfig

    monkeypatch.setenv("BRAKING_STACK_TOKEN", "s3cret")
    with scoped_environ(stack_token_env()):  # what every step of the run inherits
        assert RegistrationConfig().resolved_token() == "s3cret"
        assert LocalServingTarget().token == "s3cret"


def test_a_handler_left_on_the_root_logger_by_the_run_is_removed_after_it(monkeypatch, tmp_path):
    """kfp.local swaps the root logger's handlers per task from parallel threads; a leaked
    handler would write to the closed log file of the run at every later log record."""
    import sys

    from braking_pipelines import pipeline
    from braking_pipelines.config import PipelineConfig
    from braking_pipelines.local import run_local

    config = PipelineConfig(local_root=tmp_path)

    def leaky_pipeline(**arguments):
        logging.getLogger().addHandler(logging.StreamHandler(sys.stdout))  # stdout: the log
        (tmp_path / f"{config.name}-run").mkdir()

    monkeypatch.setattr(pipeline, "build_pipeline", lambda config, run_time=None: leaky_pipeline)
    before = logging.getLogger().handlers[:]
    run_local(config, {}, log_file=tmp_path / "run.log", use_stack=False)
    assert logging.getLogger().handlers == before
