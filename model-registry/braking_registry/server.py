"""ASGI app speaking the Kubeflow Model Registry REST API (`/api/model_registry/v1alpha3`).

Implemented: RegisteredModel, ModelVersion, ModelArtifact and generic artifacts (create, get,
find, list with paging and ordering, PATCH, nested version/artifact lists). The other spec
paths (experiments, serving environments, inference services) answer 404 with an Error body.
Every error uses the spec's `Error` shape `{"code", "message"}`.
"""

from __future__ import annotations

import hmac
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route

from braking_registry.service import (
    ARTIFACTS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    Kind,
    RegistryService,
    parse_id,
)
from braking_registry.spec import API_PREFIXES, InvalidRequest
from braking_registry.store import BadPageToken, Conflict, NotFound, RegistryStore

logger = logging.getLogger(__name__)
# operationIds of the spec this server implements; every other path answers 404.
IMPLEMENTED_OPERATIONS = frozenset(
    f"{verb}{resource}"
    for resource in ("RegisteredModel", "ModelVersion", "ModelArtifact", "Artifact")
    for verb in ("create", "get", "update", "find")
) | {
    "getRegisteredModels",
    "getModelVersions",
    "getModelArtifacts",
    "getArtifacts",
    "getRegisteredModelVersions",
    "createRegisteredModelVersion",
    "getModelVersionArtifacts",
    "upsertModelVersionArtifact",
}
Handler = Callable[[Request], Awaitable[Response]]


def json_response(content: Any, status: int = 200) -> Response:
    """A JSON response of `content` with `status`."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


def error_response(status: int, message: str) -> Response:
    """The registry's error body (`code`, `message`) with `status`."""
    return json_response({"code": str(status), "message": message}, status)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise InvalidRequest("body", f"not valid JSON ({error})") from None


def _endpoint(operation: Callable[[RegistryService, Request], Awaitable[Response]]) -> Handler:
    """Wrap an operation: translate domain errors into the spec's Error responses."""

    async def endpoint(request: Request) -> Response:
        try:
            return await operation(request.app.state.service, request)
        except InvalidRequest as error:
            return error_response(400, str(error))
        except BadPageToken as error:
            return error_response(400, f"nextPageToken: {error}")
        except NotFound as error:
            return error_response(404, str(error))
        except Conflict as error:
            return error_response(409, str(error))
        except sqlite3.OperationalError as error:  # locked past busy_timeout, disk full...
            logger.warning("database unavailable: %s", error)
            return error_response(503, f"registry database unavailable ({error}); retry later")

    return endpoint


def _resource_routes(collection: str, finder: str, kind: Kind, schema: str) -> list[Route]:
    """create/list on `/{collection}`, get/patch on `/{collection}/{id}`, find on `/{finder}`."""
    artifact_type = "model-artifact" if schema == "ModelArtifact" else None

    async def listing(service: RegistryService, request: Request) -> Response:
        query = request.query_params
        result = await run_in_threadpool(service.list, kind, query, artifact_type=artifact_type)
        return json_response(result)

    async def create(service: RegistryService, request: Request) -> Response:
        body = await _json_body(request)
        created = await run_in_threadpool(
            service.create, kind, body, f"{schema}Create", artifact_type=artifact_type
        )
        return json_response(created, 201)

    async def existing_id(service: RegistryService, request: Request) -> int:
        resource_id = parse_id(request.path_params["id"], "id")
        row = await run_in_threadpool(service.get_row, kind, resource_id)
        if artifact_type and row.type != artifact_type:
            raise NotFound(f"no {schema} with id {resource_id}")
        return resource_id

    async def get(service: RegistryService, request: Request) -> Response:
        resource_id = await existing_id(service, request)
        return json_response(await run_in_threadpool(service.get, kind, resource_id))

    async def patch(service: RegistryService, request: Request) -> Response:
        resource_id = await existing_id(service, request)
        body = await _json_body(request)
        updated = await run_in_threadpool(
            service.update, kind, resource_id, body, f"{schema}Update"
        )
        return json_response(updated)

    async def find(service: RegistryService, request: Request) -> Response:
        query = request.query_params
        found = await run_in_threadpool(service.find, kind, query, artifact_type=artifact_type)
        return json_response(found)

    return [
        Route(f"/{collection}", _endpoint(listing), methods=["GET"]),
        Route(f"/{collection}", _endpoint(create), methods=["POST"]),
        Route(f"/{collection}/{{id}}", _endpoint(get), methods=["GET"]),
        Route(f"/{collection}/{{id}}", _endpoint(patch), methods=["PATCH"]),
        Route(f"/{finder}", _endpoint(find), methods=["GET"]),
    ]


