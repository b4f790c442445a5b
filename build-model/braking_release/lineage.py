"""Lifecycle records in the Model Registry: what was trained, from what, and where it serves.

    record_training(model_dir, registered, config, run_id="run-42", dataset_uri="s3://...")
    record_deployment(registered, config, environment="braking-prod", service="braking")
    record_undeployment(config, environment="braking-prod", service="braking")

Training becomes an ExperimentRun (named after the pipeline run) in the Experiment named after
the model: its hyperparameters as Parameters, its test metrics as Metrics, every tuning trial's
CV RMSE as the metric history of `trial_cv_rmse`, and the training data as a DataSet (URI,
sha256 digest, rows). The model card becomes a DocArtifact on the version. Deployment becomes
a ServingEnvironment (the namespace, or `local`) holding an InferenceService that names the
registered model, the version and the desired state, plus a ServeModel record per deployment.

Calls go through the official client where it has them (documents, versions), its generated
`mr_openapi` API for serving records, and that API's transport for experiments, which the
installed client (0.3.18) does not model. Every record is idempotent: recording again updates.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from braking_release.config import RegistrationConfig
from braking_release.register import RegisteredModelVersion, connect

if TYPE_CHECKING:
    from model_registry import ModelRegistry

__all__ = ["TrainingRecord", "record_training"]

# The prefix the installed client's generated API uses (the server also serves v1alpha3).
API_PREFIX = "/api/model_registry/v1"
MODEL_CARD = "model_card.md"
METRICS_FILE = "metrics.json"
TRIALS_FILE = "trials.csv"
TRIAL_METRIC = "trial_cv_rmse"
# metrics.json keys recorded as run parameters, and numbers there that are not metrics.
RUN_PARAMETERS = ("model_family", "seed", "best_trial")
NOT_METRICS = frozenset({*RUN_PARAMETERS, "train_rows", "test_rows"})


@dataclass(frozen=True)
class TrainingRecord:
    """Ids of what `record_training` wrote."""

    experiment_id: str
    experiment_run_id: str
    dataset_artifact_id: str
    model_card_artifact_id: str


class _Rest:
    """JSON calls through the generated client's transport (same auth, TLS and retries)."""

    def __init__(self, api: Any) -> None:
        self.api_client = api.api_client

    async def call(self, method: str, path: str, body: Any = None, **query: str) -> Any:
        from mr_openapi.api_client import ApiClient

        client: ApiClient = self.api_client
        params = client.param_serialize(
            method=method,
            resource_path=API_PREFIX + path,
            query_params=list(query.items()),
            header_params={"Content-Type": "application/json", "Accept": "application/json"},
            body=body,
            auth_settings=["Bearer"],
        )
        response = await client.call_api(*params)
        await response.read()
        return client.response_deserialize(response, {"2XX": "object"}).data

    async def find(self, path: str, **query: str) -> dict | None:
        """The resource a find-one path returns, or None on 404."""
        from mr_openapi.exceptions import NotFoundException

        try:
            return await self.call("GET", path, **query)
        except NotFoundException:
            return None

    async def find_or_create(self, finder: str, collection: str, body: dict, **query: str) -> dict:
        return await self.find(finder, **query) or await self.call("POST", collection, body)


def _value(value: Any) -> dict[str, Any]:
    """A MetadataValue for a Python scalar (ints beyond int32 travel as doubles)."""
    if isinstance(value, bool):
        return {"metadataType": "MetadataBoolValue", "bool_value": value}
    if isinstance(value, int) and abs(value) <= 2**31 - 1:
        return {"metadataType": "MetadataIntValue", "int_value": str(value)}
    if isinstance(value, int | float):
        return {"metadataType": "MetadataDoubleValue", "double_value": float(value)}
    return {"metadataType": "MetadataStringValue", "string_value": str(value)}


def _parameter(name: str, value: Any) -> dict[str, Any]:
    kind = {bool: "boolean", int: "number", float: "number", str: "string"}.get(type(value))
    text = json.dumps(value) if kind is None else str(value)
    return {
        "artifactType": "parameter",
        "name": name,
        "value": text,
        "parameterType": kind or "object",
    }


def _metric(name: str, value: float, step: int = 0) -> dict[str, Any]:
    return {"artifactType": "metric", "name": name, "value": float(value), "step": step}


def _scalar_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        key: float(value)
        for key, value in metrics.items()
        if isinstance(value, int | float) and not isinstance(value, bool)
    }


def _trial_scores(model_dir: Path) -> list[float]:
    """Mean CV RMSE of every tuning trial, in trial order (empty without trials.csv)."""
    path = model_dir / TRIALS_FILE
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as stream:
        rows = [row for row in csv.DictReader(stream) if row.get("mean_cv_rmse")]
    rows.sort(key=lambda row: int(float(row.get("trial") or 0)))
    return [float(row["mean_cv_rmse"]) for row in rows]


def _beside(uri: str, file_name: str) -> str:
    """The URI of `file_name` inside the folder `uri` names (query kept, e.g. S3 endpoint)."""
    parts = urlsplit(uri)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + "/" + file_name))


