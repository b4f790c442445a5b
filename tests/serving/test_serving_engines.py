"""`braking serve --engine openvino`: the graph runs on OpenVINO as OVMS runs it, and answers
like onnxruntime; graphs OpenVINO cannot load are refused with the engine's reason."""

from __future__ import annotations

from pathlib import Path

import httpx
import numpy as np
import pytest
from serving_fixtures import MODEL_NAME, random_features, running_server
from typer.testing import CliRunner

from braking_cli.main import app
from braking_data.contract import EXPECTED_ERROR_TENSOR, INPUT_TENSOR, OUTPUT_TENSOR
from braking_model.model_dir import ONNX_FILE
from braking_serving.config import ServerConfig
from braking_serving.engines import ENGINES, open_session
from braking_serving.repository import ModelLoadError, load_onnx_model

TOLERANCE = 1e-5


def _infer(url: str, rows: np.ndarray) -> np.ndarray:
    body = {
        "inputs": [
            {
                "name": INPUT_TENSOR,
                "shape": list(rows.shape),
                "datatype": "FP32",
                "data": rows.ravel().tolist(),
            }
        ]
    }
    response = httpx.post(f"{url}/v2/models/{MODEL_NAME}/infer", json=body, timeout=30)
    assert response.status_code == 200, response.text
    outputs = response.json()["outputs"]  # every output of the graph: none was named
    assert [output["name"] for output in outputs] == [OUTPUT_TENSOR, EXPECTED_ERROR_TENSOR]
    return [np.asarray(output["data"], dtype=np.float32) for output in outputs]


def test_openvino_server_answers_like_onnxruntime(trained_model_dir, reference_session) -> None:
    rows = random_features(2_000, seed=5)
    expected = [out.reshape(-1) for out in reference_session.run(None, {INPUT_TENSOR: rows})]
    config = ServerConfig(models={MODEL_NAME: trained_model_dir}, engine="openvino")
    with running_server(config) as url:
        metadata = httpx.get(f"{url}/v2/models/{MODEL_NAME}").json()
        answers = _infer(url, rows)
        one = _infer(url, rows[:1])
    assert metadata["platform"] == "OpenVINO"
    assert metadata["inputs"][0]["name"] == INPUT_TENSOR
    for answer, single, reference in zip(answers, one, expected, strict=True):
        assert np.max(np.abs(answer - reference)) <= TOLERANCE
        assert np.max(np.abs(single - reference[:1])) <= TOLERANCE


@pytest.mark.parametrize("engine", ENGINES)
def test_both_engines_run_large_batches_in_chunks_of_max_rows(trained_model_dir, engine) -> None:
    rows = random_features(1_000, seed=6)
    whole = open_session(trained_model_dir / ONNX_FILE, engine, max_rows=4_096)
    chunked = open_session(trained_model_dir / ONNX_FILE, engine, max_rows=128)
    expected, _ = whole.run(None, {INPUT_TENSOR: rows})  # the brake and its expected error
    (answers,) = chunked.run([OUTPUT_TENSOR], {INPUT_TENSOR: rows})
    assert answers.shape == (1_000, 1)
    np.testing.assert_array_equal(answers, expected)


def test_openvino_refuses_a_graph_with_ai_onnx_ml_operators(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rows = random_features(50)
    fitted = make_pipeline(StandardScaler(), LinearRegression()).fit(rows, rows[:, 5])
    graph = to_onnx(fitted, rows[:1], target_opset={"": 17, "ai.onnx.ml": 3})
    (tmp_path / ONNX_FILE).write_bytes(graph.SerializeToString())
    with pytest.raises(ModelLoadError, match=r"openvino cannot load .*ai\.onnx\.ml"):
        load_onnx_model(tmp_path, "ml-domain", engine="openvino")


def test_serve_rejects_an_unknown_engine_in_one_line(tmp_path: Path) -> None:
    arguments = ["serve", "--model-dir", str(tmp_path), "--engine", "tensorrt"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code != 0
    message = " ".join(result.output.replace("│", " ").split())  # rich wraps it in a box
    assert "'tensorrt' is not an engine; expected one of onnxruntime, openvino" in message
