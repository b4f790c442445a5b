"""Client of a served braking model: the local server or a KServe InferenceService alike.

client = InferenceClient("http://127.0.0.1:8081/v2/models/braking-distance")
client.predict([[120, 200, 440, 380, 40, 80, 0.8]])  # -> array([0.73], dtype=float32)
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import numpy as np

from braking_data.contract import FEATURE_COLUMNS, INPUT_TENSOR, MAX_ROWS_PER_CALL, OUTPUT_TENSOR

_MODEL_URL = re.compile(r"^(?P<base>.*?)/v2/models/(?P<name>[^/]+)/?$")


class InferenceError(RuntimeError):
    """The server refused or failed a request; `status` and the server's error message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def split_model_url(url: str, model: str | None = None) -> tuple[str, str]:
    """(server base URL, model name) from a model URL `.../v2/models/<name>` or a base URL."""
    match = _MODEL_URL.match(url.rstrip("/"))
    if match:
        return match["base"], model or match["name"]
    if model is None:
        raise ValueError(
            f"URL {url!r} does not name a model: pass .../v2/models/<name> or give the model name"
        )
    return url.rstrip("/"), model


class InferenceClient:
    """Open Inference Protocol client for one model (keep-alive connection pool)."""

    def __init__(
        self,
        url: str,
        token: str | None = None,
        ca_bundle: str | Path | None = None,
        *,
        model: str | None = None,
        timeout: float = 10.0,
        max_rows_per_call: int = MAX_ROWS_PER_CALL,
    ) -> None:
        self.base_url, self.model = split_model_url(url, model)
        # the server refuses larger requests (413): `predict` sends big batches in parts
        self.max_rows_per_call = max_rows_per_call
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify: bool | str = str(ca_bundle) if ca_bundle else True
        self._http = httpx.Client(
            base_url=self.base_url, headers=headers, verify=verify, timeout=timeout
        )

    @property
    def model_url(self) -> str:
        """The model's URL, `.../v2/models/<name>`."""
        return f"{self.base_url}/v2/models/{self.model}"

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._http.close()

    def __enter__(self) -> InferenceClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs) -> httpx.Response:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text or response.reason_phrase
            raise InferenceError(response.status_code, message)
        return response

    def server_live(self) -> bool:
        """True when the server answers its liveness endpoint."""
        return self._http.get("/v2/health/live").status_code == 200

    def model_ready(self) -> bool:
        """True when the model answers /ready with 200 (any error or 4xx means not ready)."""
        try:
            return self._http.get(f"/v2/models/{self.model}/ready").status_code == 200
        except httpx.HTTPError:
            return False

    def metadata(self) -> dict:
        """The model's metadata: name, versions, platform, input and output tensors."""
        return self._request("GET", f"/v2/models/{self.model}").json()

    def infer(self, inputs: list[dict], outputs: list[str] | None = None, **fields) -> dict:
        """A raw OIP inference call: `inputs` as OIP tensors; returns the response object."""
        body = {"inputs": inputs, **fields}
        if outputs is not None:
            body["outputs"] = [{"name": name} for name in outputs]
        return self._request("POST", f"/v2/models/{self.model}/infer", json=body).json()

    def predict(self, features) -> np.ndarray:
        """Brake amounts (0..1, float32) for rows of the features in contract order.

        `features` is one row of 7 numbers or an (N, 7) array-like; the answer has N values.
        Batches above `max_rows_per_call` rows go as several requests.
        """
        rows = np.asarray(features, dtype=np.float32)
        if rows.ndim == 1:
            rows = rows.reshape(1, -1)
        if rows.ndim != 2 or rows.shape[1] != len(FEATURE_COLUMNS):
            raise ValueError(
                f"features must have {len(FEATURE_COLUMNS)} columns {list(FEATURE_COLUMNS)}, "
                f"got shape {list(rows.shape)}"
            )
        step = self.max_rows_per_call
        parts = [
            self._predict_rows(rows[start : start + step]) for start in range(0, len(rows), step)
        ]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def _predict_rows(self, rows: np.ndarray) -> np.ndarray:
        tensor = {
            "name": INPUT_TENSOR,
            "shape": list(rows.shape),
            "datatype": "FP32",
            "data": rows.ravel().tolist(),
        }
        response = self.infer([tensor], outputs=[OUTPUT_TENSOR])
        output = next(out for out in response["outputs"] if out["name"] == OUTPUT_TENSOR)
        return np.asarray(output["data"], dtype=np.float32).reshape(rows.shape[0])
