"""Every pipeline step through its cluster execution path, without a cluster.

On OpenShift AI each step runs the compiled YAML's container command (`python3 -m
kfp.dsl.executor_main` with the step's embedded source) inside the image the Containerfile
builds. Here a fresh virtualenv is installed by the Containerfile's own RUN line
(image-install.sh, with uv's shared cache instead of pip without one) and each step runs from
its compiled command and args on tiny local artifacts: a dependency or import missing from
the image fails here instead of on the cluster.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from registry_fixtures import start_registry
from serving_fixtures import running_server

from braking_pipelines.config import PipelineConfig
from braking_pipelines.pipeline import compile_pipeline
from braking_serving.config import ServerConfig

from .image_steps import CompiledSteps, ImageBuild

pytestmark = pytest.mark.slow


def _uv() -> Path:
    beside_python = Path(sys.executable).with_name("uv")
    found = beside_python if beside_python.is_file() else shutil.which("uv")
    if not found:
        pytest.skip("uv is needed to build the test image virtualenv (make venv installs it)")
    return Path(found)


@pytest.fixture(scope="module")
def image_venv(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = ImageBuild(repo_root)
    context = build.context(tmp_path_factory.mktemp("build-context"))
    venv = tmp_path_factory.mktemp("image") / "venv"
    build.install(context, venv, _uv())
    return venv


def test_the_image_is_installed_by_the_containerfiles_own_steps(image_venv, repo_root):
    assert ImageBuild(repo_root).install_commands() == ["sh image-install.sh"]
    assert (image_venv / "bin" / "braking").is_file()
    site = next((image_venv / "lib").glob("python3*/site-packages"))
    assert not list(site.glob("__editable__*")), "the image installs the project, not a link"


def test_every_step_runs_from_its_compiled_command(
    image_venv, tmp_path, tiny_search, open_gate, monkeypatch
):
    package = compile_pipeline(PipelineConfig(), tmp_path / "pipeline.yaml")
    steps = CompiledSteps(package, image_venv, tmp_path / "steps")
    times = {"scheduled_time": "2026-12-02T02:00:00Z", "created_time": "2026-12-02T02:00:03Z"}
    seed = steps.run("data-seed", {"seed": 7, "fresh_data": False, **times}, {})
    assert seed["Output"] == 7
    fresh = steps.run("data-seed", {"seed": 7, "fresh_data": True, **times}, {}, run_name="fresh")
    assert fresh["Output"] == 796_176_800  # 2026-12-02T02:00:00Z in seconds, mod 1e9
    data = steps.run("generate-data", {"rows": 1500, "seed": seed["Output"]}, {})
    assert data["dataset"]["metadata"]["rows"] == 1500
    split = steps.run("split-data", {"test_fraction": 0.25}, {"dataset": [data["dataset"]]})
    plan = steps.run("plan-shards", {"shard_count": 2}, {})
    assert plan["Output"] == [0, 1]
    search = {"shard_count": 2, "search_iterations": 2, "cv_folds": 2, "seed": 7}
    shards = [
        steps.run(
            "tune-shard",
            {"shard_index": index, **search},
            {"train": [split["train"]]},
            run_name=f"tune-shard-{index}",
        )["trials"]
        for index in plan["Output"]
    ]
    best = steps.run("select-best", {"gate_thresholds": open_gate}, {"trials": shards})
    assert best["metrics"]["metadata"]["trials"] == 2
    _select_as_older_backends_do(tmp_path, image_venv, shards[0], open_gate)
    trained = steps.run(
        "train-model",
        {"seed": 7},
        {
            "train": [split["train"]],
            "test": [split["test"]],
            "best_trial": [best["best_trial"]],
            "all_trials": [best["all_trials"]],
        },
    )
    gate = steps.run(
        "validate-model",
        {"gate_thresholds": open_gate},
        {"model": [trained["model"]], "test": [split["test"]]},
    )
    assert gate["Output"] is True
    repository = tmp_path / "models"
    registry = start_registry(tmp_path / "registry.db")
    with running_server(ServerConfig(model_repository=repository)) as server_url:
        # the deploy step reaches this server through its own settings, as on a laptop
        monkeypatch.setenv("BRAKING_DEPLOY_LOCAL_SERVER_URL", server_url)
        monkeypatch.setenv("BRAKING_DEPLOY_LOCAL_REPOSITORY", str(repository))
        try:
            _release(steps, gate["validated_model"], registry.port)
        finally:
            registry.stop()


def _select_as_older_backends_do(tmp_path, venv, trials: dict, gate_thresholds) -> None:
    """The kfp_backend=2.0 compile's own selection step, on one search task's trials."""
    package = compile_pipeline(PipelineConfig(kfp_backend="2.0"), tmp_path / "older.yaml")
    steps = CompiledSteps(package, venv, tmp_path / "older-steps")
    best = steps.run(
        "select-best-of-one", {"gate_thresholds": gate_thresholds}, {"trials": [trials]}
    )
    assert best["metrics"]["metadata"]["trials"] == 1


def _release(steps: CompiledSteps, model: dict, registry_port: int) -> None:
    """Register, deploy and smoke-test `model` through the steps' compiled commands."""
    registry_url = f"http://127.0.0.1:{registry_port}"
    registered = steps.run(
        "register-model",
        {"model_name": "braking-distance", "registry_url": registry_url, "run_id": "image-test"},
        {"model": [model]},
    )
    assert registered["registered"]["metadata"]["model_version_id"]
    window = {"data_seed": 7, "scenario": {}, "inference_log": "", "evaluation_rows": 300}
    compared = steps.run(
        "compare-models",
        {"model_name": "braking-distance", "registry_url": registry_url, **window},
        {"model": [model], "registered": [registered["registered"]]},
    )
    assert compared["Output"] == "promote"  # no champion yet
    assert compared["evidence"]["metadata"]["window"] == "generated"
    deployed = steps.run(
        "deploy-model",
        {"model_name": "braking-distance", "deploy_target": "local", "registry_url": registry_url},
        {"model": [model], "registered": [registered["registered"]]},
    )
    assert deployed["Output"].endswith("/v2/models/braking-distance")
    scenario = {"distance_m": 30.0, "lead_kmh": 50.0, "own_kmh": 80.0, "friction": 0.85}
    smoke = steps.run("smoke-test", {"endpoint_url": deployed["Output"], **scenario}, {})
    assert 0.0 <= smoke["Output"] <= 1.0
