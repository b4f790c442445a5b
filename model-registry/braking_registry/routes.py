"""Every path of the Model Registry API, mapped onto `RegistryService` calls.

Each resource family gets the same five top-level operations (create, list, get, patch,
find); nested paths (a model's versions, a run's artifacts, a service's serves...) are
listed in one table. All of them run the service in a worker thread (SQLite blocks).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from braking_registry.experiments import metric_history, upsert_run_artifact
from braking_registry.limits import MAX_BODY_BYTES, BodyTooLarge
from braking_registry.resources import (
    ARTIFACTS,
    EXPERIMENT_RUNS,
    EXPERIMENTS,
    INFERENCE_SERVICES,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    SERVE_MODELS,
    SERVING_ENVIRONMENTS,
    Kind,
)
from braking_registry.service import RegistryService, parse_id
from braking_registry.spec import InvalidRequest
from braking_registry.store import NotFound

Operation = Callable[[RegistryService, Request], Awaitable[Response]]


def json_response(content: Any, status: int = 200) -> Response:
    """`content` as JSON with `status`."""
    return Response(orjson.dumps(content), status_code=status, media_type="application/json")


async def json_body(request: Request) -> Any:
    """The parsed request body; 413 past `MAX_BODY_BYTES`, 400 when it is not JSON."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise BodyTooLarge(int(declared))
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise BodyTooLarge()
        chunks.append(chunk)
    try:
        return orjson.loads(b"".join(chunks))
    except orjson.JSONDecodeError as error:
        raise InvalidRequest("body", f"not valid JSON ({error})") from None


