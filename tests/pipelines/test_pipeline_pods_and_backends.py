"""Pod settings and older-backend compile modes, checked on the compiled spec."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from typer.testing import CliRunner

from braking_cli.main import app
from braking_pipelines.config import PipelineConfig
from braking_pipelines.pipeline import compile_pipeline

POD_SETTINGS = [
    "pods.node_selector={node-role.kubernetes.io/ml: ''}",
    "pods.tolerations=[{key: ml, operator: Exists, effect: NoSchedule}]",
    "pods.image_pull_secrets=[quay-pull]",
    "pods.labels.team=braking",
    "pods.timeouts.tune_shard=3600",
    "pods.timeouts.deploy_model=900",
]
POD_FIELDS = {"nodeSelector", "tolerations", "imagePullSecret", "podMetadata"}


def compiled(config: PipelineConfig, folder: Path) -> tuple[dict, dict]:
    """The pipeline spec and the Kubernetes executors of its platform section."""
    path = compile_pipeline(config, folder / "pipeline.yaml")
    spec, platform = yaml.safe_load_all(path.read_text())
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]


def secret_env(executors: dict) -> list[dict]:
    return [s for e in executors.values() for s in e.get("secretAsEnv", [])]


def test_unset_pod_settings_keep_the_spec_as_it_was(tmp_path):
    _, executors = compiled(PipelineConfig(), tmp_path)
    assert set(executors) == {"exec-register-model", "exec-compare-models"}  # the connection only
    for executor in executors.values():
        assert set(executor) == {"secretAsEnv"}


def test_pod_settings_reach_every_step_and_timeouts_their_step(tmp_path):
    spec, executors = compiled(PipelineConfig.from_yaml(None, POD_SETTINGS), tmp_path)
    assert set(executors) == set(spec["deploymentSpec"]["executors"])  # all ten steps
    for name, executor in executors.items():
        assert set(executor) >= POD_FIELDS, name
        assert executor["nodeSelector"] == {"labels": {"node-role.kubernetes.io/ml": ""}}
        assert executor["tolerations"] == [
            {"key": "ml", "operator": "Exists", "effect": "NoSchedule"}
        ]
        assert [s["secretName"] for s in executor["imagePullSecret"]] == ["quay-pull"]
        assert executor["podMetadata"] == {"labels": {"team": "braking"}}
    deadlines = {n: e["activeDeadlineSeconds"] for n, e in executors.items() if "active" in str(e)}
    assert deadlines == {"exec-tune-shard": "3600", "exec-deploy-model": "900"}


def test_pod_settings_from_env_and_yaml(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAKING_PIPELINE_PODS__NODE_SELECTOR", '{"disktype": "ssd"}')
    from_env = PipelineConfig()
    assert from_env.pods.node_selector == {"disktype": "ssd"}
    monkeypatch.delenv("BRAKING_PIPELINE_PODS__NODE_SELECTOR")
    config_file = tmp_path / "pipeline.yaml"
    config_file.write_text("pods:\n  labels: {team: braking}\n  image_pull_secrets: [pull]\n")
    # --set adds to the file's nested settings instead of replacing them
    config = PipelineConfig.from_yaml(config_file, ["pods.labels.cost-center=42"])
    assert config.pods.labels == {"team": "braking", "cost-center": "42"}
    assert config.pods.image_pull_secrets == ["pull"]


def test_a_timeout_for_an_unknown_step_names_the_steps(tmp_path):
    expected = "got step 'tune', expected one of data_seed, generate_data"
    with pytest.raises(ValidationError, match=expected):
        PipelineConfig.from_yaml(None, ["pods.timeouts.tune=60"])
    result = CliRunner().invoke(
        app, ["pipeline", "compile", "-o", str(tmp_path / "p.yaml"), "--set", "pods.timeouts"]
    )
    assert result.exit_code == 2
    assert "pods" in result.output and "Traceback" not in result.output


def test_compile_takes_pod_settings_and_the_backend_as_flags(tmp_path):
    output = tmp_path / "p.yaml"
    args = ["pipeline", "compile", "-o", str(output), "--set", "kfp_backend=2.5"]
    for pair in POD_SETTINGS[:2]:
        args += ["--set", pair]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    _, platform = yaml.safe_load_all(output.read_text())
    executors = platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    assert executors["exec-train-model"]["tolerations"][0]["key"] == "ml"
    assert "optional" not in output.read_text()


def test_the_default_spec_needs_a_backend_with_optional_secrets(tmp_path):
    _, executors = compiled(PipelineConfig(), tmp_path)
    optional = {s["secretName"]: s["optional"] for s in secret_env(executors)}
    assert optional == {"model-storage": False, "model-registry-token": True}


def test_kfp_2_5_backends_get_no_optional_field_and_keep_the_fan_in(tmp_path):
    spec, executors = compiled(PipelineConfig(kfp_backend="2.5"), tmp_path)
    secrets = secret_env(executors)
    assert secrets and all("optional" not in s for s in secrets)
    # the optional token Secret is left out: the step uses the run's service-account token
    assert {s["secretName"] for s in secrets} == {"model-storage"}
    collected = spec["root"]["dag"]["tasks"]["select-best"]["inputs"]["artifacts"]["trials"]
    assert collected["taskOutputArtifact"]["producerTask"] == "for-loop-1"


def test_kfp_2_0_backends_search_in_one_task_without_fan_in(tmp_path):
    spec, executors = compiled(PipelineConfig(kfp_backend="2.0"), tmp_path)
    tasks = spec["root"]["dag"]["tasks"]
    assert "for-loop-1" not in tasks and "plan-shards" not in tasks
    assert not [c for c in spec["components"] if c.startswith("comp-for-loop")]
    assert "select-best" not in tasks
    trials = tasks["select-best-of-one"]["inputs"]["artifacts"]["trials"]["taskOutputArtifact"]
    assert trials == {"outputArtifactKey": "trials", "producerTask": "tune-shard"}
    shard = tasks["tune-shard"]["inputs"]["parameters"]
    assert shard["shard_count"]["runtimeValue"]["constant"] == 1
    select = spec["components"]["comp-select-best-of-one"]["inputDefinitions"]["artifacts"]
    select = select["trials"]
    assert "isArtifactList" not in select
    assert all("optional" not in s for s in secret_env(executors))
