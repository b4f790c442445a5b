"""Fixtures of the pipeline tests: a checking double of the KFP v2beta1 REST API.

The double is a real HTTP server on 127.0.0.1 (free port) that keeps pipelines, versions,
experiments, runs and recurring runs in memory like the KFP API server, and CHECKS every
request it gets: the bearer token, the multipart upload of a valid pipeline spec, version
references that exist, run parameters that are inputs of the uploaded pipeline with the
right types, and 6-field cron schedules. A request that breaks a rule is answered 400 and
recorded in `problems`, so tests fail on a wrong request even if the client ignores it.
"""

from __future__ import annotations

import email.parser
import email.policy
import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml
from stack_fixtures import embedded_stack, stack_env  # noqa: F401

API = "/apis/v2beta1"
_PARAMETER_TYPES = {
    "NUMBER_INTEGER": (int,),
    "NUMBER_DOUBLE": (int, float),
    "STRING": (str,),
    "BOOLEAN": (bool,),
    "STRUCT": (dict,),
    "LIST": (list,),
}


class Rejected(Exception):
    def __init__(self, status: int, message: str, *, problem: bool = True) -> None:
        super().__init__(message)
        self.status, self.message, self.problem = status, message, problem


@dataclass
class KfpApiDouble:
    """State and request log of the fake KFP API server."""

    token: str = "test-token"
    url: str = ""
    requests: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, dict[str, Any]] = field(default_factory=dict)
    experiments: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: list[dict[str, Any]] = field(default_factory=list)
    recurring_runs: list[dict[str, Any]] = field(default_factory=list)
    _ids: Any = field(default_factory=itertools.count)

    def new_id(self, kind: str) -> str:
        return f"{kind}-{next(self._ids)}"

    def handle(self, method: str, path: str, query: dict[str, str], headers: Any, body: bytes):
        self.requests.append((method, path))
        if headers.get("Authorization") != f"Bearer {self.token}":
            raise Rejected(401, "Unauthenticated: bad or missing bearer token", problem=False)
        route = (method, path.removeprefix(API))
        if route == ("GET", "/healthz"):
            return {"commit_sha": "double", "tag_name": "2.5.0", "multi_user": False}
        if route == ("GET", "/pipelines"):
            name = _filtered_name(query)
            found = [p for p in self.pipelines.values() if p["display_name"] == name]
            return {"pipelines": found, "total_size": len(found)} if found else {}
        if route == ("POST", "/pipelines/upload"):
            return self.upload_pipeline(query, headers, body)
        if route == ("POST", "/pipelines/upload_version"):
            return self.upload_version(query, headers, body)
        if method == "GET" and path.startswith(f"{API}/pipelines/") and path.endswith("/versions"):
            pipeline_id = path.removeprefix(f"{API}/pipelines/").removesuffix("/versions")
            if pipeline_id not in self.pipelines:
                raise Rejected(404, f"pipeline {pipeline_id} not found")
            name = _filtered_name(query) if "filter" in query else None
            found = [
                v
                for v in self.versions.values()
                if v["pipeline_id"] == pipeline_id and name in (None, v["display_name"])
            ]
            return {"pipeline_versions": found, "total_size": len(found)} if found else {}
        if route == ("GET", "/experiments"):
            name = _filtered_name(query)
            found = [e for e in self.experiments.values() if e["display_name"] == name]
            return {"experiments": found, "total_size": len(found)} if found else {}
        if route == ("POST", "/experiments"):
            experiment = json.loads(body)
            if not experiment.get("display_name"):
                raise Rejected(400, "experiment display_name is required")
            experiment["experiment_id"] = self.new_id("experiment")
            self.experiments[experiment["experiment_id"]] = experiment
            return experiment
        if route == ("POST", "/runs"):
            run = self.check_run(json.loads(body))
            run.update(run_id=self.new_id("run"), state="PENDING")
            self.runs.append(run)
            return run
        if route == ("POST", "/recurringruns"):
            job = self.check_run(json.loads(body))
            cron = job.get("trigger", {}).get("cron_schedule", {}).get("cron", "")
            if len(cron.split()) != 6:
                raise Rejected(400, f"cron {cron!r} must have 6 fields (seconds first)")
            if job.get("mode") != "ENABLE":
                raise Rejected(400, f"recurring run mode {job.get('mode')!r}, expected ENABLE")
            job["recurring_run_id"] = self.new_id("recurring")
            self.recurring_runs.append(job)
            return job
        raise Rejected(404, f"no route {method} {path}")

    def upload_pipeline(self, query: dict[str, str], headers: Any, body: bytes) -> dict:
        name = query.get("name")
        if not name:
            raise Rejected(400, "upload needs the `name` query parameter")
        if any(p["display_name"] == name for p in self.pipelines.values()):
            raise Rejected(409, f"pipeline {name} already exists", problem=False)
        spec = _uploaded_spec(headers, body)
        pipeline = {"pipeline_id": self.new_id("pipeline"), "display_name": name, "name": name}
        self.pipelines[pipeline["pipeline_id"]] = pipeline
        self._add_version(pipeline["pipeline_id"], name, spec)
        return pipeline

    def upload_version(self, query: dict[str, str], headers: Any, body: bytes) -> dict:
        pipeline_id, name = query.get("pipelineid"), query.get("name")
        if pipeline_id not in self.pipelines or not name:
            raise Rejected(400, f"upload_version needs a known pipelineid and a name: {query}")
        if any(
            v["pipeline_id"] == pipeline_id and v["display_name"] == name
            for v in self.versions.values()
        ):
            raise Rejected(409, f"version {name} already exists", problem=False)
        return self._add_version(pipeline_id, name, _uploaded_spec(headers, body))

    def _add_version(self, pipeline_id: str, name: str, spec: dict) -> dict:
        version = {
            "pipeline_id": pipeline_id,
            "pipeline_version_id": self.new_id("version"),
            "display_name": name,
            "name": name,
        }
        self.versions[version["pipeline_version_id"]] = {**version, "spec": spec}
        return version

    def check_run(self, run: dict[str, Any]) -> dict[str, Any]:
        if run.get("experiment_id") not in self.experiments:
            raise Rejected(400, f"unknown experiment_id {run.get('experiment_id')!r}")
        if not run.get("display_name"):
            raise Rejected(400, "run display_name is required")
        reference = run.get("pipeline_version_reference") or {}
        version = self.versions.get(reference.get("pipeline_version_id"))
        if version is None or version["pipeline_id"] != reference.get("pipeline_id"):
            raise Rejected(400, f"pipeline_version_reference {reference} names no version")
        inputs = version["spec"]["root"]["inputDefinitions"]["parameters"]
        for key, value in (run.get("runtime_config") or {}).get("parameters", {}).items():
            if key not in inputs:
                raise Rejected(400, f"parameter {key!r} is not an input of the pipeline")
            expected = _PARAMETER_TYPES[inputs[key]["parameterType"]]
            if not isinstance(value, expected) or (
                isinstance(value, bool) and bool not in expected
            ):
                raise Rejected(400, f"parameter {key}={value!r} is not {expected}")
        return run


