"""ASGI app speaking the Kubeflow Model Registry REST API (`/api/model_registry/v1alpha3`).

Every path of the spec is served (see `routes.py`). Every error uses the spec's `Error` shape
`{"code", "message"}`: 400 names the field, 413 the body limit, 404 the missing resource.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route

from braking_common.credentials import bearer_matches
from braking_registry.limits import BodyTooLarge
from braking_registry.paging import BadPageToken
from braking_registry.resources import index_properties
from braking_registry.routes import Operation, api_routes, json_response
from braking_registry.service import RegistryService
from braking_registry.spec import API_PREFIXES, InvalidRequest
from braking_registry.store import Conflict, NotFound, RegistryStore

logger = logging.getLogger(__name__)
Handler = Callable[[Request], Awaitable[Response]]


def error_response(status: int, message: str) -> Response:
    """The spec's `Error` body."""
    return json_response({"code": str(status), "message": message}, status)


def _endpoint(operation: Operation) -> Handler:
    """Wrap an operation: translate domain errors into the spec's Error responses."""

    async def endpoint(request: Request) -> Response:
        try:
            return await operation(request.app.state.service, request)
        except InvalidRequest as error:
            return error_response(400, str(error))
        except BodyTooLarge as error:
            return error_response(413, str(error))
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


async def _health(request: Request) -> Response:
    return json_response({"status": "ok"})


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        return error_response(
            404,
            f"{request.method} {request.url.path} is not a path of the Model Registry API",
        )
    return error_response(error.status_code, error.detail)


async def _server_error(request: Request, error: Exception) -> Response:
    logger.exception("unexpected error on %s %s", request.method, request.url.path)
    return error_response(500, f"internal error: {type(error).__name__}")


class BearerAuth:
    """Reject requests without `Authorization: Bearer <token>` (401, Error body)."""

    def __init__(self, app: Callable[..., Awaitable[None]], token: str) -> None:
        self.app = app
        self.token = token.encode()

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        """Pass the request on when it carries the token (health checks never need one)."""
        if scope["type"] == "http" and scope["path"] != "/readyz/health":
            headers = dict(scope["headers"])
            if not bearer_matches(headers.get(b"authorization"), self.token):
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
    store = RegistryStore(db_path, busy_timeout_ms=busy_timeout_ms, indexer=index_properties)
    service = RegistryService(store)

    @asynccontextmanager
    async def lifespan(app: Starlette):
        try:
            yield
        finally:
            service.store.close()

    routes: list[BaseRoute] = [
        Mount(prefix, routes=api_routes(_endpoint)) for prefix in API_PREFIXES
    ]
    routes.append(Route("/readyz/health", _health, methods=["GET"]))
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPException: _http_error, Exception: _server_error},
    )
    app.state.service = service
    return BearerAuth(app, token) if token else app
