"""The local Open Inference Protocol (KServe V2 REST) server: a plain ASGI application.

No web framework on the request path: routing is a split of the path, bodies are parsed
by orjson straight into numpy. Small requests are parsed and run on the event loop (tens of
microseconds, less than a hand-off to a thread would cost), concurrent ones batched into one
call (batching.py); large bodies are parsed and run on a one-thread executor, so health
checks keep answering while they compute. Request bodies in memory are bounded in total
(bodies.py); header size and read deadlines are enforced below, in braking_common.http_limits.
Endpoints: /v2, /v2/health/{live,ready}, /v2/models/{name}[/versions/{v}][/ready|/infer],
the model repository extension /v2/repository/{index, models/{name}/load|unload}, /metrics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

import orjson

from braking_common.credentials import bearer_matches
from braking_data.contract import check_model_name
from braking_serving import __version__
from braking_serving.batching import Batcher
from braking_serving.bodies import BodyBudget, ClientGone, read_body
from braking_serving.config import ServerConfig
from braking_serving.inference_logger import inference_logger_for
from braking_serving.metrics import METRICS_CONTENT_TYPE, ServerMetrics
from braking_serving.protocol import ProtocolError, error_body, infer_response, parse_infer_request
from braking_serving.repository import (
    STATE_FILE,
    LoadedModel,
    ModelLoadError,
    ModelStore,
    load_onnx_model,
)

log = logging.getLogger(__name__)

# Path of a ServerConfig JSON file (mode 0600: it may hold the token) for worker processes.
CONFIG_FILE_ENV = "BRAKING_SERVING_CONFIG_FILE"
# Bodies larger than this are parsed on the executor: orjson + numpy take ~4 ms per MB.
INLINE_BODY_BYTES = 64 * 1024
SERVER_NAME = "braking-serving"
EXTENSIONS = ["model_repository", "metrics"]
_JSON = [(b"content-type", b"application/json")]
_OK = orjson.dumps({})


def _headers(scope: dict) -> tuple[bytes | None, int | None]:
    authorization = length = None
    for key, value in scope["headers"]:
        if key == b"authorization":
            authorization = value
        elif key == b"content-length":
            length = int(value) if value.isdigit() else None
    return authorization, length


class InferenceServer:
    """ASGI app serving ONNX models over the Open Inference Protocol."""

    def __init__(self, config: ServerConfig, store: ModelStore | None = None) -> None:
        self.config = config
        # One row budget: the request cap, the batcher and the engine's chunks all use it.
        rows = config.max_rows_per_call
        self.store = store or ModelStore(config.model_repository, config.engine, rows)
        for name, path in config.models.items():
            self.store.add(load_onnx_model(path, name, engine=config.engine, max_rows=rows))
        self.metrics = ServerMetrics() if config.metrics else None
        self._token = config.token.encode() if config.token else None
        self.inference_logger = inference_logger_for(self.metrics)  # None unless configured
        self._poller: asyncio.Task | None = None
        # One thread: heavy work leaves the loop free without competing for the 2nd core.
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="braking-infer")
        self.batcher = Batcher(
            config.max_rows_per_call,
            config.batch_max_wait_ms / 1000,
            config.batching,
            self.executor,
        )
        self.budget = BodyBudget(config.max_inflight_body_bytes)
        repository = self.store.repository
        self._state_file = repository / STATE_FILE if repository is not None else None
        self._seen_state = self._state_mtime()

    async def __call__(self, scope: dict, receive, send) -> None:
        """Serve one ASGI request."""
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                for error in self.store.sync():
                    log.warning("%s", error)
                if self.store.repository is not None:
                    self._poller = asyncio.create_task(self._poll_repository())
                if self.inference_logger is not None:
                    await self.inference_logger.start()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._poller is not None:
                    self._poller.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._poller
                if self.inference_logger is not None:
                    await self.inference_logger.stop()
                self.executor.shutdown(wait=False, cancel_futures=True)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _poll_repository(self) -> None:
        """Follow loads/unloads made through other workers and new version folders."""
        while True:
            await asyncio.sleep(self.config.repository_poll_seconds)
            try:
                for error in await asyncio.to_thread(self.store.sync):
                    log.warning("%s", error)
            except Exception:  # keep polling: a half-written state file must not stop it
                log.exception("model repository sync failed")

    async def _http(self, scope: dict, receive, send) -> None:
        started = time.perf_counter()
        authorization, length = _headers(scope)
        model_label, endpoint, allow = "", "other", None
        try:
            parts = scope["path"].strip("/").split("/")
            if parts[0] != "v2" or parts[1:2] != ["health"]:
                self._authorize(authorization)
            model_label, endpoint, status, body, content_type = await self._route(
                scope["method"], parts, receive, length
            )
        except ClientGone:
            return
        except ProtocolError as error:
            status, body, content_type = error.status, error_body(error.message), _JSON
            allow = error.allow
        except Exception:  # a bug must cost one request, never the server
            # One log record per failure; the body names no exception (it may hold input).
            log.exception("request %s %s failed", scope["method"], scope["path"][:200])
            status, body, content_type = 500, error_body("internal server error"), _JSON
        headers = [*content_type, (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if allow is not None:
            headers.append((b"allow", allow.encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        if self.metrics is not None:
            self.metrics.observe(model_label, endpoint, status, time.perf_counter() - started)

    def _authorize(self, authorization: bytes | None) -> None:
        if self._token is None:
            return
        if authorization is None:
            raise ProtocolError(401, "missing 'Authorization: Bearer <token>' header")
        if not bearer_matches(authorization, self._token):
            raise ProtocolError(401, "invalid bearer token")

    async def _reserve(self, length: int | None) -> int:
        """Reserve the body's bytes in the in-flight budget (the limit when undeclared)."""
        return await self.budget.acquire(self.config.max_body_bytes if length is None else length)

    async def _read(self, receive, length: int | None) -> bytes:
        return await read_body(receive, length, self.config.max_body_bytes)

    async def _route(self, method: str, parts: list[str], receive, length: int | None):
        """Dispatch on the path; returns (model label, endpoint, status, body, content type)."""
        if parts[0] == "v2" and len(parts) >= 3 and parts[1] == "models":
            return await self._model_route(method, parts[2:], receive, length)
        if parts == ["v2"]:
            _allow(method, "GET")
            metadata = {"name": SERVER_NAME, "version": __version__, "extensions": EXTENSIONS}
            return "", "server_metadata", 200, orjson.dumps(metadata), _JSON
        if parts in (["v2", "health", "live"], ["v2", "health", "ready"]):
            _allow(method, "GET")
            return "", parts[2], 200, orjson.dumps({parts[2]: True}), _JSON
        if parts[:2] == ["v2", "repository"]:
            return await self._repository_route(method, parts[2:], receive, length)
        if parts == ["metrics"] and self.metrics is not None:
            _allow(method, "GET")
            content_type = [(b"content-type", METRICS_CONTENT_TYPE.encode())]
            return "", "metrics", 200, self.metrics.render(), content_type
        raise ProtocolError(404, f"no endpoint at /{'/'.join(parts)}")

    async def _model_route(self, method: str, parts: list[str], receive, length: int | None):
        name, version, rest = parts[0], None, parts[1:]
        if rest[:1] == ["versions"]:
            if len(rest) < 2:
                raise ProtocolError(404, f"no endpoint at /v2/models/{name}/versions")
            version, rest = rest[1], rest[2:]
        model = self._model(name, version)
        if rest == ["infer"]:
            _allow(method, "POST")
            reserved = await self._reserve(length)
            try:
                return name, "infer", 200, await self._infer(model, receive, length), _JSON
            finally:
                self.budget.release(reserved)
        if rest == ["ready"]:
            _allow(method, "GET")
            body = {"name": name, "version": model.version, "ready": True}
            return name, "model_ready", 200, orjson.dumps(body), _JSON
        if not rest:
            _allow(method, "GET")
            return name, "model_metadata", 200, orjson.dumps(model.metadata()), _JSON
        raise ProtocolError(404, f"no endpoint at /v2/models/{name}/{'/'.join(parts[1:])}")

    async def _infer(self, model: LoadedModel, receive, length: int | None) -> bytes:
        body = await self._read(receive, length)
        max_rows = self.config.max_rows_per_call
        if len(body) <= INLINE_BODY_BYTES:
            request = parse_infer_request(body, model, max_rows)
        else:
            loop = asyncio.get_running_loop()
            request = await loop.run_in_executor(
                self.executor, parse_infer_request, body, model, max_rows
            )
        logged = body if self.inference_logger is not None else None
        del body  # the parsed arrays are all that is needed from here on
        results = await self.batcher.infer(model, request.output_names, request.feeds, request.rows)
        response = infer_response(model, request, results)
        if logged is not None and self.inference_logger is not None:  # queued, sent off the path
            self.inference_logger.log(model.name, logged, response, request.id)
        return response

    def _state_mtime(self) -> int:
        try:
            return os.stat(self._state_file).st_mtime_ns if self._state_file else 0
        except FileNotFoundError:
            return 0

    def _follow_repository(self) -> None:
        """Catch up with loads/unloads made through another worker before answering: one
        stat() a request, so an acknowledged unload holds on every worker at once."""
        if self._state_file is None:
            return
        seen = self._state_mtime()
        if seen != self._seen_state:
            self._seen_state = seen
            for error in self.store.sync():
                log.warning("%s", error)

    def _model(self, name: str, version: str | None) -> LoadedModel:
        self._follow_repository()
        model = self.store.get(name)
        if model is None or (version is not None and model.version != version):
            # Another worker may have loaded it, or a new version landed: catch up once.
            self.store.sync()
            model = self.store.get(name)
        if model is None:
            raise ProtocolError(404, f"model {name!r} is not loaded; loaded: {self.store.names()}")
        if version is not None and model.version != version:
            raise ProtocolError(
                404, f"model {name!r} version {version!r} is not loaded (serving {model.version})"
            )
        return model

    async def _repository_route(self, method: str, parts: list[str], receive, length):
        _allow(method, "POST")
        reserved = await self._reserve(length)
        try:
            await self._read(receive, length)  # options are accepted and ignored
        finally:
            self.budget.release(reserved)
        if parts == ["index"]:
            return "", "repository", 200, orjson.dumps(self.store.index()), _JSON
        if len(parts) == 3 and parts[0] == "models" and parts[2] in ("load", "unload"):
            name = parts[1]
            try:
                check_model_name(name)
            except ValueError as error:
                raise ProtocolError(400, str(error)) from None
            if parts[2] == "unload":
                if not self.store.unload(name):
                    raise ProtocolError(404, f"model {name!r} is not loaded")
                return "", "repository", 200, _OK, _JSON
            try:
                await asyncio.to_thread(self.store.load, name)
            except ModelLoadError as error:
                raise ProtocolError(400, str(error)) from None
            return "", "repository", 200, _OK, _JSON
        raise ProtocolError(404, f"no endpoint at /v2/repository/{'/'.join(parts)}")


def _allow(method: str, allowed: str) -> None:
    if method != allowed:
        raise ProtocolError(405, f"method {method} is not allowed here; use {allowed}", allowed)


def create_app() -> InferenceServer:
    """Uvicorn factory for worker processes: the config comes from the file the launcher
    wrote (a path in the environment, never the token itself)."""
    path = os.environ.get(CONFIG_FILE_ENV)
    if not path:
        return InferenceServer(ServerConfig())
    with open(path, encoding="utf-8") as stream:
        return InferenceServer(ServerConfig.model_validate_json(stream.read()))
