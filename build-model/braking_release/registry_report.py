"""What the registry knows about a model: every version, its verdict, where it serves, lineage.

    for version in model_report(RegistrationConfig()):
        print(version.name, version.gate_passed, version.live, version.dataset_sha256)

Read from the records `register`, `lineage` and `serving_records` write, through the official
client and its generated API, so it reads a cluster's registry the same way as the local one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from braking_release.config import RegistrationConfig
from braking_release.register import RegistrationError, connect

__all__ = ["Serving", "VersionReport", "format_report", "live_version", "model_report"]

METRIC_PREFIX = "metric."
SHOWN_METRICS = ("rmse", "mae", "r2", "under_braking_rate")
PAGE = "100"


@dataclass(frozen=True)
class Serving:
    """One InferenceService naming a version."""

    environment: str
    service: str
    desired_state: str
    url: str | None = None


@dataclass(frozen=True)
class VersionReport:
    """One version of the model as the registry records it."""

    id: str
    name: str
    state: str
    gate_passed: bool | None
    metrics: dict[str, float]
    serving: list[Serving] = field(default_factory=list)
    pipeline_run_id: str | None = None
    dataset_sha256: str | None = None
    source_revision: str | None = None
    experiment_run_id: str | None = None

    @property
    def live(self) -> bool:
        """Some InferenceService wants this version deployed."""
        return any(s.desired_state == "DEPLOYED" for s in self.serving)


async def _services(api: Any, model_id: str) -> dict[str, list[Serving]]:
    """Version id -> the InferenceServices of the model that name it."""
    listing = await api.get_inference_services(
        filter_query=f"registeredModelId = '{model_id}'", page_size=PAGE
    )
    environments: dict[str, str] = {}
    served: dict[str, list[Serving]] = {}
    for service in listing.items or []:
        environment_id = service.serving_environment_id
        if environment_id not in environments:
            environment = await api.get_serving_environment(environment_id)
            environments[environment_id] = environment.name or environment_id
        url = (service.custom_properties or {}).get("url")
        serving = Serving(
            environments[environment_id],
            service.name or service.id,
            service.desired_state.value if service.desired_state else "DEPLOYED",
            url.actual_instance.string_value if url else None,
        )
        served.setdefault(service.model_version_id or "", []).append(serving)
    return served


def _metrics(properties: dict[str, Any]) -> dict[str, float]:
    found = {}
    for key, value in properties.items():
        short = key.removeprefix(METRIC_PREFIX).removeprefix("test.")
        if key.startswith(METRIC_PREFIX) and short in SHOWN_METRICS:
            found[short] = float(value)
    return found


def model_report(config: RegistrationConfig, model_name: str | None = None) -> list[VersionReport]:
    """Every version of `model_name` (default: the configured model), oldest first."""
    name = model_name or config.model_name
    registry = connect(config)
    model = registry.get_registered_model(name)
    if model is None:
        raise RegistrationError(f"model_name {name!r}: no such registered model in the registry")

    async def services() -> dict[str, list[Serving]]:
        async with registry._api.get_client() as api:
            return await _services(api, model.id)

    served = registry.async_runner(services())
    reports = []
    for version in registry.get_model_versions(name).order_by_id().page_size(int(PAGE)):
        properties = version.custom_properties or {}
        gate = properties.get("gate_passed")
        reports.append(
            VersionReport(
                id=version.id,
                name=version.name,
                state=version.state.value if version.state else "LIVE",
                gate_passed=gate if isinstance(gate, bool) else None,
                metrics=_metrics(properties),
                serving=served.get(version.id, []),
                pipeline_run_id=properties.get("pipeline_run_id"),
                dataset_sha256=properties.get("dataset_sha256"),
                source_revision=properties.get("source_revision"),
                experiment_run_id=properties.get("experiment_run_id"),
            )
        )
    return reports


def live_version(config: RegistrationConfig, environment: str = "local") -> VersionReport | None:
    """The version an InferenceService in `environment` wants deployed (the champion)."""
    for version in reversed(model_report(config)):
        if any(
            s.environment == environment and s.desired_state == "DEPLOYED" for s in version.serving
        ):
            return version
    return None


def _verdict(passed: bool | None) -> str:
    return {True: "passed", False: "FAILED"}.get(passed, "unknown")  # type: ignore[arg-type]


def format_report(model_name: str, versions: list[VersionReport]) -> str:
    """A plain-text report: one block per version, the live one marked."""
    lines = [f"{model_name}: {len(versions)} version(s)"]
    for version in versions:
        marker = "* LIVE" if version.live else ""
        lines.append(f"version {version.name} (id {version.id}, {version.state}) {marker}".rstrip())
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(version.metrics.items()))
        lines.append(f"  gate: {_verdict(version.gate_passed)}   metrics: {metrics or '-'}")
        for serving in version.serving:
            where = f"{serving.environment}/{serving.service}"
            url = f" {serving.url}" if serving.url else ""
            lines.append(f"  serves: {where} ({serving.desired_state}){url}")
        if not version.serving:
            lines.append("  serves: nowhere")
        dataset = version.dataset_sha256[:12] if version.dataset_sha256 else "-"
        lineage = (
            f"pipeline run {version.pipeline_run_id or '-'}",
            f"dataset sha256 {dataset}",
            f"source {version.source_revision or '-'}",
            f"experiment run {version.experiment_run_id or '-'}",
        )
        lines.append(f"  lineage: {', '.join(lineage)}")
    return "\n".join(lines)