def _filtered_name(query: dict[str, str]) -> str:
    predicates = json.loads(query["filter"])["predicates"]
    if len(predicates) != 1 or predicates[0]["key"] != "display_name":
        raise Rejected(400, f"unexpected filter {query['filter']}")
    if predicates[0]["operation"] not in ("EQUALS", 1):  # enum by name or number
        raise Rejected(400, f"unexpected filter operation {predicates[0]['operation']}")
    return predicates[0]["stringValue"]


def _uploaded_spec(headers: Any, body: bytes) -> dict:
    content_type = headers.get("Content-Type", "")
    if not content_type.startswith("multipart/form-data"):
        raise Rejected(400, f"upload must be multipart/form-data, got {content_type!r}")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + body
    )
    parts = {
        part.get_param("name", header="content-disposition"): part for part in message.iter_parts()
    }
    if "uploadfile" not in parts:
        raise Rejected(400, f"upload has no `uploadfile` part (parts: {sorted(parts)})")
    documents = list(yaml.safe_load_all(parts["uploadfile"].get_payload(decode=True)))
    spec = documents[0]
    if not spec.get("pipelineInfo", {}).get("name") or "root" not in spec:
        raise Rejected(400, "uploaded file is not a compiled KFP pipeline spec")
    return spec


class _Handler(BaseHTTPRequestHandler):
    double: KfpApiDouble

    def _serve(self) -> None:
        split = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(split.query).items()}
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            status, payload = (
                200,
                self.double.handle(self.command, split.path, query, self.headers, body),
            )
        except Rejected as exc:
            if exc.problem:
                self.double.problems.append(f"{self.command} {split.path}: {exc.message}")
            status, payload = exc.status, {"error": exc.message, "message": exc.message}
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
        pass


@pytest.fixture
def kfp_api() -> Any:
    """A running KFP v2beta1 API double; yields its state (`.url`, `.token`, `.problems`)."""
    double = KfpApiDouble()
    handler = type("Handler", (_Handler,), {"double": double})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    double.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield double
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def tiny_search(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tuning steps (in-process and kfp.local subprocesses) search a tiny, cheap space."""
    from pathlib import Path

    space = Path(__file__).with_name("tiny_search_space.yaml")
    monkeypatch.setenv("BRAKING_TRAIN_SEARCH_SPACE", str(space))
    monkeypatch.setenv("BRAKING_TRAIN_N_JOBS", "1")


@pytest.fixture
def open_gate() -> dict[str, float]:
    """Gate thresholds no model fails (every max_* huge, every min_* hugely negative)."""
    from braking_model.gate import GateThresholds

    return {
        name: (1e9 if name.startswith("max_") else -1e9) for name in GateThresholds.model_fields
    }
