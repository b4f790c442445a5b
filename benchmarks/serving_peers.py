"""The servers compared by bench_serving.py: ours and the peers a KServe user would run.

Each peer lives in its own virtualenv under .cache/bench-venvs/ (created from PyPI on first
use): MLServer's pins clash with kserve's, and MLServer needs uvloop<0.22.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import side_venvs

ROOT = Path(__file__).resolve().parents[1]
VENVS = side_venvs.CACHE / "bench-venvs"
KSERVE_SCRIPT = Path(__file__).resolve().parent / "peers" / "kserve_onnx_server.py"
VARIANT_SCRIPT = Path(__file__).resolve().parent / "peers" / "braking_protocol_variant.py"

PEER_REQUIREMENTS = {
    "mlserver": ["mlserver==1.7.1", "mlserver-sklearn==1.7.1", "uvloop<0.22"],
    "kserve": ["kserve==0.21.0", "onnxruntime", "numpy"],
}


@dataclass
class ServerSpec:
    """How to start one server under test and where it answers."""

    label: str
    command: list[str]
    port: int
    model_path: str  # URL path of the model, e.g. /v2/models/braking-distance
    env: dict[str, str] = field(default_factory=dict)
    token: str | None = None
    cwd: Path | None = None
    notes: str = ""


def ensure_venv(peer: str, pinned: list[str]) -> Path:
    """The peer's virtualenv, created and installed on first use; returns its python."""
    # model.joblib pickles braking_model's feature transformer: MLServer needs the project.
    editable = ROOT if peer == "mlserver" else None
    return side_venvs.ensure_venv(VENVS / peer, PEER_REQUIREMENTS[peer] + pinned, editable)


def our_server(model_dir: Path, name: str, port: int, workers: int = 1, **flags) -> ServerSpec:
    """`braking serve`; flags: token_file, metrics=False, env (settings), http (a protocol
    other than the limited httptools of braking_common.http_limits: "httptools" or "h11"), label."""
    command = [sys.executable, "-m", "braking_serving", "--model-dir", str(model_dir)]
    command += ["--name", name, "--port", str(port), "--workers", str(workers)]
    if flags.get("http"):
        command = [sys.executable, str(VARIANT_SCRIPT), "--model-dir", str(model_dir)]
        command += ["--name", name, "--port", str(port), "--http", flags["http"]]
    token = None
    if flags.get("token_file"):
        command += ["--token-file", str(flags["token_file"])]
        token = Path(flags["token_file"]).read_text().strip()
    if flags.get("metrics") is False:
        command.append("--no-metrics")
    label = flags.get("label") or f"braking ({workers} worker{'s' if workers > 1 else ''})"
    env = flags.get("env", {})
    return ServerSpec(label, command, port, f"/v2/models/{name}", env=env, token=token)


def mlserver(model_dir: Path, name: str, port: int, work_dir: Path, ports: list[int]) -> ServerSpec:
    """MLServer + mlserver-sklearn on the same model as joblib, default settings otherwise."""
    import sklearn

    python = ensure_venv("mlserver", [f"scikit-learn=={sklearn.__version__}"])
    model_folder = work_dir / "mlserver" / name
    model_folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(model_dir / "model.joblib", model_folder / "model.joblib")
    settings = {
        "name": name,
        "implementation": "mlserver_sklearn.SKLearnModel",
        "parameters": {"uri": "./model.joblib", "version": "1"},
    }
    (model_folder / "model-settings.json").write_text(json.dumps(settings))
    env = {
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(ports[0]),
        "MLSERVER_METRICS_PORT": str(ports[1]),
        # Settings in the peer's favour: inference in the server process (no IPC hop to a
        # worker pool) and single-threaded OpenMP (sklearn's threads only contend here).
        "MLSERVER_PARALLEL_WORKERS": "0",
        "OMP_NUM_THREADS": "1",
    }
    command = [str(python.with_name("mlserver")), "start", str(model_folder.parent)]
    notes = "parallel_workers=0, OMP_NUM_THREADS=1"
    return ServerSpec(
        "MLServer + mlserver-sklearn", command, port, f"/v2/models/{name}", env=env, notes=notes
    )


def kserve(model_dir: Path, name: str, port: int, grpc_port: int) -> ServerSpec:
    """KServe's Python ModelServer with an onnxruntime Model (as a custom KServe predictor)."""
    python = ensure_venv("kserve", [])
    command = [str(python), str(KSERVE_SCRIPT), "--model_dir", str(model_dir)]
    command += ["--model_name", name, "--http_port", str(port), "--grpc_port", str(grpc_port)]
    # In the peer's favour: no per-request latency log line, no unused gRPC server.
    command += ["--enable_latency_logging", "false", "--enable_grpc", "false"]
    notes = "latency logging off, gRPC off, onnxruntime intra_op_num_threads=1"
    label = "KServe ModelServer (onnxruntime)"
    return ServerSpec(label, command, port, f"/v2/models/{name}", notes=notes)


@contextmanager
def running(spec: ServerSpec, log_dir: Path, timeout: float = 120.0):
    """Start the server, wait until its model is ready, stop it (whole process group) after."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{spec.label.split(' ')[0].lower()}-{spec.port}.log"
    headers = {"Authorization": f"Bearer {spec.token}"} if spec.token else {}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            spec.command,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=spec.cwd,
            env={**os.environ, **spec.env},
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{spec.port}{spec.model_path}/ready"
        while True:
            try:
                if httpx.get(url, headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{spec.label} did not become ready; log tail:\n{tail}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
