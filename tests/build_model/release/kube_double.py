"""A local HTTP double of the Kubernetes API server for InferenceServices and ServingRuntimes.

It checks what a real API server checks for the requests the official client sends here:
the bearer token; server-side apply (PATCH, `application/apply-patch+yaml`, a `fieldManager`,
a body that is valid against the CRD and names the object of the path); watches (GET on the
collection with `watch`, a `metadata.name` field selector and `timeoutSeconds`, answered as a
stream of JSON events that ends when the timeout is up). It records every request and plays
the KServe controller: `ready_after` ticks after a spec change the status turns Ready (or the
model load fails, or the predictor never gets ready) and watchers get a MODIFIED event.

Apply is modelled for one manager owning the whole spec (this project's case): the applied
spec replaces the stored one, another manager's apply without `force` is a 409 Conflict.
"""

from __future__ import annotations

import copy
import json
import re
import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml
from crd_schema import CrdSchemas

TOKEN = "test-token"
TICK_SECONDS = 0.02
_PATH = re.compile(
    r"^/apis/serving\.kserve\.io/(?P<version>v1beta1|v1alpha1)/namespaces/(?P<ns>[a-z0-9-]+)/"
    r"(?P<plural>inferenceservices|servingruntimes)(?:/(?P<name>[a-z0-9-]+))?$"
)
_KINDS = {"inferenceservices": "InferenceService", "servingruntimes": "ServingRuntime"}
_TRUE = {"1", "t", "T", "true", "TRUE", "True"}  # Go's strconv.ParseBool
_FALSE = {"0", "f", "F", "false", "FALSE", "False"}


@dataclass(frozen=True)
class Request:
    """One request as the double saw it."""

    method: str
    path: str
    query: dict[str, str]
    content_type: str | None


class _Refused(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.body = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": reason,
            "message": message,
            "code": code,
        }
        self.code = code


def _flag(query: dict[str, str], name: str) -> bool:
    value = query.get(name, "false")
    if value not in _TRUE | _FALSE:
        raise _Refused(400, "BadRequest", f"{name}={value!r} is not a boolean")
    return value in _TRUE


