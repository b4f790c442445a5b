"""Every notebook, executed headless top to bottom on small data, checked by what it produced."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from braking_model.model_dir import GATE_FILE, JOBLIB_FILE, METRICS_FILE, ONNX_FILE, TRIALS_FILE

pytestmark = [
    pytest.mark.slow,
    # the open embedded registry needs no token; the client warns about it anyway
    pytest.mark.filterwarnings("ignore:User access token is missing:UserWarning"),
]

# One small gradient-boosting candidate: the notebooks' flow is under test, not the search.
TINY_SEARCH_SPACE = """
hist_gradient_boosting:
  learning_rate: 0.2
  max_iter: 40
  max_leaf_nodes: 15
  min_samples_leaf: 20
  l2_regularization: 0.001
"""


@pytest.fixture(scope="module")
def tiny_search_space(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("search") / "search_space.yaml"
    path.write_text(TINY_SEARCH_SPACE, encoding="utf-8")
    return path


def outputs_of(notebook: nbformat.NotebookNode, mime: str) -> list[Any]:
    """Every output carrying `mime` (image/png, text/plain...) or, for "stream", printed text."""
    found = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                if mime == "stream":
                    found.append(output["text"])
            elif mime in output.get("data", {}):
                found.append(output["data"][mime])
    return found


def test_data_generation_notebook_writes_a_valid_data_set(run_notebook, tmp_path: Path) -> None:
    from braking_data.generate import write_dataset
    from braking_data.schema import read_dataset

    output = tmp_path / "data" / "train.parquet"
    notebook = run_notebook(
        "01-data-generation.ipynb",
        {"rows": 3_000, "seed": 5, "output_path": str(output), "preview_rows": 2_000},
    )
    data = read_dataset(output)
    assert len(data) == 3_000
    # the notebook's file is the library's file for the same seed and size
    reference = write_dataset(tmp_path / "reference.parquet", rows=3_000, seed=5)
    assert output.read_bytes() == reference.path.read_bytes()
    assert len(outputs_of(notebook, "image/png")) == 2
    assert any(reference.sha256 in text for text in outputs_of(notebook, "stream"))


def test_initial_development_notebook_trains_exports_and_gates(
    run_notebook, tiny_search_space: Path, tmp_path: Path
) -> None:
    from braking_data.generate import write_dataset

    data = write_dataset(tmp_path / "data.parquet", rows=3_000, seed=3).path
    work = tmp_path / "dev"
    notebook = run_notebook(
        "02-initial-development.ipynb",
        {
            "data_path": str(data),
            "work_dir": str(work),
            "n_iter": 1,
            "cv": 2,
            "tune_max_rows": 2_000,
            "search_space": str(tiny_search_space),
            "n_jobs": 1,
        },
    )
    model_dir = work / "model"
    for name in (ONNX_FILE, JOBLIB_FILE, METRICS_FILE, TRIALS_FILE, GATE_FILE):
        assert (model_dir / name).is_file(), f"the notebook did not write {name}"
    parity = next(t for t in outputs_of(notebook, "stream") if "max |onnx - sklearn|" in t)
    assert float(parity.split("=")[1]) <= 1e-3
    assert len(outputs_of(notebook, "image/png")) >= 3  # predicted vs true, residuals, trials


def lenient_gate() -> dict[str, float]:
    """Thresholds every model meets: the pipeline test checks the flow, not model quality."""
    from braking_model.gate import GateThresholds

    return {
        name: -100.0 if name.startswith("min_") else 100.0 for name in GateThresholds.model_fields
    }


def test_pipeline_notebook_runs_locally_registers_and_deploys(
    run_notebook, embedded_stack, tiny_search_space: Path, tmp_path: Path
) -> None:
    from model_registry import ModelRegistry

    from braking_serving.client import InferenceClient

    package = tmp_path / "pipeline.yaml"
    run_notebook(
        "03-pipeline.ipynb",
        {
            "dspa_host": "",
            "data_rows": 1_000,
            "tuning_shards": 1,
            "search_iterations": 2,
            "cv_folds": 2,
            "gate_thresholds": lenient_gate(),
            "package_path": str(package),
            "local_root": str(tmp_path / "pipeline-root"),
        },
        env={  # the kfp.local steps inherit the kernel's environment
            **embedded_stack.env,
            "BRAKING_TRAIN_SEARCH_SPACE": str(tiny_search_space),
            "BRAKING_TRAIN_N_JOBS": "1",
        },
        timeout=600,
    )
    assert "pipelineInfo" in package.read_text()
    registry = ModelRegistry(
        f"http://{embedded_stack.config.host}",
        embedded_stack.config.registry_port,
        author="test",
        is_secure=False,
    )
    versions = list(registry.get_model_versions("braking-distance"))
    assert len(versions) == 1
    artifact = registry.get_model_artifact("braking-distance", versions[0].name)
    assert artifact.model_format_name == "onnx"
    with InferenceClient(embedded_stack.env["BRAKING_PREDICT_URL"]) as client:
        assert client.model_ready()
        (amount,) = client.predict([294.0, 302.0, 338.0, 324.0, 50.0, 90.0, 0.5])
        assert 0.0 <= amount <= 1.0


def test_register_model_notebook_registers_lists_and_reads_back(
    run_notebook, embedded_stack, trained_model_dir: Path, tmp_path: Path
) -> None:
    import shutil

    from model_folders import pass_gate
    from model_registry import ModelRegistry

    from braking_release.register import HASH_PROPERTY, model_sha256

    # Registration takes validated models only: a copy of the trained model with a verdict.
    model_dir = pass_gate(shutil.copytree(trained_model_dir, tmp_path / "model"))

    notebook = run_notebook(
        "04-register-model.ipynb",
        {
            "registry_url": embedded_stack.registry_url,
            "model_name": "braking-notebook-04",
            "model_dir": str(model_dir),
        },
        env=embedded_stack.env,
    )
    registry = ModelRegistry(
        f"http://{embedded_stack.config.host}",
        embedded_stack.config.registry_port,
        author="test",
        is_secure=False,
    )
    sha256 = model_sha256(model_dir)
    version_name = f"notebook-{sha256[:8]}"
    version = registry.get_model_version("braking-notebook-04", version_name)
    assert version is not None, f"the notebook did not register {version_name}"
    assert version.custom_properties[HASH_PROPERTY] == sha256
    artifact = registry.get_model_artifact("braking-notebook-04", version_name)
    assert artifact.uri == model_dir.resolve().as_uri()
    assert (artifact.model_format_name, artifact.model_format_version) == ("onnx", "1")
    # the library's idempotent registration found the hand-registered version
    assert [v.name for v in registry.get_model_versions("braking-notebook-04")] == [version_name]
    assert any("created: False" in text for text in outputs_of(notebook, "stream"))
    # the registry's report: every version with its verdict, serving and lineage
    report = "".join(outputs_of(notebook, "stream"))
    assert "braking-notebook-04: 1 version(s)" in report
    assert f"version {version_name} (id {version.id}, LIVE)" in report
    assert "serves: nowhere" in report and "dataset sha256 " in report


def _answered_inferences(serving_url: str, model: str) -> float:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    text = httpx.get(f"{serving_url}/metrics", timeout=10).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "braking_serving_requests_total"
        and sample.labels.get("model") == model
        and sample.labels.get("endpoint") == "infer"
        and sample.labels.get("code") == "200"
    )


def test_endpoint_notebook_answers_scenarios_a_batch_and_measures_latency(
    run_notebook, embedded_stack, trained_model_dir: Path
) -> None:
    from braking_release.config import DeployConfig, LocalServingTarget
    from braking_release.deploy import deploy_model

    local = LocalServingTarget(
        server_url=embedded_stack.serving_url, repository=embedded_stack.config.model_repository
    )
    deployment = deploy_model(
        trained_model_dir,
        DeployConfig(target="local", name="braking-endpoint-test", local=local),
    )
    before = _answered_inferences(embedded_stack.serving_url, deployment.name)
    notebook = run_notebook(
        "05-endpoint.ipynb",
        {"endpoint_url": deployment.url, "batch_rows": 500, "latency_requests": 40},
        env=embedded_stack.env,
    )
    answered = _answered_inferences(embedded_stack.serving_url, deployment.name) - before
    # one raw request, the scenarios, the batch, then 40 single-row and 10 batched (+ warm-up)
    assert answered >= 3 + 40 + 10
    tables = " ".join(str(text) for text in outputs_of(notebook, "text/plain"))
    assert "brake hard" in tables  # a car braking hard 40 m ahead on a wet road
    assert any("500 rows in one request" in text for text in outputs_of(notebook, "stream"))
    assert len(outputs_of(notebook, "image/png")) == 1  # the latency plot


def test_monitoring_notebook_flags_the_shifts_raises_the_alarm_and_keeps_the_champion(
    run_notebook, trained_model_dir: Path
) -> None:
    notebook = run_notebook(
        "06-monitoring.ipynb", {"model_dir": str(trained_model_dir), "window_rows": 400}
    )
    printed = "".join(outputs_of(notebook, "stream"))
    assert "window 2: drifted=False  alarm=ok" in printed
    assert "window 4: drifted=True  alarm=ALARM" in printed
    assert "KEEP champion" in printed  # the physics estimate does not beat a trained model
    tables = " ".join(str(text) for text in outputs_of(notebook, "text/plain"))
    assert "stuck friction sensor" in tables and "road_friction" in tables
    assert len(outputs_of(notebook, "image/png")) == 2  # PSI per window, reference vs served
