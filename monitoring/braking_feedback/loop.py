"""The whole feedback loop on the embedded stack, step by step (`braking monitor loop`):

serve -> drifted traffic -> alarm -> retrain -> compare -> promote or keep.

Every step uses the same pieces as the cluster: the inference server logs to the collector,
the collector raises the alarm after two drifted windows, the trigger starts retraining on
fresh data following the traffic, and the promotion rule decides on the labelled window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np

from braking_data.contract import FEATURE_COLUMNS, INPUT_TENSOR, LABEL_COLUMN, OUTPUT_TENSOR
from braking_data.scenario import Scenario, generate_scenario_frame, traffic_scenario
from braking_feedback.champion import registered_version
from braking_feedback.retrain import (
    LOOP_TRAINING_ROWS,
    Challenger,
    onnx_predictions,
    train_challenger,
)
from braking_feedback.trigger import RetrainTrigger, TriggerConfig
from braking_model.reference import ReferenceProfile
from braking_monitoring import champions as champion
from braking_monitoring.promotion import PromotionDecision, compare_models
from braking_release.config import DeployConfig, LocalServingTarget, RegistrationConfig
from braking_release.deploy import deploy_model
from braking_release.register import register_model
from braking_stack.config import StackConfig
from braking_stack.stack import ensure_stack

SERVICES = ("registry", "serving", "monitoring")


@dataclass
class LoopResult:
    """What one run of the loop did: versions, alarm, decision, printed steps."""

    champion: str
    challenger: str | None = None
    alarm: bool = False
    decision: PromotionDecision | None = None
    steps: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Traffic:
    """Served rows: features, true labels, the champion's answers, inference ids."""

    features: np.ndarray
    labels: np.ndarray
    served: np.ndarray
    ids: list[str]


class Loop:
    """One run of the loop against a started stack."""

    def __init__(
        self, stack: StackConfig, work_dir: Path, say: Callable[[str], None], window_rows: int
    ) -> None:
        status = ensure_stack(stack.model_copy(update={"services": SERVICES}))
        self.collector = status.services["monitoring"].url
        self.serving = status.serving_url
        self.registration = RegistrationConfig(registry_url=status.registry_url)
        self.deploy = DeployConfig(
            local=LocalServingTarget(server_url=self.serving, repository=status.model_repository)
        )
        self.work_dir = work_dir
        self.say = say
        self.window_rows = window_rows
        self.http = httpx.Client(timeout=30)

    def publish_profile(self, version: str, model_dir: Path) -> None:
        """Hand the version's reference profile to the collector, with the loop's window."""
        profile = ReferenceProfile.load(model_dir)
        profile.thresholds.window_rows = self.window_rows
        url = f"{self.collector}/profiles/{self.registration.model_name}"
        response = self.http.put(
            url, params={"version": version}, content=profile.model_dump_json()
        )
        response.raise_for_status()

    def release(self, model_dir: Path, allow_failed_gate: bool = False) -> str:
        """Register, deploy and crown `model_dir`; returns its version name."""
        registered = register_model(
            model_dir, self.registration, allow_failed_gate=allow_failed_gate
        )
        self.publish_profile(registered.version_name, model_dir)
        deploy_model(model_dir, self.deploy, registered=registered)
        champion.set_champion(self.registration, registered.version_name)
        return registered.version_name

    def serve(self, scenario: Scenario, rows: int, seed: int, batch: int = 50) -> Traffic:
        """Send `rows` rows of the scenario to the server, `batch` rows per request."""
        frame = generate_scenario_frame(rows, seed, scenario)
        features = frame[list(FEATURE_COLUMNS)].to_numpy(np.float32)
        served, ids = [], []
        url = f"{self.serving}/v2/models/{self.registration.model_name}/infer"
        for start in range(0, rows, batch):
            part = features[start : start + batch]
            request_id = f"loop-{seed}-{start}"
            tensor = {"name": INPUT_TENSOR, "shape": list(part.shape), "datatype": "FP32",
                      "data": part.ravel().tolist()}  # fmt: skip
            answer = self.http.post(url, json={"id": request_id, "inputs": [tensor]})
            answer.raise_for_status()
            output = next(o for o in answer.json()["outputs"] if o["name"] == OUTPUT_TENSOR)
            served.extend(output["data"])
            ids += [f"{request_id}:{i}" for i in range(len(part))]
        labels = frame[LABEL_COLUMN].to_numpy(np.float64)
        return Traffic(features, labels, np.asarray(served), ids)

    def status(self) -> dict:
        """The collector's windows, labelled windows and alarms."""
        return self.http.get(f"{self.collector}/monitor/status").json()

    def wait_for_windows(self, version: str, count: int, timeout: float = 60.0) -> dict:
        """Wait until the collector evaluated `count` windows of `version`; their state."""
        deadline = time.monotonic() + timeout
        while True:
            model = self.status()["models"].get(self.registration.model_name, {})
            state = model.get("versions", {}).get(version)
            if state and len(state["windows"]) >= count:
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"collector saw fewer than {count} windows of v{version}")
            time.sleep(0.2)

    def send_labels(self, traffic: Traffic) -> None:
        """Send the traffic's ground truth to the collector, by inference id."""
        body = {"model_name": self.registration.model_name, "ids": traffic.ids,
                "labels": traffic.labels.tolist()}  # fmt: skip
        self.http.post(f"{self.collector}/data/labels", json=body).raise_for_status()