def _in_thread(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Awaitable[Any]:
    return run_in_threadpool(function, *args, **kwargs)


def resource_routes(
    collection: str, kind: Kind, schema: str = "", *, create_status: int = 201
) -> list[tuple[str, str, Operation]]:
    """create/list on `/{collection}`, get/patch on `/{collection}/{id}`, find on the singular
    path; `schema` (default: the kind's) names the request schemas."""
    schema = schema or kind.label
    finder = collection.removesuffix("s")
    fixed_type = "model-artifact" if schema == "ModelArtifact" else None

    async def listing(service: RegistryService, request: Request) -> Response:
        params = request.query_params
        return json_response(await _in_thread(service.list, kind, params, artifact_type=fixed_type))

    async def create(service: RegistryService, request: Request) -> Response:
        body = await json_body(request)
        created = await _in_thread(
            service.create, kind, body, f"{schema}Create", artifact_type=fixed_type
        )
        return json_response(created, create_status)

    async def existing_id(service: RegistryService, request: Request) -> int:
        resource_id = parse_id(request.path_params["id"], "id")
        row = await _in_thread(service.get_row, kind, resource_id)
        if fixed_type and row.type != fixed_type:
            raise NotFound(f"no {schema} with id {resource_id}")
        return resource_id

    async def get(service: RegistryService, request: Request) -> Response:
        resource_id = await existing_id(service, request)
        return json_response(await _in_thread(service.get, kind, resource_id))

    async def patch(service: RegistryService, request: Request) -> Response:
        resource_id = await existing_id(service, request)
        body = await json_body(request)
        updated = await _in_thread(service.update, kind, resource_id, body, f"{schema}Update")
        return json_response(updated)

    async def find(service: RegistryService, request: Request) -> Response:
        params = request.query_params
        return json_response(await _in_thread(service.find, kind, params, artifact_type=fixed_type))

    return [
        (f"/{collection}", "GET", listing),
        (f"/{collection}", "POST", create),
        (f"/{collection}/{{id}}", "GET", get),
        (f"/{collection}/{{id}}", "PATCH", patch),
        (f"/{finder}", "GET", find),
    ]


def _children(kind: Kind, parent: Kind) -> Operation:
    """List the `kind` resources under the parent named by the path's `{id}`."""

    async def listing(service: RegistryService, request: Request) -> Response:
        parent_id = parse_id(request.path_params["id"], "id")
        params = request.query_params
        listed = await _in_thread(service.list, kind, params, parent=(parent, parent_id))
        return json_response(listed)

    return listing


def _create_child(kind: Kind, parent: Kind) -> Operation:
    """Create a `kind` resource under the parent named by the path's `{id}`."""

    async def create(service: RegistryService, request: Request) -> Response:
        parent_id = parse_id(request.path_params["id"], "id")
        body = await json_body(request)
        if isinstance(body, dict) and kind.parent_field:
            body.setdefault(kind.parent_field, str(parent_id))
        await _in_thread(service.get_row, parent, parent_id)
        schema = f"{kind.label}Create"
        created = await _in_thread(service.create, kind, body, schema, parent_id=parent_id)
        return json_response(created, 201)

    return create


def _nested(path: str, child: Kind, parent: Kind) -> list[tuple[str, str, Operation]]:
    """List and add `child` resources under `parent` (artifacts are upserted)."""
    add = _upsert_artifact(parent) if child.artifact else _create_child(child, parent)
    return [(path, "GET", _children(child, parent)), (path, "POST", add)]


def _upsert_artifact(parent: Kind) -> Operation:
    async def upsert(service: RegistryService, request: Request) -> Response:
        parent_id = parse_id(request.path_params["id"], "id")
        body = await json_body(request)
        if parent is EXPERIMENT_RUNS:
            artifact, created = await _in_thread(upsert_run_artifact, service, parent_id, body)
        else:
            artifact, created = await _in_thread(service.upsert_artifact, parent, parent_id, body)
        return json_response(artifact, 201 if created else 200)

    return upsert


async def _history(service: RegistryService, request: Request) -> Response:
    run_id = request.path_params.get("id")
    return json_response(await _in_thread(metric_history, service, request.query_params, run_id))


def _served(what: str) -> Operation:
    """The registered model (`what` = "model") or version an inference service serves."""

    async def served(service: RegistryService, request: Request) -> Response:
        service_id = parse_id(request.path_params["id"], "id")
        row = await _in_thread(service.get_row, INFERENCE_SERVICES, service_id)
        if what == "model":
            model_id = int(row.body["registeredModelId"])
            return json_response(await _in_thread(service.get, REGISTERED_MODELS, model_id))
        version_id = row.body.get("modelVersionId")
        if version_id is None:  # unset: the model's latest version, as the spec says
            latest = await _in_thread(
                service.list,
                MODEL_VERSIONS,
                {"sortOrder": "DESC", "pageSize": "1"},
                parent=(REGISTERED_MODELS, int(row.body["registeredModelId"])),
            )
            if not latest["items"]:
                raise NotFound(f"InferenceService {service_id} serves a model without versions")
            return json_response(latest["items"][0])
        return json_response(await _in_thread(service.get, MODEL_VERSIONS, int(version_id)))

    return served


def api_routes(endpoint: Callable[[Operation], Callable]) -> list[Route]:
    """Every operation of the spec, relative to the API prefix, each wrapped by `endpoint`."""
    table = [
        # Before /experiment_runs/{id}, which would take "metric_history" for an id.
        ("/experiment_runs/metric_history", "GET", _history),
        *resource_routes("registered_models", REGISTERED_MODELS),
        *resource_routes("model_versions", MODEL_VERSIONS),
        *resource_routes("model_artifacts", ARTIFACTS, "ModelArtifact"),
        *resource_routes("artifacts", ARTIFACTS),
        *resource_routes("experiments", EXPERIMENTS),
        *resource_routes("experiment_runs", EXPERIMENT_RUNS),
        *resource_routes("serving_environments", SERVING_ENVIRONMENTS),
        # The spec declares 200 (not 201) for this create.
        *resource_routes("inference_services", INFERENCE_SERVICES, create_status=200),
        *_nested("/registered_models/{id}/versions", MODEL_VERSIONS, REGISTERED_MODELS),
        *_nested("/model_versions/{id}/artifacts", ARTIFACTS, MODEL_VERSIONS),
        *_nested("/experiments/{id}/experiment_runs", EXPERIMENT_RUNS, EXPERIMENTS),
        *_nested("/experiment_runs/{id}/artifacts", ARTIFACTS, EXPERIMENT_RUNS),
        ("/experiment_runs/{id}/metric_history", "GET", _history),
        *_nested(
            "/serving_environments/{id}/inference_services",
            INFERENCE_SERVICES,
            SERVING_ENVIRONMENTS,
        ),
        ("/inference_services/{id}/model", "GET", _served("model")),
        ("/inference_services/{id}/version", "GET", _served("version")),
        *_nested("/inference_services/{id}/serves", SERVE_MODELS, INFERENCE_SERVICES),
    ]
    return [Route(path, endpoint(operation), methods=[method]) for path, method, operation in table]