class KubeApiDouble:
    """`outcome`: "ready" (after `ready_after` ticks), "fail" (model load fails) or "never".

    `tls` = (certificate, key) serves HTTPS, as a real API server does.
    """

    def __init__(
        self,
        crds: CrdSchemas,
        outcome: str = "ready",
        ready_after: int = 2,
        url: bool = True,
        tls: tuple[Path, Path] | None = None,
        tokens: tuple[str, ...] = (TOKEN,),
    ) -> None:
        self.report_url = url
        self.tokens = tokens
        self.crds = crds
        self.outcome = outcome
        self.ready_after = ready_after
        self.objects: dict[str, dict] = {}
        self.requests: list[Request] = []
        self._ticks_since_change: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.port = self._server.server_address[1]
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*map(str, tls))
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.url = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self) -> KubeApiDouble:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # chunked watch streams, as the API server sends

            def log_message(self, *args: object) -> None:
                pass

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, events) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                try:
                    for event in events:
                        line = json.dumps(event).encode() + b"\n"
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                        self.wfile.flush()
                    self.wfile.write(b"0\r\n\r\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped watching: it saw what it waited for
                self.close_connection = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
                request = Request(self.command, url.path, query, self.headers.get("Content-Type"))
                double.requests.append(request)
                try:
                    double.check_token(self.headers.get("Authorization"), double.tokens)
                    if _flag(query, "watch"):
                        self._stream(double.watch(request))
                    else:
                        with double._lock:
                            self._send(*double.handle(request, raw))
                except _Refused as refused:
                    self._send(refused.code, refused.body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        return Handler

    # -- the API server's behaviour -------------------------------------------------------

    @staticmethod
    def check_token(authorization: str | None, tokens: tuple[str, ...]) -> None:
        # The scheme is case-insensitive (the in-cluster loader sends "bearer <token>").
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or token not in tokens:
            raise _Refused(401, "Unauthorized", "Unauthorized")

    @staticmethod
    def _route(path: str):
        match = _PATH.match(path)
        if not match:
            raise _Refused(404, "NotFound", f"the server could not find {path}")
        kind = _KINDS[match["plural"]]
        expected_version = "v1beta1" if kind == "InferenceService" else "v1alpha1"
        if match["version"] != expected_version:
            raise _Refused(404, "NotFound", f"{kind} is not served at {match['version']}")
        return match, kind

    def handle(self, request: Request, raw: bytes) -> tuple[int, dict]:
        match, kind = self._route(request.path)
        name = match["name"]
        key = f"{match['plural']}/{match['ns']}/{name}"
        if request.method == "GET" and name:
            if key not in self.objects:
                raise _Refused(404, "NotFound", f'{match["plural"]} "{name}" not found')
            return 200, self.objects[key]
        if request.method == "PATCH" and name:
            return self._apply(key, match, kind, request, raw)
        raise _Refused(405, "MethodNotAllowed", f"{request.method} {request.path} not supported")

    def _apply(self, key: str, match, kind: str, request: Request, raw: bytes):
        if request.content_type != "application/apply-patch+yaml":
            raise _Refused(415, "UnsupportedMediaType", f"not an apply: {request.content_type}")
        manager = request.query.get("fieldManager")
        if not manager:
            raise _Refused(400, "BadRequest", "fieldManager is required for apply patch")
        force = _flag(request.query, "force")
        applied = yaml.safe_load(raw)
        metadata = applied.get("metadata", {})
        if (
            applied.get("kind") != kind
            or metadata.get("name") != match["name"]
            or metadata.get("namespace", match["ns"]) != match["ns"]
        ):
            raise _Refused(400, "BadRequest", "kind, name or namespace does not match the path")
        errors = self.crds.errors(applied)
        if errors:
            raise _Refused(422, "Invalid", "; ".join(errors))
        current = self.objects.get(key)
        if current is None:
            stored = copy.deepcopy(applied)
            stored["metadata"] |= {"generation": 1, "uid": f"uid-{len(self.objects)}"}
        else:
            owner = current["metadata"]["managedFields"][0]["manager"]
            if owner != manager and not force:
                raise _Refused(409, "Conflict", f"Apply failed with 1 conflict: {owner} owns .spec")
            stored = copy.deepcopy(current)
            stored["metadata"]["labels"] = metadata.get("labels", {})
            stored["metadata"]["annotations"] = metadata.get("annotations", {})
            if applied.get("spec") != current.get("spec"):
                stored["spec"] = applied.get("spec")
                stored["metadata"]["generation"] += 1
        if current is None or stored["metadata"]["generation"] != current["metadata"]["generation"]:
            self._ticks_since_change[key] = 0
        stored["metadata"]["managedFields"] = [{"manager": manager, "operation": "Apply"}]
        stored["metadata"]["resourceVersion"] = str(int(time.monotonic_ns()))
        self.objects[key] = stored
        return (201 if current is None else 200), stored

    def watch(self, request: Request):
        """The events of one watch on a single object, until `timeoutSeconds` is up."""
        match, _ = self._route(request.path)
        if request.method != "GET" or match["name"]:
            raise _Refused(405, "MethodNotAllowed", "watch is a GET on the collection")
        selector = request.query.get("fieldSelector", "")
        if not selector.startswith("metadata.name="):
            raise _Refused(400, "BadRequest", f"expected metadata.name=..., got {selector!r}")
        try:
            timeout = int(request.query["timeoutSeconds"])
        except (KeyError, ValueError):
            raise _Refused(400, "BadRequest", "timeoutSeconds must be an integer") from None
        key = f"{match['plural']}/{match['ns']}/{selector.split('=', 1)[1]}"
        return self._events(key, time.monotonic() + timeout)

    def _events(self, key: str, deadline: float):
        with self._lock:
            seen = copy.deepcopy(self.objects.get(key))
        if seen is not None:
            yield {"type": "ADDED", "object": seen}
        while time.monotonic() < deadline:
            time.sleep(TICK_SECONDS)
            with self._lock:
                self._tick(key)
                now = copy.deepcopy(self.objects.get(key))
            if now != seen and now is not None:
                yield {"type": "ADDED" if seen is None else "MODIFIED", "object": now}
            seen = now

    def _tick(self, key: str) -> None:
        if key not in self.objects or not key.startswith("inferenceservices/"):
            return
        self._ticks_since_change[key] = self._ticks_since_change.get(key, 0) + 1
        if self._ticks_since_change[key] == self.ready_after:
            self._reconcile(self.objects[key])

    def _reconcile(self, obj: dict) -> None:
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        generation = obj["metadata"]["generation"]
        obj["metadata"]["resourceVersion"] = str(int(time.monotonic_ns()))
        if self.outcome == "ready":
            obj["status"] = {
                "observedGeneration": generation,
                **(
                    {"url": f"https://{name}-{namespace}.apps.example.test"}
                    if self.report_url
                    else {}
                ),
                "address": {"url": f"http://{name}-predictor.{namespace}.svc.cluster.local"},
                "conditions": [
                    {"type": t, "status": "True"}
                    for t in ("IngressReady", "PredictorReady", "Ready")
                ],
                "modelStatus": {
                    "transitionStatus": "UpToDate",
                    "states": {"activeModelState": "Loaded"},
                },
            }
        elif self.outcome == "fail":
            obj["status"] = _not_ready(generation, "ModelLoadFailed", "No version found for model")
            obj["status"]["modelStatus"] = {
                "transitionStatus": "BlockedByFailedLoad",
                "states": {"activeModelState": "FailedToLoad"},
                "lastFailureInfo": {
                    "reason": "ModelLoadFailed",
                    "message": "No version found for model",
                },
            }
        else:
            obj["status"] = _not_ready(generation, "PredictorNotReady", "0/1 replicas available")


def _not_ready(generation: int, reason: str, message: str) -> dict:
    condition = {"type": "Ready", "status": "False", "reason": reason, "message": message}
    return {"observedGeneration": generation, "conditions": [condition]}