def run_loop(
    stack: StackConfig,
    work_dir: Path,
    scenario: Scenario,
    *,
    rows: int = LOOP_TRAINING_ROWS,
    seed: int = 7,
    window_rows: int = 1_000,
    search_space: Path | None = None,
    say: Callable[[str], None] = print,
) -> LoopResult:
    """Run the loop once and say each step; returns what happened."""
    loop = Loop(stack, work_dir, say, window_rows)
    serving = champion.champions(loop.registration).champion
    if serving is None:
        first = train_challenger(work_dir / "champion", Scenario(), seed, rows, 2, search_space)
        # The loop needs a model serving to show drift; the gate's verdict is printed, and
        # every later challenger must pass it to be promoted.
        serving = loop.release(first.model_dir, allow_failed_gate=True)
        gate = "passed" if first.gate_passed else f"failed: {'; '.join(first.gate_reasons)}"
        say(f"serve     : no champion yet: trained one on the default world (gate {gate})")
    else:
        version = registered_version(loop.registration, serving)
        loop.publish_profile(serving, Path(version.uri.removeprefix("file://")))
    result = LoopResult(champion=serving)
    say(f"serve     : champion v{serving} serving at {loop.serving}")
    loop.serve(Scenario(), window_rows, seed + 1)
    before = len(loop.wait_for_windows(serving, 1)["windows"])
    say(f"serve     : {window_rows} rows of normal traffic, window drifted: no")
    traffic = loop.serve(scenario, 2 * window_rows, seed + 2)
    versioned = loop.wait_for_windows(serving, before + 2)
    alarm = next(a for a in versioned["alarms"] if a["reason"] == "drift")
    result.alarm = alarm["active"]
    say(f"drift     : {2 * window_rows} rows of {scenario.model_dump(exclude_defaults=True)}")
    say(f"alarm     : {'RAISED' if alarm['active'] else 'none'} {'; '.join(alarm['details'][:2])}")
    if not alarm["active"]:
        return result
    loop.send_labels(traffic)
    say(f"labels    : {len(traffic.ids)} ground truths sent for the drifted rows")
    trigger = RetrainTrigger(
        lambda args: train_challenger(
            work_dir / "challenger",
            traffic_scenario(traffic.features),
            args["seed"],
            rows,
            2,
            search_space,
        ),
        TriggerConfig(),
        background=False,
    )
    outcome = trigger.fire(loop.registration.model_name, serving, "drift")
    challenger: Challenger = trigger.results[-1]
    gate = "passed" if challenger.gate_passed else f"FAILED: {'; '.join(challenger.gate_reasons)}"
    say(f"retrain   : {outcome.action}, fresh data seed {challenger.seed}, world "
        f"{challenger.scenario.model_dump(exclude_defaults=True)}, gate {gate}")  # fmt: skip
    decision = compare_models(
        traffic.labels,
        traffic.served,
        onnx_predictions(challenger.model_dir, traffic.features),
        challenger.gate_passed,
    )
    result.decision = decision
    evidence = decision.evidence
    if evidence is not None:
        say(f"compare   : RMSE champion {evidence.champion_rmse:.4f} vs challenger "
            f"{evidence.challenger_rmse:.4f}, upper 95% bound of the difference "
            f"{evidence.rmse_diff_upper:+.4f}; under-braking "
            f"{evidence.champion_under_braking:.3f} vs "
            f"{evidence.challenger_under_braking:.3f}")  # fmt: skip
    registered = register_model(
        challenger.model_dir, loop.registration, allow_failed_gate=not challenger.gate_passed
    )
    result.challenger = registered.version_name
    champion.record_decision(
        loop.registration, registered.version_name, decision, archive=not challenger.gate_passed
    )
    if decision.promote:
        loop.release(challenger.model_dir)
    verb = "PROMOTE" if decision.promote else "KEEP champion"
    record = "" if challenger.gate_passed else ", archived"
    say(f"decision  : {verb} ({'; '.join(decision.reasons)}); recorded on challenger "
        f"v{registered.version_name}{record}")  # fmt: skip
    return result
