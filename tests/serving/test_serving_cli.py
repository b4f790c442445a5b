"""`braking serve` in a real process (one and two workers) and `braking predict` against it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from serving_fixtures import MODEL_NAME, random_features
from typer.testing import CliRunner

from braking_cli.main import app
from braking_data.contract import INPUT_TENSOR, OUTPUT_TENSOR
from braking_serving.runner import bind_socket


@contextlib.contextmanager
def serve_process(*args: str) -> Iterator[tuple[str, subprocess.Popen]]:
    command = [sys.executable, "-m", "braking_serving", "--port", "0", *args]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stderr.readline()
        match = re.search(r"serving on (http://\S+)", line)
        assert match, f"unexpected first line {line!r}"
        url = match[1]
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/v2/health/ready").status_code == 200:
                    break
            assert time.monotonic() < deadline, "server did not become ready"
            time.sleep(0.05)
        yield url, process
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)


def test_serve_and_predict_print_the_brake_decision(serving_model_dir, reference_session):
    features = random_features(1, seed=11)[0]
    expected = float(
        reference_session.run([OUTPUT_TENSOR], {INPUT_TENSOR: features[None]})[0][0, 0]
    )
    with serve_process("--model-dir", str(serving_model_dir), "--name", MODEL_NAME) as (url, _):
        runner = CliRunner()
        arguments = ["predict", "--url", f"{url}/v2/models/{MODEL_NAME}", "--features"]
        arguments += [str(value) for value in features.tolist()]
        below = runner.invoke(app, [*arguments, "--threshold", str(expected + 0.01)])
        above = runner.invoke(app, [*arguments, "--threshold", str(expected - 0.01)])
    assert below.exit_code == 0, below.output
    assert f"brake amount: {expected:.3f}" in below.output
    assert "no hard braking" in below.output
    assert "-> brake hard" in above.output


def test_predict_reports_server_errors_clearly(server_url):
    result = CliRunner().invoke(
        app, ["predict", "--url", f"{server_url}/v2/models/unknown", "--features", *["1"] * 7]
    )
    assert result.exit_code == 1
    assert "HTTP 404" in result.output and "'unknown'" in result.output


def test_serve_refuses_a_taken_port(serving_model_dir):
    taken = bind_socket("127.0.0.1", 0)
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "braking_cli.main",
                "serve",
                "--model-dir",
                str(serving_model_dir),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        taken.close()
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


@pytest.mark.slow
def test_two_workers_serve_and_pool_their_metrics(serving_model_dir, reference_session):
    features = random_features(4, seed=5)
    expected = reference_session.run([OUTPUT_TENSOR], {INPUT_TENSOR: features})[0].ravel()
    body = {
        "inputs": [
            {
                "name": INPUT_TENSOR,
                "shape": [4, 7],
                "datatype": "FP32",
                "data": features.ravel().tolist(),
            }
        ]
    }
    args = ("--model-dir", str(serving_model_dir), "--name", MODEL_NAME, "--workers", "2")
    with serve_process(*args) as (url, process):
        workers = [pid for pid in _children(process.pid) if os.path.exists(f"/proc/{pid}")]
        assert len(workers) >= 2, workers  # (+ multiprocessing's resource tracker)
        for _ in range(40):  # fresh connections, so both workers get some
            answer = httpx.post(f"{url}/v2/models/{MODEL_NAME}/infer", json=body).json()
            np.testing.assert_array_equal(np.float32(answer["outputs"][0]["data"]), expected)
        metrics = httpx.get(f"{url}/metrics").text
    series = f'braking_serving_requests_total{{code="200",endpoint="infer",model="{MODEL_NAME}"}}'
    count = re.search(rf"{re.escape(series)} (\S+)", metrics)
    assert count and float(count[1]) == 40


def test_predict_defaults_to_the_embedded_stacks_server(server_url):
    port = server_url.rsplit(":", 1)[1]
    result = CliRunner().invoke(
        app,
        ["predict", "--features", *["100"] * 6, "0.8"],
        env={"BRAKING_STACK_SERVING_PORT": port, "BRAKING_PREDICT_URL": None},
    )
    assert result.exit_code == 0, result.output
    assert "brake amount:" in result.output


@pytest.mark.parametrize("content", [b"", b"\x08\x07\x12\x04trun"], ids=["empty", "truncated"])
def test_serve_a_broken_model_file_is_one_clear_line(tmp_path, content):
    (tmp_path / "model.onnx").write_bytes(content)
    result = CliRunner().invoke(app, ["serve", "--model-dir", str(tmp_path), "--port", "0"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot load" in lines[0] and "model.onnx" in lines[0], lines
    assert result.exception is None or isinstance(result.exception, SystemExit)
