"""Peer for bench_serving.py: KServe's Python ModelServer serving the ONNX model.

A custom KServe predictor the way KServe documents them (a `kserve.Model` with load() and
predict() on the V2 InferRequest), run in its own virtualenv. Started by the benchmark as

    python kserve_onnx_server.py --model_dir DIR --model_name NAME --http_port P --grpc_port G
"""

from __future__ import annotations

import argparse

import kserve
import numpy as np
import onnxruntime
from kserve import InferOutput, InferRequest, InferResponse, Model, ModelServer
from kserve.protocol.rest import server as rest_server
from kserve.utils.utils import generate_uuid


class OnnxModel(Model):
    def __init__(self, name: str, model_dir: str) -> None:
        super().__init__(name)
        self.model_dir = model_dir
        self.load()

    def load(self) -> bool:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1  # same as the braking server: fair per-request cost
        self.session = onnxruntime.InferenceSession(f"{self.model_dir}/model.onnx", options)
        self.input_name = self.session.get_inputs()[0].name
        self.ready = True
        return self.ready

    def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        features = payload.inputs[0].as_numpy().astype(np.float32, copy=False)
        result = self.session.run(["brake_amount"], {self.input_name: features})[0]
        output = InferOutput(name="brake_amount", shape=list(result.shape), datatype="FP32")
        output.set_data_from_numpy(result, binary_data=False)
        response_id = payload.id or generate_uuid()  # as KServe's own sklearnserver does
        return InferResponse(response_id=response_id, model_name=self.name, infer_outputs=[output])


def _bind_loopback() -> None:
    """ModelServer hard-codes 0.0.0.0; benchmarks only listen on loopback."""
    base = rest_server.uvicorn.Config

    class LoopbackConfig(base):
        def __init__(self, *args, **kwargs) -> None:
            kwargs["host"] = "127.0.0.1"
            super().__init__(*args, **kwargs)

    rest_server.uvicorn.Config = LoopbackConfig


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_dir", required=True)
    args, _ = parser.parse_known_args()
    _bind_loopback()
    ModelServer().start([OnnxModel(args.model_name, args.model_dir)])