def _children(kind: Kind, parent_field: str):
    """List the `kind` resources under the parent named by the path's `{id}`."""

    async def listing(service: RegistryService, request: Request) -> Response:
        parent_id = parse_id(request.path_params["id"], parent_field)
        query = request.query_params
        return json_response(
            await run_in_threadpool(service.list, kind, query, parent_id=parent_id)
        )

    return listing


async def _create_version_of_model(service: RegistryService, request: Request) -> Response:
    model_id = parse_id(request.path_params["id"], "registeredmodelId")
    body = await _json_body(request)
    if isinstance(body, dict):
        body.setdefault("registeredModelId", str(model_id))
    created = await run_in_threadpool(
        service.create, MODEL_VERSIONS, body, "ModelVersion", parent_id=model_id
    )
    return json_response(created, 201)


async def _upsert_artifact_of_version(service: RegistryService, request: Request) -> Response:
    version_id = parse_id(request.path_params["id"], "modelversionId")
    body = await _json_body(request)
    artifact, created = await run_in_threadpool(service.upsert_version_artifact, version_id, body)
    return json_response(artifact, 201 if created else 200)


def api_routes() -> list[Route]:
    """Every implemented operation, relative to the API prefix."""
    nested = [
        ("/registered_models/{id}/versions", "GET", _children(MODEL_VERSIONS, "registeredmodelId")),
        ("/registered_models/{id}/versions", "POST", _create_version_of_model),
        ("/model_versions/{id}/artifacts", "GET", _children(ARTIFACTS, "modelversionId")),
        ("/model_versions/{id}/artifacts", "POST", _upsert_artifact_of_version),
    ]
    return [
        *_resource_routes(
            "registered_models", "registered_model", REGISTERED_MODELS, "RegisteredModel"
        ),
        *_resource_routes("model_versions", "model_version", MODEL_VERSIONS, "ModelVersion"),
        *_resource_routes("model_artifacts", "model_artifact", ARTIFACTS, "ModelArtifact"),
        *_resource_routes("artifacts", "artifact", ARTIFACTS, "Artifact"),
        *(Route(path, _endpoint(op), methods=[method]) for path, method, op in nested),
    ]


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_response(
            404,
            f"{request.method} {request.url.path} is not served by the embedded registry "
            "(it implements registered models, model versions and artifacts)",
        )
    return error_response(error.status_code, error.detail)


async def _server_error(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, f"internal error: {type(error).__name__}")


class BearerAuth:
    """Reject requests without `Authorization: Bearer <token>` (401, Error body)."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self.app = app
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Pass the request on when it carries the token (health checks never need one)."""
        if scope["type"] == "http" and scope["path"] != "/readyz/health":
            headers = dict(scope["headers"])
            if not hmac.compare_digest(headers.get(b"authorization", b""), self.expected):
                response = error_response(401, "missing or wrong bearer token in Authorization")
                response.headers["WWW-Authenticate"] = 'Bearer realm="model-registry"'
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(
    db_path: str | Path, token: str | None = None, *, busy_timeout_ms: int = 30_000
) -> Any:
    """The registry ASGI app storing into the SQLite file `db_path`.

    When `token` is set, every API request must carry `Authorization: Bearer <token>`.
    A write waits up to `busy_timeout_ms` for other writers, then answers 503.
    """
    service = RegistryService(RegistryStore(db_path, busy_timeout_ms=busy_timeout_ms))

    @asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            service.store.close()

    routes = [Mount(prefix, routes=api_routes()) for prefix in API_PREFIXES]
    routes.append(Route("/readyz/health", _health, methods=["GET"]))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.service = service
    return BearerAuth(app, token) if token else app
