"""Experiment-run artifacts and metric history, on top of the generic service.

Logging a metric on a run upserts the run's artifact of that name (so the run shows the
latest value) and appends a `metric_history` record (so every step stays listed), which is
what upstream's `metric_history` endpoints return.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from braking_registry.filter_sql import Condition
from braking_registry.resources import EXPERIMENT_RUNS, METRIC_HISTORY
from braking_registry.service import RegistryService, parse_id
from braking_registry.spec import InvalidRequest
from braking_registry.store import Criteria, NotFound

STEP_IDS = re.compile(r"^[0-9]{1,9}(,[0-9]{1,9})*$")
_HISTORY_FIELDS = ("value", "timestamp", "step", "state", "description", "customProperties")


def upsert_run_artifact(
    service: RegistryService, run_id: int, body: Any
) -> tuple[dict[str, Any], bool]:
    """Attach an artifact to an experiment run; a metric is upserted by name and recorded."""
    run = service.get_row(EXPERIMENT_RUNS, run_id)
    origin = {"experimentId": str(run.parent_id), "experimentRunId": str(run_id)}
    if isinstance(body, dict) and body.get("artifactType") == "metric" and not body.get("id"):
        try:
            criteria = Criteria("artifact", "metric", body.get("name"), None, run_id)
            body = {**body, "id": str(service.store.find(criteria).id)}
        except NotFound:
            pass
    artifact, created = service.upsert_artifact(EXPERIMENT_RUNS, run_id, body, extra=origin)
    if artifact["artifactType"] == "metric":
        history = {key: artifact[key] for key in _HISTORY_FIELDS if key in artifact}
        service.store.create(
            METRIC_HISTORY.kind,
            "metric",
            {**history, **origin},
            name=artifact.get("name"),
            parent_id=run_id,
        )
    return artifact, created


def _steps(query: Mapping[str, str]) -> Condition | None:
    steps = query.get("stepIds")
    if not steps:
        return None
    if not STEP_IDS.match(steps):
        raise InvalidRequest("stepIds", f"{steps[:80]!r} is not a comma-separated list of steps")
    values = tuple(int(step) for step in steps.split(","))
    return Condition(
        "id IN (SELECT resource_id FROM properties WHERE name = 'step' AND custom = 0 "
        f"AND int_value IN ({', '.join('?' * len(values))}))",
        values,
    )


def metric_history(
    service: RegistryService, query: Mapping[str, str], run_id: str | None = None
) -> dict[str, Any]:
    """Every logged value of a run's metrics (or all runs'), narrowed by name and stepIds."""
    parent = (EXPERIMENT_RUNS, parse_id(run_id, "experimentrunId")) if run_id else None
    return service.list(METRIC_HISTORY, query, parent=parent, condition=_steps(query))
