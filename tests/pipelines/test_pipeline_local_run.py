"""Whole pipeline runs on kfp.local with small data (slow: real training in subprocesses)."""

from __future__ import annotations

import pytest

from braking_pipelines.config import PipelineConfig
from braking_pipelines.local import run_local

SMALL_RUN = {"data_rows": 1500, "tuning_shards": 2, "search_iterations": 2, "cv_folds": 2}


@pytest.mark.slow
def test_a_failing_gate_skips_registration_and_deployment(tmp_path, tiny_search):
    config = PipelineConfig(local_root=tmp_path / "root")
    arguments = {**SMALL_RUN, "tuning_shards": 1, "gate_thresholds": {"min_r2": 2.0}}

    summary = run_local(config, arguments, log_file=tmp_path / "steps.log", use_stack=False)

    assert summary.gate_passed is False
    assert any(reason.startswith("r2:") for reason in summary.gate_reasons)
    ran = {path.rsplit("/", 1)[-1] for path in summary.tasks}
    assert {"generate-data", "split-data", "tune-shard", "train-model", "validate-model"} <= ran
    assert not ran & {"register-model", "deploy-model", "smoke-test"}
    assert summary.registered is None and summary.endpoint_url is None
    assert 0 < summary.model_metrics["rmse"] < 1
    assert (tmp_path / "steps.log").stat().st_size > 0
