"""The compiled IR YAML: what a DSPA would run, checked without a cluster."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from braking_pipelines.config import S3_CONNECTION_KEYS, PipelineConfig
from braking_pipelines.pipeline import REGISTRY_TOKEN_ENV, compile_pipeline

IMAGE = "registry.example/braking:1.2.3"


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    config = PipelineConfig(base_image=IMAGE, max_parallel_shards=3)
    path = compile_pipeline(config, tmp_path_factory.mktemp("spec") / "pipeline.yaml")
    spec, platform = yaml.safe_load_all(path.read_text())
    return spec, platform["platforms"]["kubernetes"]["deploymentSpec"]["executors"], path


def tasks_of(spec: dict, component: str) -> dict:
    return (
        spec["components"][component]["dag"]["tasks"] if component else spec["root"]["dag"]["tasks"]
    )


def test_compiling_twice_gives_identical_bytes(compiled, tmp_path):
    _, _, path = compiled
    again = compile_pipeline(
        PipelineConfig(base_image=IMAGE, max_parallel_shards=3), tmp_path / "again.yaml"
    )
    assert again.read_bytes() == path.read_bytes()


def test_run_parameters_and_their_defaults(compiled):
    spec, _, _ = compiled
    parameters = spec["root"]["inputDefinitions"]["parameters"]
    defaults = PipelineConfig()
    assert parameters["data_rows"] == {
        "defaultValue": defaults.data_rows,
        "isOptional": True,
        "parameterType": "NUMBER_INTEGER",
    }
    assert parameters["seed"]["defaultValue"] == defaults.seed
    assert parameters["tuning_shards"]["defaultValue"] == defaults.tuning_shards
    assert parameters["gate_thresholds"]["parameterType"] == "STRUCT"
    assert parameters["model_name"]["defaultValue"] == "braking-distance"
    # Credentials are never run parameters: they come from Secrets.
    assert not [name for name in parameters if "token" in name or "secret" in name]


def test_top_level_tasks_and_display_names(compiled):
    spec, _, _ = compiled
    tasks = tasks_of(spec, "")
    names = {task_id: task["taskInfo"]["name"] for task_id, task in tasks.items()}
    assert names == {
        "data-seed": "Data seed",
        "generate-data": "Generate sensor data",
        "split-data": "Split by time",
        "plan-shards": "Plan search shards",
        "for-loop-1": "search-shards",
        "select-best": "Select best trial",
        "train-model": "Train and export ONNX",
        "validate-model": "Quality gate",
        "condition-2": "gate-passed",
    }
    assert tasks["train-model"]["dependentTasks"] == ["select-best", "split-data"]


def test_search_fans_out_over_planned_shards_and_is_collected(compiled):
    spec, _, _ = compiled
    loop = tasks_of(spec, "")["for-loop-1"]
    assert loop["parameterIterator"]["items"]["inputParameter"] == (
        "pipelinechannel--plan-shards-Output"
    )
    assert loop["iteratorPolicy"] == {"parallelismLimit": 3}
    assert list(tasks_of(spec, "comp-for-loop-1")) == ["tune-shard"]
    collected = tasks_of(spec, "")["select-best"]["inputs"]["artifacts"]["trials"]
    assert collected["taskOutputArtifact"]["producerTask"] == "for-loop-1"


def test_register_and_compare_run_only_when_the_gate_passes(compiled):
    spec, _, _ = compiled
    condition = tasks_of(spec, "")["condition-2"]
    assert condition["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--validate-model-Output'] == true"
    )
    assert "validate-model" in condition["dependentTasks"]
    gated = tasks_of(spec, "comp-condition-2")
    assert set(gated) == {"register-model", "compare-models", "condition-3"}
    assert gated["compare-models"]["dependentTasks"] == ["register-model"]
    # What is registered and compared is the model the gate checked.
    for task_id in ("register-model", "compare-models"):
        model = gated[task_id]["inputs"]["artifacts"]["model"]["componentInputArtifact"]
        assert model == "pipelinechannel--validate-model-validated_model"


def test_deploy_runs_only_when_the_comparison_promotes(compiled):
    spec, _, _ = compiled
    promoted = tasks_of(spec, "comp-condition-2")["condition-3"]
    assert promoted["taskInfo"]["name"] == "promoted"
    assert promoted["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--compare-models-Output'] == 'promote'"
    )
    assert "compare-models" in promoted["dependentTasks"]
    deployed = tasks_of(spec, "comp-condition-3")
    assert set(deployed) == {"deploy-model", "smoke-test"}
    assert deployed["smoke-test"]["dependentTasks"] == ["deploy-model"]
    model = deployed["deploy-model"]["inputs"]["artifacts"]["model"]["componentInputArtifact"]
    assert model == "pipelinechannel--validate-model-validated_model"


def test_the_data_seed_can_come_from_the_run_time(compiled):
    spec, _, _ = compiled
    assert spec["root"]["inputDefinitions"]["parameters"]["fresh_data"]["defaultValue"] is False
    seed_task = tasks_of(spec, "")["data-seed"]
    parameters = seed_task["inputs"]["parameters"]
    assert parameters["scheduled_time"]["runtimeValue"]["constant"] == (
        "{{$.pipeline_job_schedule_time_utc}}"
    )
    assert parameters["created_time"]["runtimeValue"]["constant"] == (
        "{{$.pipeline_job_create_time_utc}}"
    )
    assert parameters["fresh_data"]["componentInputParameter"] == "fresh_data"
    assert seed_task["cachingOptions"] == {}  # the run time changes: never reuse an old seed
    # The data step sees only the resolved seed, so a fixed-seed run still hits its cache...
    data = tasks_of(spec, "")["generate-data"]["inputs"]["parameters"]
    assert data["seed"]["taskOutputParameter"] == {
        "outputParameterKey": "Output",
        "producerTask": "data-seed",
    }
    assert not {"scheduled_time", "created_time"} & set(data)
    # ...and the compare step generates its window from the seed the data step used.
    compared = tasks_of(spec, "comp-condition-2")["compare-models"]["inputs"]["parameters"]
    assert compared["data_seed"]["componentInputParameter"] == "pipelinechannel--data-seed-Output"


def test_service_steps_retry_and_never_hit_the_cache(compiled):
    spec, _, _ = compiled
    services = tasks_of(spec, "comp-condition-2") | tasks_of(spec, "comp-condition-3")
    for task_id, task in services.items():
        if task_id.startswith("condition-"):
            continue
        assert task["retryPolicy"]["maxRetryCount"] == 3, task_id
        assert task["cachingOptions"] == {}, task_id
    for task_id in ("generate-data", "split-data", "train-model", "validate-model"):
        assert tasks_of(spec, "")[task_id]["cachingOptions"] == {"enableCache": True}


def test_training_steps_have_requests_and_limits(compiled):
    spec, _, _ = compiled
    executors = spec["deploymentSpec"]["executors"]
    for executor in ("exec-tune-shard", "exec-train-model"):
        resources = executors[executor]["container"]["resources"]
        assert resources["resourceCpuRequest"] == "1"
        assert resources["resourceCpuLimit"] == "2"
        assert resources["resourceMemoryRequest"] == "2Gi"
        assert resources["resourceMemoryLimit"] == "4Gi"
    assert "resources" not in executors["exec-generate-data"]["container"]


def test_every_step_runs_the_configured_image_without_installing_kfp(compiled):
    spec, _, _ = compiled
    for name, executor in spec["deploymentSpec"]["executors"].items():
        container = executor["container"]
        assert container["image"] == IMAGE, name
        assert "pip install" not in " ".join(container["command"]), name


def test_secrets_are_attached_to_the_service_steps_only(compiled):
    _, executors, _ = compiled
    assert set(executors) == {"exec-register-model", "exec-compare-models"}
    secrets = {
        name: {entry["secretName"]: entry["keyToEnv"] for entry in executor["secretAsEnv"]}
        for name, executor in executors.items()
    }
    # The register step uploads the model, the compare step downloads the champion and reads
    # the inference log: the whole data connection, under its own keys.
    assert (
        secrets["exec-register-model"]
        == secrets["exec-compare-models"]
        == {
            "model-registry-token": [{"envVar": REGISTRY_TOKEN_ENV, "secretKey": "token"}],
            "model-storage": [{"envVar": key, "secretKey": key} for key in S3_CONNECTION_KEYS],
        }
    )
    # The deploy step passes on the location the registry recorded: KServe reads the
    # connection itself.
    # Without a token Secret the registry client falls back to the service-account token;
    # a missing data connection, on the other hand, must stop the pod from starting.
    optional = {
        entry["secretName"]: entry.get("optional", False)
        for executor in executors.values()
        for entry in executor["secretAsEnv"]
    }
    assert optional == {"model-registry-token": True, "model-storage": False}


def test_service_env_reaches_the_service_steps(tmp_path):
    config = PipelineConfig(service_env={"BRAKING_REGISTRATION_IS_SECURE": "true"})
    spec, _ = yaml.safe_load_all(compile_pipeline(config, tmp_path / "p.yaml").read_text())
    executors = spec["deploymentSpec"]["executors"]
    for name in (
        "exec-register-model",
        "exec-compare-models",
        "exec-deploy-model",
        "exec-smoke-test",
    ):
        env = {e["name"]: e["value"] for e in executors[name]["container"]["env"]}
        assert env["BRAKING_REGISTRATION_IS_SECURE"] == "true", name
    assert "env" not in executors["exec-train-model"]["container"]


def test_secret_names_come_from_config(tmp_path):
    config = PipelineConfig(s3_connection_secret="my-bucket", registry_token_secret="mr-token")
    path = compile_pipeline(config, tmp_path / "p.yaml")
    text = path.read_text()
    assert "my-bucket" in text and "mr-token" in text
    assert "model-storage" not in text