async def _upsert_run_artifacts(
    rest: _Rest, run_id: str, artifacts: list[dict[str, Any]]
) -> dict[str, dict]:
    """Add artifacts to a run, updating those already there by (type, name)."""
    existing = await rest.call("GET", f"/experiment_runs/{run_id}/artifacts", pageSize="1000")
    known = {(a["artifactType"], a.get("name")): a["id"] for a in existing["items"]}
    stored = {}
    for artifact in artifacts:
        key = (artifact["artifactType"], artifact["name"])
        # A metric is upserted by name by the server (and appended to its metric history).
        update = key in known and artifact["artifactType"] != "metric"
        body = {**artifact, "id": known[key]} if update else artifact
        stored[artifact["name"]] = await rest.call(
            "POST", f"/experiment_runs/{run_id}/artifacts", body
        )
    return stored


def _run_artifacts(summary: Mapping[str, Any], dataset_uri: str | None) -> list[dict[str, Any]]:
    """The run's DataSet, Parameters (hyperparameters, family, seed) and Metrics."""
    sha256 = summary.get("training_data_sha256") or summary.get("dataset_sha256") or ""
    dataset = {
        "artifactType": "dataset-artifact",
        "name": "training-data",
        "uri": dataset_uri or f"urn:sha256:{sha256}",
        "digest": f"sha256:{sha256}",
        "customProperties": {"rows": _value(int(summary.get("train_rows", 0)))},
    }
    parameters = dict(summary.get("hyperparameters") or summary.get("params") or {})
    parameters |= {key: summary[key] for key in RUN_PARAMETERS if key in summary}
    metrics = {k: v for k, v in _scalar_metrics(summary).items() if k not in NOT_METRICS}
    return [
        dataset,
        *(_parameter(name, value) for name, value in sorted(parameters.items())),
        *(_metric(name, value) for name, value in sorted(metrics.items())),
    ]


async def _record_run(
    rest: _Rest,
    model_dir: Path,
    registered: RegisteredModelVersion,
    config: RegistrationConfig,
    *,
    run_id: str,
    dataset_uri: str | None,
    source_revision: str | None,
) -> tuple[str, str, str]:
    summary = json.loads((model_dir / METRICS_FILE).read_text(encoding="utf-8"))
    experiment = await rest.find_or_create(
        "/experiment", "/experiments", {"name": config.model_name}, name=config.model_name
    )
    properties = {"model_version_id": registered.model_version_id}
    if source_revision:
        properties["source_revision"] = source_revision
    run_body = {
        "name": run_id,
        "experimentId": experiment["id"],
        "status": "FINISHED",
        "customProperties": {key: _value(value) for key, value in properties.items()},
    }
    run = await rest.find(
        "/experiment_run", name=run_id, parentResourceId=experiment["id"]
    ) or await rest.call("POST", "/experiment_runs", run_body)
    artifacts = _run_artifacts(summary, dataset_uri)
    stored = await _upsert_run_artifacts(rest, run["id"], artifacts)
    history = await rest.call(
        "GET", f"/experiment_runs/{run['id']}/metric_history", name=TRIAL_METRIC, pageSize="1000"
    )
    logged = {item.get("step") for item in history["items"]}
    for step, score in enumerate(_trial_scores(model_dir)):
        if step not in logged:
            trial = _metric(TRIAL_METRIC, score, step)
            await rest.call("POST", f"/experiment_runs/{run['id']}/artifacts", trial)
    return experiment["id"], run["id"], stored["training-data"]["id"]


async def _record_model_card(
    registry: ModelRegistry, model_dir: Path, registered: RegisteredModelVersion
) -> str:
    """The model card as a DocArtifact on the version (updated when it exists)."""
    from model_registry.types import DocArtifact

    api = registry._api
    artifacts = await api.get_model_version_artifacts(registered.model_version_id)
    existing = next(
        (a for a in artifacts if isinstance(a, DocArtifact) and a.name == "model-card"), None
    )
    card = DocArtifact(
        name="model-card",
        uri=_beside(registered.uri, MODEL_CARD) if registered.uri else None,
        description=f"Model card of {model_dir.name}",
        id=existing.id if existing else None,
    )
    stored = await api.upsert_model_version_artifact(card, registered.model_version_id)
    return str(stored.id)


def record_training(
    model_dir: Path | str,
    registered: RegisteredModelVersion,
    config: RegistrationConfig | None = None,
    *,
    run_id: str,
    dataset_uri: str | None = None,
    source_revision: str | None = None,
) -> TrainingRecord:
    """Record how `registered` was trained: experiment run, parameters, metrics, trials,
    dataset and model card (idempotent per `run_id`)."""
    config = config or RegistrationConfig()
    model_dir = Path(model_dir)
    registry = connect(config)

    async def record() -> TrainingRecord:
        async with registry._api.get_client() as api:
            experiment_id, run, dataset_id = await _record_run(
                _Rest(api),
                model_dir,
                registered,
                config,
                run_id=run_id,
                dataset_uri=dataset_uri,
                source_revision=source_revision,
            )
        card_id = await _record_model_card(registry, model_dir, registered)
        return TrainingRecord(experiment_id, run, dataset_id, card_id)

    record_ids = registry.async_runner(record())
    version = registry.get_model_version(config.model_name, registered.version_name)
    version.custom_properties = {
        **(version.custom_properties or {}),
        "experiment_id": record_ids.experiment_id,
        "experiment_run_id": record_ids.experiment_run_id,
    }
    registry.update(version)
    return record_ids
