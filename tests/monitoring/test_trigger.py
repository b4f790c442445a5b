"""The retraining trigger: de-duplication per version and reason, cool-down, one at a time,
and the Alertmanager webhook that feeds it."""

from __future__ import annotations

import threading

import pytest
from starlette.testclient import TestClient

from braking_feedback.trigger import (
    RetrainTrigger,
    TriggerConfig,
    firing_alarms,
    seed_from_time,
    webhook_app,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _trigger(clock: Clock, started: list) -> RetrainTrigger:
    config = TriggerConfig(cooldown_seconds=600, dedup_seconds=3600)
    return RetrainTrigger(started.append, config, clock=clock, background=False)


def test_same_alarm_starts_one_run_until_dedup_window_ends():
    clock, started = Clock(), []
    trigger = _trigger(clock, started)
    assert trigger.fire("m", "3", "drift").action == "started"
    clock.now += 700  # past the cool-down, inside the dedup window
    assert trigger.fire("m", "3", "drift").action == "duplicate"
    clock.now += 3000
    assert trigger.fire("m", "3", "drift").action == "started"
    assert len(started) == 2


def test_other_alarms_wait_for_the_cool_down():
    clock, started = Clock(), []
    trigger = _trigger(clock, started)
    trigger.fire("m", "3", "drift")
    clock.now += 60
    outcome = trigger.fire("m", "3", "performance")
    assert outcome.action == "cooling_down" and "540 s" in outcome.message
    clock.now += 600
    assert trigger.fire("m", "3", "performance").action == "started"
    assert trigger.fire("m", "4", "drift").action == "cooling_down"


def test_one_run_at_a_time():
    release = threading.Event()
    trigger = RetrainTrigger(lambda args: release.wait(5), TriggerConfig(cooldown_seconds=0))
    assert trigger.fire("m", "3", "drift").action == "started"
    assert trigger.fire("m", "4", "drift").action == "busy"
    release.set()
    trigger.wait(5)
    assert trigger.fire("m", "4", "drift").action == "started"


def test_failed_run_frees_the_trigger_and_is_kept():
    def fail(args):
        raise RuntimeError("pipeline failed")

    trigger = RetrainTrigger(fail, TriggerConfig(cooldown_seconds=0), background=False)
    trigger.fire("m", "3", "drift")
    assert isinstance(trigger.results[0], RuntimeError)
    assert trigger.fire("m", "4", "drift").action == "started"


def test_runs_get_a_seed_from_their_start_time():
    clock, started = Clock(), []
    _trigger(clock, started).fire("m", "3", "drift")
    assert started[0]["seed"] == seed_from_time(clock.now) == 1_000_000
    assert started[0]["alarm"]["reason"] == "drift"
    # ...and mix a share of labelled logged traffic into the fresh rows.
    assert started[0]["log_fraction"] == TriggerConfig().log_fraction > 0


ALERTMANAGER_PAYLOAD = {  # the shape Alertmanager's webhook_config posts (version 4)
    "version": "4",
    "groupKey": '{}:{alertname="BrakingModelAlarm"}',
    "status": "firing",
    "receiver": "braking-retrain",
    "groupLabels": {"alertname": "BrakingModelAlarm"},
    "commonLabels": {"alertname": "BrakingModelAlarm"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "BrakingModelAlarm",
                "model": "braking-distance",
                "version": "3",
                "reason": "drift",
            },
            "annotations": {},
            "startsAt": "2026-03-01T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "",
            "fingerprint": "a1",
        },
        {
            "status": "resolved",
            "labels": {
                "alertname": "BrakingModelAlarm",
                "model": "braking-distance",
                "version": "2",
                "reason": "drift",
            },
            "annotations": {},
            "startsAt": "2026-03-01T09:00:00Z",
            "endsAt": "2026-03-01T09:30:00Z",
            "generatorURL": "",
            "fingerprint": "b2",
        },
    ],
}


def test_webhook_starts_one_run_for_the_firing_alert():
    started = []
    trigger = RetrainTrigger(started.append, TriggerConfig(), background=False)
    client = TestClient(webhook_app(trigger))
    first = client.post("/alerts", json=ALERTMANAGER_PAYLOAD).json()["outcomes"]
    again = client.post("/alerts", json=ALERTMANAGER_PAYLOAD).json()["outcomes"]
    assert [o["action"] for o in first] == ["started"]
    assert [o["action"] for o in again] == ["duplicate"]
    assert len(started) == 1
    assert len(client.get("/runs").json()["history"]) == 2


@pytest.mark.parametrize(
    ("payload", "message"),
    [({}, "alerts"), ({"alerts": [{"status": "firing", "labels": {"model": "m"}}]}, "version")],
)
def test_malformed_webhook_payloads_are_refused(payload, message):
    with pytest.raises(ValueError, match=message):
        firing_alarms(payload)
    client = TestClient(webhook_app(RetrainTrigger(print)))
    assert client.post("/alerts", json=payload).status_code == 400


def test_a_run_follows_the_world_of_the_alarmed_versions_traffic(tmp_path):
    import time

    from braking_data.contract import FEATURE_COLUMNS
    from braking_data.scenario import Scenario, generate_scenario_frame
    from braking_feedback.starters import run_arguments
    from braking_monitoring.events import InferenceRows
    from braking_monitoring.store import InferenceStore

    store = InferenceStore(str(tmp_path / "log"))
    icy = generate_scenario_frame(2_000, 4, Scenario(condition_shares={"ice": 0.3}))
    features = icy[list(FEATURE_COLUMNS)].to_numpy("float32")
    ids = [f"r{i}" for i in range(len(icy))]
    store.add(InferenceRows("m", "3", ids, features, features[:, 0] * 0, time.time()))
    store.flush()
    alarm = {"model": "m", "version": "3", "reason": "drift"}
    started = {"seed": 5, "data_rows": 1000, "log_fraction": 0.2, "alarm": alarm}

    run = run_arguments(started, str(tmp_path / "log"))

    assert run["seed"] == 5 and run["log_fraction"] == 0.2
    assert run["inference_log"] == str(tmp_path / "log")
    assert run["scenario"]["condition_shares"]["ice"] == pytest.approx(0.3, abs=0.04)
    Scenario(**run["scenario"])  # a valid pipeline `scenario` argument
    # A version nobody served, or no log at all: the default world.
    assert run_arguments({**started, "alarm": {**alarm, "version": "9"}}, "")["scenario"] == {}
