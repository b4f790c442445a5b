"""A local HTTP double of the Kubernetes API server for InferenceServices and ServingRuntimes.

It checks what a real API server checks for these calls (bearer token, method, path,
content type, body against the CRD schema, name/namespace consistency), records every
request, and plays the KServe controller: after a few reads of a changed object its status
turns Ready (or fails, or never gets there).
"""

from __future__ import annotations

import copy
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from crd_schema import CrdSchemas

TOKEN = "test-token"
_PATH = re.compile(
    r"^/apis/serving\.kserve\.io/(?P<version>v1beta1|v1alpha1)/namespaces/(?P<ns>[a-z0-9-]+)/"
    r"(?P<plural>inferenceservices|servingruntimes)(?:/(?P<name>[a-z0-9-]+))?$"
)
_KINDS = {"inferenceservices": "InferenceService", "servingruntimes": "ServingRuntime"}


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


class KubeApiDouble:
    """`outcome`: "ready" (after `ready_after` reads), "fail" (model load fails) or "never"."""

    def __init__(
        self, crds: CrdSchemas, outcome: str = "ready", ready_after: int = 2, url: bool = True
    ) -> None:
        self.report_url = url
        self.crds = crds
        self.outcome = outcome
        self.ready_after = ready_after
        self.objects: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self._reads_since_change: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> KubeApiDouble:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler_class(self):
        double = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                content_type = self.headers.get("Content-Type")
                double.requests.append((self.command, self.path, content_type))
                with double._lock:
                    status, body = double.handle(
                        self.command,
                        self.path,
                        self.headers.get("Authorization"),
                        content_type,
                        raw,
                    )
                self._answer(status, body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _handle

        return Handler

    # -- the API server's behaviour -------------------------------------------------------

    @staticmethod
    def _status(code: int, reason: str, message: str) -> tuple[int, dict]:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "reason": reason,
            "message": message,
            "code": code,
        }
        return code, body

    def handle(self, method, path, authorization, content_type, raw) -> tuple[int, dict]:
        if authorization != f"Bearer {TOKEN}":
            return self._status(401, "Unauthorized", "Unauthorized")
        match = _PATH.match(path)
        if not match:
            return self._status(404, "NotFound", f"the server could not find {path}")
        kind = _KINDS[match["plural"]]
        expected_version = "v1beta1" if kind == "InferenceService" else "v1alpha1"
        if match["version"] != expected_version:
            return self._status(404, "NotFound", f"{kind} is not served at {match['version']}")
        name = match["name"]
        key = f"{match['plural']}/{match['ns']}/{name}"
        if method == "GET" and name:
            return self._read(key, match["plural"], name)
        if method == "POST" and not name:
            return self._create(match, kind, content_type, raw)
        if method == "PATCH" and name:
            return self._patch(key, content_type, raw)
        return self._status(405, "MethodNotAllowed", f"{method} {path} is not supported")

    def _read(self, key: str, plural: str, name: str) -> tuple[int, dict]:
        if key not in self.objects:
            return self._status(404, "NotFound", f'{plural} "{name}" not found')
        obj = self.objects[key]
        if obj["kind"] == "InferenceService":
            self._reads_since_change[key] = self._reads_since_change.get(key, 0) + 1
            if self._reads_since_change[key] >= self.ready_after:
                self._reconcile(obj)
        return 200, obj

    def _reconcile(self, obj: dict) -> None:
        name, namespace = obj["metadata"]["name"], obj["metadata"]["namespace"]
        generation = obj["metadata"]["generation"]
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
            obj["status"] = {
                "observedGeneration": generation,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "ModelLoadFailed",
                        "message": "No version found for model in path",
                    }
                ],
                "modelStatus": {
                    "transitionStatus": "BlockedByFailedLoad",
                    "states": {"activeModelState": "FailedToLoad"},
                    "lastFailureInfo": {
                        "reason": "ModelLoadFailed",
                        "message": "No version found for model",
                    },
                },
            }
        else:
            obj["status"] = {
                "observedGeneration": generation,
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "False",
                        "reason": "PredictorNotReady",
                        "message": "0/1 replicas available",
                    }
                ],
            }

    def _validated(self, obj: dict) -> tuple[int, dict] | None:
        errors = self.crds.errors({k: v for k, v in obj.items() if k != "status"})
        if errors:
            return self._status(422, "Invalid", "; ".join(errors))
        return None

    def _create(self, match, kind: str, content_type, raw: bytes) -> tuple[int, dict]:
        if content_type != "application/json":
            return self._status(
                415, "UnsupportedMediaType", f"create needs JSON, got {content_type}"
            )
        obj = json.loads(raw)
        if obj.get("kind") != kind or obj.get("metadata", {}).get("namespace") != match["ns"]:
            return self._status(400, "BadRequest", "kind or namespace does not match the path")
        invalid = self._validated(obj)
        if invalid:
            return invalid
        key = f"{match['plural']}/{match['ns']}/{obj['metadata']['name']}"
        if key in self.objects:
            return self._status(409, "AlreadyExists", f"{key} already exists")
        obj["metadata"] |= {
            "generation": 1,
            "uid": f"uid-{len(self.objects)}",
            "resourceVersion": "1",
        }
        self.objects[key] = obj
        self._reads_since_change[key] = 0
        return 201, obj

    def _patch(self, key: str, content_type, raw: bytes) -> tuple[int, dict]:
        if content_type != "application/merge-patch+json":
            return self._status(415, "UnsupportedMediaType", f"unsupported patch {content_type}")
        if key not in self.objects:
            return self._status(404, "NotFound", f"{key} not found")
        current = self.objects[key]
        patched = merge_patch(current, json.loads(raw))
        invalid = self._validated(patched)
        if invalid:
            return invalid
        if patched.get("spec") != current.get("spec"):
            patched["metadata"]["generation"] = current["metadata"]["generation"] + 1
            self._reads_since_change[key] = 0
        self.objects[key] = patched
        return 200, patched
