"""The retraining trigger: an alarm in, at most one retraining run out.

`RetrainTrigger.fire` decides, per alarm, whether to start a run: never while one is running,
never twice for the same (model, version, reason) within `dedup_seconds`, and never within
`cooldown_seconds` of the previous start. Runs start on a worker thread through a `starter`
(kfp.local on the embedded stack, a DSPA run on the cluster, or the in-process loop), with a
data seed derived from the start time so every retraining draws fresh data.

`webhook_app` receives Alertmanager's webhook (payload version 4) so that, on the cluster, a
PrometheusRule on the collector's alarm gauge starts retraining with no code in between.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from braking_common.defaults import LOOPBACK_HOST, TRIGGER_PORT
from braking_data.seeds import seed_from_time

Starter = Callable[[dict[str, Any]], Any]


class TriggerConfig(BaseSettings):
    """The trigger (`braking monitor trigger`). Env prefix BRAKING_TRIGGER_."""

    model_config = SettingsConfigDict(env_prefix="BRAKING_TRIGGER_")

    host: str = Field(LOOPBACK_HOST, description="interface of the webhook endpoint")
    port: int = Field(TRIGGER_PORT, ge=0, le=65535, description="port of the webhook endpoint")
    target: str = Field("kfp-local", description="kfp-local (embedded stack) or dspa (cluster)")
    cooldown_seconds: float = Field(3600.0, ge=0, description="least time between two starts")
    dedup_seconds: float = Field(
        86400.0, ge=0, description="one run per (model, version, reason) within this time"
    )
    data_rows: int = Field(100_000, ge=1000, description="rows the retraining run generates")
    log_fraction: float = Field(
        0.2, ge=0, le=1, description="share of those rows taken from labelled logged traffic"
    )
    cluster_url: str = Field(
        "http://braking-retrain-trigger.braking-distance.svc:8084",
        description="the trigger's in-cluster URL, which Alertmanager's webhook calls",
    )


@dataclass
class TriggerOutcome:
    """What the trigger did with one alarm, and why."""

    action: str  # started | busy | duplicate | cooling_down
    model: str
    version: str
    reason: str
    message: str
    arguments: dict[str, Any] = field(default_factory=dict)


class RetrainTrigger:
    """De-duplicated, cooled-down, one-at-a-time starts of retraining runs."""

    def __init__(
        self,
        starter: Starter,
        config: TriggerConfig | None = None,
        clock: Callable[[], float] = time.time,
        background: bool = True,
    ) -> None:
        self.starter = starter
        self.config = config or TriggerConfig()
        self.clock = clock
        self.background = background
        self._lock = threading.Lock()
        self._running: threading.Thread | None = None
        self._busy = False
        self._last_start: float | None = None
        self._fired: dict[tuple[str, str, str], float] = {}
        self.history: list[TriggerOutcome] = []
        self.results: list[Any] = []

    def fire(self, model: str, version: str, reason: str) -> TriggerOutcome:
        """Start a retraining run for this alarm unless a rule says not to; says which."""
        with self._lock:
            now = self.clock()
            key = (model, version, reason)
            last = self._fired.get(key)
            if self._busy:
                outcome = self._outcome("busy", key, "a retraining run is already running")
            elif last is not None and now - last < self.config.dedup_seconds:
                outcome = self._outcome(
                    "duplicate", key, f"already started a run for this alarm {now - last:.0f} s ago"
                )
            elif (
                self._last_start is not None
                and now - self._last_start < self.config.cooldown_seconds
            ):
                wait = self.config.cooldown_seconds - (now - self._last_start)
                outcome = self._outcome(
                    "cooling_down", key, f"cool-down: next start in {wait:.0f} s"
                )
            else:
                arguments = {
                    "seed": seed_from_time(now),
                    "data_rows": self.config.data_rows,
                    "log_fraction": self.config.log_fraction,
                }
                outcome = self._outcome("started", key, "retraining run started", arguments)
                self._fired[key] = self._last_start = now
                self._busy = True
            self.history.append(outcome)
        if outcome.action == "started":
            if self.background:
                self._running = threading.Thread(target=self._run, args=(outcome,), daemon=True)
                self._running.start()
            else:
                self._run(outcome)
        return outcome

    def _run(self, outcome: TriggerOutcome) -> None:
        try:
            self.results.append(self.starter({**outcome.arguments, "alarm": asdict(outcome)}))
        except Exception as error:  # a failed run must free the trigger for the next alarm
            self.results.append(error)
        finally:
            with self._lock:
                self._busy = False

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the running retraining run (if any) to end."""
        if self._running is not None:
            self._running.join(timeout)

    @staticmethod
    def _outcome(
        action: str,
        key: tuple[str, str, str],
        message: str,
        arguments: dict[str, Any] | None = None,
    ) -> TriggerOutcome:
        model, version, reason = key
        return TriggerOutcome(action, model, version, reason, message, arguments or {})


def firing_alarms(payload: dict) -> list[tuple[str, str, str]]:
    """(model, version, reason) of each firing alert in an Alertmanager webhook payload."""
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise ValueError("alerts: expected the list of an Alertmanager webhook payload")
    fired = []
    for index, alert in enumerate(alerts):
        if not isinstance(alert, dict) or alert.get("status") != "firing":
            continue
        labels = alert.get("labels") or {}
        missing = [k for k in ("model", "version", "reason") if not labels.get(k)]
        if missing:
            raise ValueError(f"alerts[{index}].labels: missing {', '.join(missing)}")
        fired.append((labels["model"], labels["version"], labels["reason"]))
    return fired


def webhook_app(trigger: RetrainTrigger):
    """ASGI app: POST /alerts (Alertmanager webhook), GET /runs (what the trigger did)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def alerts(request: Request) -> JSONResponse:
        try:
            payload = await request.json()
            fired = firing_alarms(payload if isinstance(payload, dict) else {})
        except ValueError as error:
            return JSONResponse({"detail": str(error)}, status_code=400)
        outcomes = [trigger.fire(*alarm) for alarm in fired]
        return JSONResponse({"outcomes": [asdict(o) for o in outcomes]})

    async def runs(request: Request) -> JSONResponse:
        return JSONResponse({"history": [asdict(o) for o in trigger.history]})

    return Starlette(
        routes=[Route("/alerts", alerts, methods=["POST"]), Route("/runs", runs, methods=["GET"])]
    )
