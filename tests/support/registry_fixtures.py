"""Fixtures for the registry tests: a real embedded server on a free loopback port."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from braking_model.model_dir import GATE_FILE, METRICS_FILE, ONNX_FILE
from braking_registry.server import create_app
from braking_registry.spec import API_PREFIX


@dataclass
class RunningRegistry:
    """An embedded registry served by uvicorn in a background thread."""

    port: int
    db: Path
    token: str | None
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + API_PREFIX

    def http(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=30)

    def client(self):
        """The official `model-registry` client pointed at this server."""
        from model_registry import ModelRegistry

        with warnings.catch_warnings():  # "User access token is missing" on an open server
            warnings.simplefilter("ignore", UserWarning)
            return ModelRegistry(
                "http://127.0.0.1",
                self.port,
                author="tests",
                is_secure=False,
                user_token=self.token,
            )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def start_registry(
    db: Path, token: str | None = None, tls: tuple[Path, Path] | None = None
) -> RunningRegistry:
    """Serve `db` on 127.0.0.1, port chosen by the OS; returns once it accepts requests.

    `tls` = (certificate, key) serves HTTPS.
    """
    certificate, key = tls or (None, None)
    config = uvicorn.Config(
        create_app(db, token=token),
        host="127.0.0.1",
        port=0,
        log_level="warning",
        lifespan="on",
        ssl_certfile=certificate,
        ssl_keyfile=key,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="registry-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the embedded registry did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return RunningRegistry(port, db, token, server, thread)


@pytest.fixture
def registry_factory(tmp_path: Path) -> Iterator[Callable[..., RunningRegistry]]:
    """Start registries on demand (e.g. twice on one db to test restarts); all stop at teardown."""
    started: list[RunningRegistry] = []

    def factory(
        db: Path | None = None, token: str | None = None, tls: tuple[Path, Path] | None = None
    ) -> RunningRegistry:
        registry = start_registry(db or tmp_path / "registry.db", token, tls)
        started.append(registry)
        return registry

    yield factory
    for registry in started:
        registry.stop()


@pytest.fixture
def registry(registry_factory) -> RunningRegistry:
    """An open (no token) registry on a fresh database."""
    return registry_factory()


@pytest.fixture(autouse=True)
def _quiet_client_warnings(caplog):
    # The official client warns that a random test port "is not 80"; irrelevant here.
    logging.getLogger("model-registry").setLevel(logging.ERROR)


def write_onnx_model(model_dir: Path, seed: int) -> Path:
    """A tiny real ONNX regressor on 7 features (input `sensor_features`) plus metrics.json."""
    import numpy as np
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.linear_model import LinearRegression

    rng = np.random.default_rng(seed)
    features = rng.random((32, 7), dtype=np.float32)
    target = features @ rng.random(7, dtype=np.float32)
    estimator = LinearRegression().fit(features, target)
    inputs = [("sensor_features", FloatTensorType([None, 7]))]
    onnx_model = convert_sklearn(estimator, initial_types=inputs, target_opset=17)
    onnx_model.graph.name = f"braking-{seed}"  # skl2onnx picks a random uuid: not reproducible
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / ONNX_FILE).write_bytes(onnx_model.SerializeToString())
    metrics = {
        "test": {"mae": 0.01 * seed, "r2": 0.99},
        "cv_score": 0.98,
        "n_train": 32,
        "params": {"family": "linear", "fit_intercept": True},
        "dataset_sha256": f"{seed:064x}",
    }
    (model_dir / METRICS_FILE).write_text(json.dumps(metrics))
    (model_dir / GATE_FILE).write_text(json.dumps({"passed": True, "reasons": []}))
    return model_dir


@pytest.fixture(scope="session")
def _model_dirs(tmp_path_factory) -> Callable[[int], Path]:
    built: dict[int, Path] = {}

    def build(seed: int) -> Path:
        if seed not in built:
            built[seed] = write_onnx_model(tmp_path_factory.mktemp(f"model-{seed}"), seed)
        return built[seed]

    return build


@pytest.fixture
def model_dir_factory(_model_dirs, tmp_path: Path) -> Callable[[int], Path]:
    """A fresh copy of the MODEL_DIR for `seed` (distinct real ONNX models per seed)."""

    def copy(seed: int) -> Path:
        target = tmp_path / f"model-{seed}"
        if not target.exists():
            shutil.copytree(_model_dirs(seed), target)
        return target

    return copy


def load_reference_spec(path: Path) -> dict:
    import yaml

    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


@pytest.fixture(scope="session")
def reference_spec(shared_reference) -> dict:
    """The upstream Model Registry OpenAPI document from ../shared/reference."""
    return load_reference_spec(shared_reference / "openapi" / "model-registry.yaml")


def _to_json_schema(node):
    """OpenAPI 3.0 schema -> JSON Schema: `$ref`s re-pointed, `oneOf` + `discriminator`
    turned into selection by the discriminator value (what OpenAPI means by it)."""
    from braking_registry.schemas import discriminated

    if isinstance(node, list):
        return [_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": "#/$defs/" + node["$ref"].rsplit("/", 1)[1]}
    if "discriminator" in node and "oneOf" in node:
        mapping = node["discriminator"]["mapping"]
        variants = {value: _to_json_schema({"$ref": ref}) for value, ref in mapping.items()}
        return discriminated(node["discriminator"]["propertyName"], variants)
    annotations = {"discriminator", "example", "examples", "xml", "externalDocs"}
    return {key: _to_json_schema(value) for key, value in node.items() if key not in annotations}


def reference_validator(spec: dict, schema_name: str):
    """A validator for `components.schemas.<schema_name>` of the upstream document."""
    from jsonschema import Draft202012Validator

    from braking_registry.spec import FORMAT_CHECKER

    schema = {
        "$ref": f"#/$defs/{schema_name}",
        "$defs": _to_json_schema(spec["components"]["schemas"]),
    }
    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def response_schema_name(spec: dict, method: str, path: str, status: int) -> str | None:
    """The schema the spec declares for this operation's `status` response (None: undeclared)."""
    operation = spec["paths"].get(path, {}).get(method.lower())
    response = operation["responses"].get(str(status)) if operation else None
    if response is None:
        return None
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    return response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]


def response_violations(spec: dict, method: str, path: str, status: int, body) -> list[str]:
    """Why `body` breaks the declared response schema (OpenAPI discriminator semantics)."""
    name = response_schema_name(spec, method, path, status)
    if name is None:
        return [f"status {status} is not declared for {method.upper()} {path}"]
    errors = reference_validator(spec, name).iter_errors(body)
    return [f"{'.'.join(map(str, e.absolute_path)) or 'body'}: {e.message}" for e in errors]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key, standing in for a cluster's custom CA."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "braking-registry-test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "registry.crt", folder / "registry.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
